/// One of `count` equal parts of the texts to embed, numbered from 0: what one pod of the embedding Job does.
public struct Shard: Sendable, Equatable, CustomStringConvertible {
    public var index: Int
    public var count: Int

    /// All texts in one part.
    public static let whole = Shard(index: 0, count: 1)

    public init(index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// Parses `I/N`, `0 ≤ I < N`.
    public init(parsing text: String) throws(TrainingError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]), count >= 1, (0..<count).contains(index) else {
            throw .invalidSetting(setting: "--shard", reason: "'\(text)' is not I/N with 0 ≤ I < N, such as 0/4")
        }
        self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// This part's slice of `items`: contiguous, the parts' sizes differing by at most one.
    public func slice<T>(_ items: [T]) -> ArraySlice<T> {
        let lower = items.count * index / count, upper = items.count * (index + 1) / count
        return items[lower..<upper]
    }
}
