import Foundation
import Hummingbird
import NIOCore

/// Reads the JSON bodies of requests, with errors that say what is wrong and where.
enum JSONRequest {
    /// The request body decoded as `T`, read up to `limit` bytes; an empty body is refused.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        guard let value = try await decodeIfPresent(type, from: request, limit: limit) else {
            throw APIError(.badRequest, "the request needs a JSON body")
        }
        return value
    }

    /// The request body decoded as `T`, read up to `limit` bytes, or nil when the body is empty.
    static func decodeIfPresent<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T? {
        let body = try await request.body.collect(upTo: limit)
        guard body.readableBytes > 0 else { return nil }
        return try decode(type, from: Data(body.readableBytesView))
    }

    /// `data` decoded as `T`; `APIError` describes the other decoding errors.
    static func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: data)
        } catch DecodingError.dataCorrupted(let context) {
            throw explain(context, in: data)
        }
    }

    /// Foundation's decoder reports bytes that are not UTF-8, bad syntax and numbers that fit no field alike, as
    /// "not valid JSON" and often without the field: the body itself tells which it was.
    private static func explain(_ context: DecodingError.Context, in data: Data) -> APIError {
        let subject = FieldName.of(context.codingPath)
        if let offset = invalidUTF8Offset(data) {
            let byte = String(data[data.startIndex + offset], radix: 16, uppercase: true)
            return APIError(.badRequest, "\(subject) is not valid UTF-8 text: byte \(offset) of the body is 0x\(byte)")
        }
        if let index = data.firstIndex(of: 0) {
            return APIError(.badRequest, """
                \(subject) contains a NUL byte (byte \(index - data.startIndex) of the body); JSON strings must escape \
                control characters, e.g. as \\u0000
                """)
        }
        if let syntaxError = syntaxError(data) {
            return APIError(.badRequest, "the request body is not valid JSON: \(syntaxError)")
        }
        guard context.codingPath.isEmpty else {
            return APIError(.badRequest, "\(subject): \(context.debugDescription)")
        }
        return APIError(.badRequest, """
            a value of the request body does not fit its field: a number with a fraction, or beyond 64 bits, where \
            an integer belongs, or a string with an invalid escape sequence
            """)
    }

    /// The offset of the first byte of `data` that does not belong to valid UTF-8, if any.
    private static func invalidUTF8Offset(_ data: Data) -> Int? {
        var parser = Unicode.UTF8.ForwardParser()
        var bytes = data.makeIterator()
        var offset = 0
        while true {
            switch parser.parseScalar(from: &bytes) {
            case .valid(let scalar): offset += scalar.count
            case .error: return offset
            case .emptyInput: return nil
            }
        }
    }

    /// What the JSON parser finds wrong with the syntax of `data`, e.g. "Invalid value around character 9.", or
    /// nil when the syntax is valid.
    private static func syntaxError(_ data: Data) -> String? {
        do {
            _ = try JSONSerialization.jsonObject(with: data, options: .fragmentsAllowed)
            return nil
        } catch {
            return (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String ?? "\(error)"
        }
    }
}
