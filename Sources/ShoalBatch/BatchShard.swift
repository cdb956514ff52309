import Foundation

/// One of `count` contiguous parts of the input: the lines whose first byte lies in the part's share of the
/// bytes, so that the parts' outputs, concatenated in index order, are the whole input's output.
public struct BatchShard: Sendable, Hashable, CustomStringConvertible {
    /// The part, from 0.
    public var index: Int
    /// How many parts the input is split into.
    public var count: Int

    /// The whole input as one part.
    public static let whole = BatchShard(unchecked: 0, count: 1)

    /// Part `index` of `count`; refuses an index outside `0..<count`.
    public init(index: Int, count: Int) throws(BatchError) {
        guard (1...100_000).contains(count) else { throw .invalidSetting("--shard", reason: "the count must be within 1...100000") }
        guard (0..<count).contains(index) else {
            throw .invalidSetting("--shard", reason: "index \(index) is not within 0..<\(count)")
        }
        self.index = index
        self.count = count
    }

    private init(unchecked index: Int, count: Int) {
        self.index = index
        self.count = count
    }

    /// `I/N`, as `--shard` takes it.
    public init(parsing text: String) throws(BatchError) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let count = Int(parts[1]) else {
            throw .invalidSetting("--shard", reason: "\(text) is not INDEX/COUNT, e.g. 0/4")
        }
        try self.init(index: index, count: count)
    }

    public var description: String { "\(index)/\(count)" }

    /// Whether this is the whole input.
    public var isWhole: Bool { count == 1 }

    /// The name of this part's files: `00002-of-00008`.
    public var name: String { String(format: "%05d-of-%05d", index, count) }

    /// The bytes of `file` (of `size` bytes) that this part reads, from the start of a line to the start of a line,
    /// and the number of the first line.
    func range(in file: URL, size: Int64) throws(BatchError) -> (range: Range<Int64>, firstLine: Int) {
        let start = try Self.lineStart(atOrAfter: size * Int64(index) / Int64(count), in: file, size: size)
        let end = try Self.lineStart(atOrAfter: size * Int64(index + 1) / Int64(count), in: file, size: size)
        return (start..<max(start, end), try Self.newlines(before: start, in: file) + 1)
    }

    /// The offset of the first line that starts at `offset` or after it.
    private static func lineStart(atOrAfter offset: Int64, in file: URL, size: Int64) throws(BatchError) -> Int64 {
        guard offset > 0, offset < size else { return min(max(offset, 0), size) }
        let reader = try LineReader(file: file, range: (offset - 1)..<size, firstLine: 0)
        // The line holding byte offset - 1 ends at or after offset; the next one starts where it ends.
        guard let first = try reader.next() else { return size }
        return first.end
    }

    private static func newlines(before offset: Int64, in file: URL) throws(BatchError) -> Int {
        let reader = try LineReader(file: file, range: 0..<offset, firstLine: 1)
        var count = 0
        while try reader.next() != nil { count += 1 }
        return count
    }
}
