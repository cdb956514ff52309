import Foundation
import Hummingbird
import NIOCore
import ShoalInference

/// Writes the JSON bodies of the API's responses.
enum JSONResponse {
    /// A response whose body is `value` as JSON.
    static func make(_ value: some Encodable, status: HTTPResponse.Status = .ok, headers: HTTPFields = [:]) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else {
            return Response(status: .internalServerError, body: .init(byteBuffer: ByteBuffer(string: #"{"error":"cannot encode the response"}"#)))
        }
        var fields = headers
        fields[.contentType] = "application/json"
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// A response whose body `value` writes.
    static func make(_ value: some JSONWritable) -> Response {
        var writer = JSONWriter(capacity: value.estimatedSize)
        value.write(to: &writer)
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: writer.bytes)))
    }
}

/// A response body written with `JSONWriter`.
protocol JSONWritable {
    /// Bytes the body is likely to take, to size the buffer once.
    var estimatedSize: Int { get }
    func write(to writer: inout JSONWriter)
}
