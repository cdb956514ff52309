import Foundation

/// The validated table of contents of a safetensors file: every tensor's dtype, shape and byte range.
struct SafeTensorsHeader: Sendable {
    /// Element types the safetensors format defines with a whole number of bytes per element.
    enum DType: String, Sendable {
        case bool = "BOOL"
        case u8 = "U8", i8 = "I8", f8e4m3 = "F8_E4M3", f8e5m2 = "F8_E5M2", f8e8m0 = "F8_E8M0"
        case u16 = "U16", i16 = "I16", f16 = "F16", bf16 = "BF16"
        case u32 = "U32", i32 = "I32", f32 = "F32"
        case u64 = "U64", i64 = "I64", f64 = "F64", c64 = "C64"

        /// Bytes per element.
        var size: Int {
            switch self {
            case .bool, .u8, .i8, .f8e4m3, .f8e5m2, .f8e8m0: return 1
            case .u16, .i16, .f16, .bf16: return 2
            case .u32, .i32, .f32: return 4
            case .u64, .i64, .f64, .c64: return 8
            }
        }
    }

    /// One tensor's description; `range` is relative to the start of the data section.
    struct Entry: Sendable {
        let dtype: DType
        let shape: [Int]
        let range: Range<Int>
    }

    /// Headers larger than this are rejected: real ones are a few hundred kilobytes at most.
    static let maximumHeaderLength = 100_000_000

    /// Tensors by name (`__metadata__` excluded).
    let entries: [String: Entry]
    /// Offset of the data section from the start of the file.
    let dataStart: Int

    /// Parses and validates the header of `file`, throwing `ModelError.corruptSafeTensors` on any inconsistency.
    init(parsing file: UnsafeRawBufferPointer, path: String) throws {
        func corrupt(_ reason: String) -> ModelError {
            .corruptSafeTensors(path: path, reason: reason)
        }
        guard file.count >= 8 else {
            throw corrupt("truncated file: \(file.count) bytes, shorter than the 8-byte header length")
        }
        let declared = UInt64(littleEndian: file.loadUnaligned(as: UInt64.self))
        guard declared <= UInt64(Self.maximumHeaderLength) else {
            throw corrupt("absurd header length \(declared) bytes (more than \(Self.maximumHeaderLength))")
        }
        let headerLength = Int(declared)
        guard headerLength <= file.count - 8 else {
            throw corrupt("truncated file: header length \(headerLength) exceeds the \(file.count - 8) bytes after it")
        }
        dataStart = 8 + headerLength
        let dataLength = file.count - dataStart

        let json = Data(UnsafeRawBufferPointer(rebasing: file[8..<dataStart]))
        let root: Value
        do {
            root = try JSONDecoder().decode(Value.self, from: json)
        } catch {
            throw corrupt("header is not valid JSON")
        }
        guard case .object(let members) = root else {
            throw corrupt("header is not a JSON object")
        }

        var entries: [String: Entry] = [:]
        for (name, value) in members {
            if name == "__metadata__" {
                guard case .object = value else { throw corrupt("__metadata__ is not a JSON object") }
                continue
            }
            let entry = try Self.entry(name, value, corrupt: corrupt)
            guard entry.range.upperBound <= dataLength else {
                throw corrupt("tensor \(name): data_offsets \(entry.range.lowerBound)..<\(entry.range.upperBound) out of range of the \(dataLength)-byte data section")
            }
            entries[name] = entry
        }
        try Self.checkNoOverlap(entries, corrupt: corrupt)
        self.entries = entries
    }

    private static func entry(_ name: String, _ value: Value, corrupt: (String) -> ModelError) throws -> Entry {
        guard case .object(let fields) = value else {
            throw corrupt("tensor \(name): entry is not a JSON object")
        }
        guard case .string(let dtypeName)? = fields["dtype"] else {
            throw corrupt("tensor \(name): missing or non-string dtype")
        }
        guard let dtype = DType(rawValue: dtypeName) else {
            throw corrupt("tensor \(name): unknown dtype \"\(dtypeName)\"")
        }
        guard case .array(let dimensions)? = fields["shape"] else {
            throw corrupt("tensor \(name): missing or non-array shape")
        }
        let shape = dimensions.compactMap(\.nonNegativeInteger)
        guard shape.count == dimensions.count else {
            throw corrupt("tensor \(name): shape must be non-negative integers")
        }
        guard case .array(let offsets)? = fields["data_offsets"] else {
            throw corrupt("tensor \(name): missing or non-array data_offsets")
        }
        guard offsets.count == 2, let begin = offsets[0].nonNegativeInteger,
              let end = offsets[1].nonNegativeInteger, begin <= end
        else {
            throw corrupt("tensor \(name): data_offsets must be two ascending non-negative integers")
        }
        guard let expected = FloatTensor.elementCount(shape + [dtype.size]) else {
            throw corrupt("tensor \(name): shape \(shape) is too large")
        }
        guard expected == end - begin else {
            throw corrupt("tensor \(name): size mismatch, shape \(shape) of \(dtypeName) needs \(expected) bytes but data_offsets span \(end - begin)")
        }
        return Entry(dtype: dtype, shape: shape, range: begin..<end)
    }

    private static func checkNoOverlap(_ entries: [String: Entry], corrupt: (String) -> ModelError) throws {
        let ordered = entries.sorted {
            ($0.value.range.lowerBound, $0.value.range.upperBound, $0.key)
                < ($1.value.range.lowerBound, $1.value.range.upperBound, $1.key)
        }
        for (previous, next) in zip(ordered, ordered.dropFirst())
        where next.value.range.lowerBound < previous.value.range.upperBound {
            throw corrupt("tensors \(previous.key) and \(next.key) overlap")
        }
    }
}

extension SafeTensorsHeader {
    /// A parsed JSON value; decoding through `JSONDecoder` keeps booleans, integers and fractions apart.
    enum Value: Decodable, Equatable, Sendable {
        case null
        case bool(Bool)
        case integer(Int)
        case number(Double)
        case string(String)
        case array([Value])
        case object([String: Value])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() {
                self = .null
            } else if let value = try? container.decode(Bool.self) {
                self = .bool(value)
            } else if let value = try? container.decode(Int.self) {
                self = .integer(value)
            } else if let value = try? container.decode(Double.self) {
                self = .number(value)
            } else if let value = try? container.decode(String.self) {
                self = .string(value)
            } else if let value = try? container.decode([Value].self) {
                self = .array(value)
            } else {
                self = .object(try container.decode([String: Value].self))
            }
        }

        /// The value as an `Int` when it is a JSON integer ≥ 0.
        var nonNegativeInteger: Int? {
            guard case .integer(let value) = self, value >= 0 else { return nil }
            return value
        }
    }
}
