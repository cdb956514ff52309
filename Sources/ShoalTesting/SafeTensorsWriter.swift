import Foundation
import ShoalModels

/// Writes safetensors files laid out as the Python `safetensors` package lays them out, for tests and tiny models.
public enum SafeTensorsWriter {
    /// One tensor to write: row-major float32 values that the file stores in the requested dtype.
    public typealias Tensor = (name: String, shape: [Int], values: [Float])

    /// Writes `tensors`, in order, to `url` stored as `dtype` ("F32", "F16" or "BF16", rounding to nearest even).
    public static func write(_ tensors: [Tensor], to url: URL, dtype: String = "F32") throws {
        try encode(tensors, dtype: dtype).write(to: url, options: .atomic)
    }

    /// The bytes of a safetensors file holding `tensors`, in order, stored as `dtype`; throws `ModelError.invalidInput`.
    public static func encode(_ tensors: [Tensor], dtype: String = "F32", metadata: [String: String] = ["format": "pt"]) throws -> Data {
        guard let encodeElement = encoders[dtype] else {
            throw ModelError.invalidInput("cannot write dtype \(dtype); use F32, F16 or BF16")
        }
        var entries: [(String, OrderedJSON)] = []
        if !metadata.isEmpty {
            let fields = metadata.sorted { $0.key < $1.key }.map { ($0.key, OrderedJSON.string($0.value)) }
            entries.append(("__metadata__", .object(fields)))
        }
        var body: [UInt8] = []
        var names: Set<String> = []
        for tensor in tensors {
            guard names.insert(tensor.name).inserted else {
                throw ModelError.invalidInput("tensor \(tensor.name) appears twice")
            }
            guard elementCount(tensor.shape) == tensor.values.count else {
                throw ModelError.invalidInput("tensor \(tensor.name): \(tensor.values.count) values do not fill shape \(tensor.shape)")
            }
            let begin = body.count
            for value in tensor.values { encodeElement(value, &body) }
            entries.append((tensor.name, .object([
                ("dtype", .string(dtype)),
                ("shape", .array(tensor.shape.map { .int($0) })),
                ("data_offsets", .array([.int(begin), .int(body.count)])),
            ])))
        }
        var header = OrderedJSON.object(entries).text(pretty: false)
        // Padding the header with spaces to a multiple of 8 keeps the data section aligned, as safetensors does.
        header += String(repeating: " ", count: (8 - header.utf8.count % 8) % 8)
        return rawFile(header: header, data: body)
    }

    /// A file made of an arbitrary header text and data section, for tests of malformed files.
    public static func rawFile(header: String, data: [UInt8]) -> Data {
        rawFile(headerLength: UInt64(header.utf8.count), header: Array(header.utf8), data: data)
    }

    /// A file whose 8-byte length prefix is `headerLength` whatever the header bytes that follow.
    public static func rawFile(headerLength: UInt64, header: [UInt8], data: [UInt8]) -> Data {
        var file = Data()
        withUnsafeBytes(of: headerLength.littleEndian) { file.append(contentsOf: $0) }
        file.append(contentsOf: header)
        file.append(contentsOf: data)
        return file
    }

    /// The number of elements of `shape`, or nil when a dimension is negative or the product overflows.
    private static func elementCount(_ shape: [Int]) -> Int? {
        shape.reduce(Optional(1)) { count, dimension in
            guard let count, dimension >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
            return overflow ? nil : product
        }
    }

    private static let encoders: [String: @Sendable (Float, inout [UInt8]) -> Void] = [
        "F32": { append($0.bitPattern, to: &$1) },
        "F16": { append(float16Bits($0), to: &$1) },
        "BF16": { append(bfloat16Bits($0), to: &$1) },
    ]

    private static func append<Bits: FixedWidthInteger>(_ bits: Bits, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: bits.littleEndian) { bytes.append(contentsOf: $0) }
    }

    /// Float32 to bfloat16 bits, rounding to nearest even; NaNs stay (quiet) NaNs.
    static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        guard !value.isNaN else { return UInt16(bits >> 16) | 0x0040 }
        return UInt16((bits &+ 0x7FFF &+ ((bits >> 16) & 1)) >> 16)
    }

    /// Float32 to IEEE binary16 bits, rounding to nearest even, overflowing to infinity and underflowing through subnormals.
    static func float16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16((bits >> 16) & 0x8000)
        let exponent = Int((bits >> 23) & 0xFF)
        let mantissa = bits & 0x7F_FFFF
        if exponent == 0xFF {
            return sign | 0x7C00 | (mantissa == 0 ? 0 : 0x0200)
        }
        let halfExponent = exponent - 127 + 15
        if halfExponent >= 0x1F {
            return sign | 0x7C00
        }
        // Keep the implicit leading one (absent for float32 subnormals, which all round to zero anyway).
        let significand = exponent == 0 ? mantissa : mantissa | 0x80_0000
        let shift = halfExponent > 0 ? 13 : 14 - halfExponent
        guard shift < 32 else { return sign }
        var half = significand >> UInt32(shift)
        let remainder = significand & ((1 << UInt32(shift)) - 1)
        let halfway: UInt32 = 1 << UInt32(shift - 1)
        if remainder > halfway || (remainder == halfway && half & 1 == 1) {
            half += 1
        }
        // `half` carries the implicit one at bit 10 for normal results, hence `halfExponent - 1`; a rounding
        // carry then moves into the exponent field, up to infinity, as it should.
        let exponentField = halfExponent > 0 ? UInt32(halfExponent - 1) << 10 : 0
        return sign | UInt16(exponentField + half)
    }
}
