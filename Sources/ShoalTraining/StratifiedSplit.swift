import ShoalTensor
/// Row indices split into training and validation rows, each label in the same proportion in both.
public struct StratifiedSplit: Sendable, Equatable {
    public var train: [Int]
    public var validation: [Int]

    /// Holds out `fraction` of each label's rows (rounded, at least one when the label has two or more rows,
    /// never all of them), chosen by `seed`; both lists come back in row order.
    public init(labels: [Int], fraction: Double, seed: UInt64) {
        var generator = SplitMix64(seed: seed)
        var byLabel: [Int: [Int]] = [:]
        for (row, label) in labels.enumerated() { byLabel[label, default: []].append(row) }
        var held: [Int] = []
        for label in byLabel.keys.sorted() {
            var rows = byLabel[label]!
            guard rows.count >= 2 else { continue }
            rows.shuffle(using: &generator)
            let count = min(rows.count - 1, max(1, Int((Double(rows.count) * fraction).rounded())))
            held += rows.prefix(count)
        }
        let heldSet = Set(held)
        validation = held.sorted()
        train = labels.indices.filter { !heldSet.contains($0) }
    }
}
