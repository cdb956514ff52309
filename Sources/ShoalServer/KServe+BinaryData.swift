import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import ShoalInference

/// The binary tensor data extension: a body is a JSON header followed by the tensors' raw bytes, the header's
/// length in `Inference-Header-Content-Length`, each binary tensor's byte count in its
/// `"parameters": {"binary_data_size": N}`. Data is little-endian and row-major; a BYTES element is a 4-byte
/// little-endian length followed by its bytes. Every size a client sends is checked against the bytes that are
/// there before anything is read.
extension KServe {
    /// The header that gives the length of the JSON header of a body with binary data, in requests and responses.
    static let headerLengthField = HTTPField.Name("Inference-Header-Content-Length")!

    /// The bytes of one element of each fixed-size datatype of the protocol.
    static let elementSizes: [String: Int] = [
        "BOOL": 1, "UINT8": 1, "INT8": 1, "UINT16": 2, "INT16": 2, "FP16": 2, "BF16": 2,
        "UINT32": 4, "INT32": 4, "FP32": 4, "UINT64": 8, "INT64": 8, "FP64": 8,
    ]

    /// An inference request body split into its JSON header and the binary data after it.
    struct InferBody {
        /// The JSON header: the whole body when the request has no `Inference-Header-Content-Length`.
        let json: Data
        /// The inputs' binary data, one after another in the order of the inputs that have some.
        let binary: [UInt8]

        /// Splits `body` after `headerLength` bytes, the value of `Inference-Header-Content-Length` if sent.
        init(_ body: ByteBuffer, headerLength: String?) throws {
            let bytes = body.readableBytesView
            guard let headerLength else {
                json = Data(bytes)
                binary = []
                return
            }
            guard let length = Int(headerLength), length >= 0 else {
                throw APIError(.badRequest, """
                    \(KServe.headerLengthField) must be the byte length of the JSON header, a non-negative integer, \
                    not "\(headerLength)"
                    """)
            }
            guard length <= bytes.count else {
                throw APIError(.badRequest, """
                    \(KServe.headerLengthField) is \(length), but the body holds only \(bytes.count) bytes; it counts \
                    the bytes of the JSON header, which the binary data follows
                    """)
            }
            json = Data(bytes.prefix(length))
            binary = Array(bytes.dropFirst(length))
        }
    }

    /// The texts of each input, from its JSON data or its share of `binary`; nil for an input of a fixed-size
    /// datatype, whose binary data is checked against its shape but not read. Refuses binary data that does not
    /// add up: a size past the end, bytes no input claims, BYTES elements that run past their input's end.
    static func texts(of inputs: [InputTensor], binary: [UInt8]) throws -> [[String]?] {
        var offset = 0
        var texts: [[String]?] = []
        for (index, input) in inputs.enumerated() {
            guard let size = input.binaryDataSize else {
                texts.append(input.data?.values)
                continue
            }
            let field = "\"inputs[\(index)]\""
            let remaining = binary.count - offset
            guard size <= remaining else {
                throw APIError(.badRequest, """
                    \(field) has binary_data_size \(size), but only \(remaining) bytes of binary data follow the JSON \
                    header\(offset > 0 ? " after those of the inputs before it" : "")
                    """)
            }
            texts.append(try elements(of: input, in: binary[offset ..< offset + size], field: field))
            offset += size
        }
        guard offset == binary.count else {
            throw APIError(.badRequest, """
                the body holds \(binary.count) bytes of binary data after the JSON header, but the inputs' \
                binary_data_size add up to \(offset)
                """)
        }
        return texts
    }

    /// The strings of a BYTES input's binary data, or nil for a fixed-size datatype whose byte count matches its
    /// shape.
    private static func elements(of input: InputTensor, in data: ArraySlice<UInt8>, field: String) throws -> [String]? {
        guard input.datatype != "BYTES" else { return try strings(in: data, field: field) }
        guard let width = elementSizes[input.datatype] else {
            throw APIError(.badRequest, """
                \(field) has datatype \(input.datatype), which binary data cannot carry; the datatypes are BYTES and \
                \(elementSizes.keys.sorted().joined(separator: ", "))
                """)
        }
        let count = input.elementCount
        let bytes = count.map { $0.multipliedReportingOverflow(by: width) }
        guard let bytes, !bytes.overflow, bytes.partialValue == data.count else {
            let elements = count.map(String.init) ?? "more than \(Int.max)"
            let needed = bytes.flatMap { $0.overflow ? nil : String($0.partialValue) } ?? "more than \(Int.max)"
            throw APIError(.badRequest, """
                \(field) has shape \(input.shape): \(elements) elements of \(input.datatype) take \(needed) bytes, \
                but its binary_data_size is \(data.count)
                """)
        }
        return nil
    }

    /// The elements of BYTES binary data: each a 4-byte little-endian length followed by that many bytes of UTF-8.
    private static func strings(in data: ArraySlice<UInt8>, field: String) throws -> [String] {
        var strings: [String] = []
        var position = data.startIndex
        while position < data.endIndex {
            guard data.endIndex - position >= 4 else {
                throw APIError(.badRequest, """
                    \(field): BYTES element \(strings.count) of its binary data has \(data.endIndex - position) bytes \
                    left of its binary_data_size \(data.count) where a 4-byte length belongs
                    """)
            }
            let length = (0 ..< 4).reduce(0) { $0 | Int(data[position + $1]) << (8 * $1) }
            position += 4
            guard length <= data.endIndex - position else {
                throw APIError(.badRequest, """
                    \(field): BYTES element \(strings.count) of its binary data has length \(length), past the end of \
                    its binary_data_size \(data.count) (\(data.endIndex - position) bytes are left)
                    """)
            }
            guard let text = String(validating: data[position ..< position + length], as: UTF8.self) else {
                throw APIError(.badRequest, "\(field): BYTES element \(strings.count) of its binary data is not valid UTF-8 text")
            }
            strings.append(text)
            position += length
        }
        return strings
    }
}

extension KServe.InferResponse {
    /// The HTTP response: JSON alone, or, when an output is binary, the JSON header followed by the binary outputs'
    /// data in their order, as `application/octet-stream` with `Inference-Header-Content-Length`.
    func response() -> Response {
        guard outputs.contains(where: \.binary) else { return JSONResponse.make(self) }
        var writer = JSONWriter(capacity: estimatedSize)
        write(to: &writer)
        var body = ByteBuffer()
        body.reserveCapacity(writer.bytes.count + outputs.reduce(0) { $0 + ($1.binary ? $1.data.binarySize : 0) })
        body.writeBytes(writer.bytes)
        for output in outputs where output.binary {
            output.data.write(to: &body)
        }
        return Response(
            status: .ok,
            headers: [.contentType: "application/octet-stream", KServe.headerLengthField: String(writer.bytes.count)],
            body: .init(byteBuffer: body))
    }
}

extension KServe.OutputData {
    /// The bytes of this data as binary tensor data.
    var binarySize: Int {
        switch self {
        case .floats(let values): values.count * MemoryLayout<Float>.size
        case .strings(let values): values.reduce(0) { $0 + 4 + $1.utf8.count }
        }
    }

    /// Appends this data as binary tensor data: little-endian floats, or length-prefixed strings.
    func write(to buffer: inout ByteBuffer) {
        switch self {
        case .floats(let values):
            for value in values {
                buffer.writeInteger(value.bitPattern, endianness: .little)
            }
        case .strings(let values):
            for value in values {
                buffer.writeInteger(UInt32(value.utf8.count), endianness: .little)
                buffer.writeString(value)
            }
        }
    }
}
