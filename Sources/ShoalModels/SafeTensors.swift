import Foundation

/// A memory-mapped safetensors file whose header has been fully validated; immutable after init.
///
/// F32 tensors are handed out without copying (unless misaligned in the file); F16 and BF16 tensors are
/// converted into newly allocated float32 buffers. The mapping lives as long as this object or any
/// `FloatTensor` borrowed from it.
public final class SafeTensors: Sendable {
    private let file: MappedFile
    private let header: SafeTensorsHeader

    /// Names of all tensors in the file, sorted.
    public let tensorNames: [String]

    /// Maps and validates the file at `url`, throwing `ModelError` (`.corruptSafeTensors` for any malformed content).
    public init(contentsOf url: URL) throws {
        file = try MappedFile(path: url.path)
        header = try SafeTensorsHeader(parsing: file.bytes, path: file.path)
        tensorNames = header.entries.keys.sorted()
    }

    /// The shape of tensor `name`, or nil when the file has no such tensor.
    public func shape(of name: String) -> [Int]? {
        header.entries[name]?.shape
    }

    /// The safetensors dtype string (such as "F32") of tensor `name`, or nil when the file has no such tensor.
    public func dtype(of name: String) -> String? {
        header.entries[name]?.dtype.rawValue
    }

    /// Float32 view of a tensor, validated against an expected shape (throws .missingTensor / .shapeMismatch / .unsupportedDType).
    public func floats(_ name: String, shape expected: [Int]) throws -> FloatTensor {
        guard let entry = header.entries[name] else {
            throw ModelError.missingTensor(name: name)
        }
        guard entry.shape == expected else {
            throw ModelError.shapeMismatch(name: name, expected: expected, actual: entry.shape)
        }
        let start = header.dataStart + entry.range.lowerBound
        let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[start..<(header.dataStart + entry.range.upperBound)])
        let count = entry.range.count / entry.dtype.size
        switch entry.dtype {
        case .f32:
            return FloatTensor(shape: expected, storage: float32(bytes, count: count))
        case .f16:
            return FloatTensor(shape: expected, storage: Self.copy(bytes, count: count) {
                Self.float16ToFloat(UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self)))
            })
        case .bf16:
            return FloatTensor(shape: expected, storage: Self.copy(bytes, count: count) {
                let bits = UInt16(littleEndian: $0.loadUnaligned(fromByteOffset: 2 * $1, as: UInt16.self))
                return Float(bitPattern: UInt32(bits) << 16)
            })
        default:
            throw ModelError.unsupportedDType(name: name, dtype: entry.dtype.rawValue)
        }
    }

    private func float32(_ bytes: UnsafeRawBufferPointer, count: Int) -> FloatTensor.Storage {
        #if _endian(little)
        if let base = bytes.baseAddress, Int(bitPattern: base) % MemoryLayout<Float>.alignment == 0 {
            return FloatTensor.Storage(borrowing: base.assumingMemoryBound(to: Float.self), count: count, from: file)
        }
        #endif
        // The header length is arbitrary, so F32 data can start at any byte: copy rather than misalign.
        return Self.copy(bytes, count: count) {
            Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 4 * $1, as: UInt32.self)))
        }
    }

    /// A new buffer of `count` floats, element `i` being `element(bytes, i)`.
    private static func copy(
        _ bytes: UnsafeRawBufferPointer, count: Int, _ element: (UnsafeRawBufferPointer, Int) -> Float
    ) -> FloatTensor.Storage {
        FloatTensor.Storage(count: count) { buffer in
            for index in 0..<count {
                buffer.initializeElement(at: index, to: element(bytes, index))
            }
        }
    }

    /// IEEE 754 binary16 to binary32, exact for every input including subnormals, infinities and NaNs.
    static func float16ToFloat(_ bits: UInt16) -> Float {
        let sign: Float = bits & 0x8000 == 0 ? 1 : -1
        let exponent = UInt32(bits >> 10) & 0x1F
        let mantissa = UInt32(bits) & 0x3FF
        switch exponent {
        case 0:
            return sign * Float(mantissa) * 0x1p-24
        case 0x1F:
            return Float(bitPattern: UInt32(bits & 0x8000) << 16 | 0x7F80_0000 | mantissa << 13)
        default:
            return Float(bitPattern: UInt32(bits & 0x8000) << 16 | (exponent + 112) << 23 | mantissa << 13)
        }
    }
}
