import Foundation

/// Reads the lines of a byte range of a file in large blocks, each with its number and the offset just past it.
final class LineReader {
    /// One line, without its newline.
    struct Line {
        var number: Int
        var bytes: ArraySlice<UInt8>
        /// The offset of the byte after the line's newline (or after its last byte at the end of the range).
        var end: Int64
    }

    private let handle: FileHandle
    private let path: String
    private let end: Int64
    private var offset: Int64
    private var buffer: [UInt8] = []
    /// Where the unread bytes of `buffer` start; `buffer[0]` is at file offset `bufferStart`.
    private var position = 0
    private var bufferStart: Int64
    private var number: Int
    private static let blockSize = 1 << 20

    /// A reader of `range` of `file` whose first line is number `firstLine`.
    init(file: URL, range: Range<Int64>, firstLine: Int) throws(BatchError) {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw .cannotRead(file.path, reason: "no such file or not readable")
        }
        self.handle = handle
        path = file.path
        end = range.upperBound
        offset = range.lowerBound
        bufferStart = range.lowerBound
        number = firstLine
        do {
            try handle.seek(toOffset: UInt64(range.lowerBound))
        } catch {
            throw .cannotRead(path, reason: "\(error)")
        }
    }

    deinit {
        try? handle.close()
    }

    /// The next line, nil at the end of the range.
    func next() throws(BatchError) -> Line? {
        while true {
            if let newline = buffer[position...].firstIndex(of: UInt8(ascii: "\n")) {
                return take(upTo: newline, skipping: 1)
            }
            let unread = end - (bufferStart + Int64(buffer.count))
            guard unread > 0 else {
                return position < buffer.count ? take(upTo: buffer.count, skipping: 0) : nil
            }
            let block: Data?
            do {
                block = try handle.read(upToCount: Int(min(Int64(Self.blockSize), unread)))
            } catch {
                throw .cannotRead(path, reason: "\(error)")
            }
            guard let block, !block.isEmpty else {
                throw .cannotRead(path, reason: "the file ended at \(bufferStart + Int64(buffer.count)) bytes; was it changed while read?")
            }
            bufferStart += Int64(position)
            buffer.removeFirst(position)
            position = 0
            buffer.append(contentsOf: block)
        }
    }

    private func take(upTo index: Int, skipping separator: Int) -> Line {
        let line = Line(number: number, bytes: buffer[position..<index], end: bufferStart + Int64(index + separator))
        position = index + separator
        number += 1
        return line
    }
}
