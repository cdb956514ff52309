import Foundation
import Hummingbird
import NIOCore
import NIOHTTPTypes
import ShoalInference

/// Every error a client sees: a status, headers and the body `{"error": "..."}`. `init(_:)` is the one place
/// where errors of every kind get their HTTP form.
public struct APIError: Error, HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: HTTPResponse.Status
    public let headers: HTTPFields
    /// What went wrong and what to do, for the client.
    public let message: String

    public init(_ status: HTTPResponse.Status, _ message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.message = message
        self.headers = headers
    }

    /// The HTTP form of any error.
    ///
    /// | error | status |
    /// |---|---|
    /// | malformed request (JSON, fields, parameters) | 400 |
    /// | missing or wrong API key | 401 |
    /// | unknown model or route | 404 |
    /// | method the route does not serve | 405 with `Allow` |
    /// | body, input count or text over a limit | 413 |
    /// | well-formed input that cannot be processed | 422 |
    /// | queue full | 429 with `Retry-After` |
    /// | model failed to load, request timed out, server draining | 503 |
    /// | model cannot fit the memory budget | 507 |
    /// | anything else | 500 |
    public init(_ error: any Error) {
        switch error {
        case let error as APIError:
            self = error
        case let error as InferenceError:
            self.init(inference: error)
        case let error as HTTPError:
            self.init(error.status, error.body ?? error.status.reasonPhrase, headers: error.headers)
        case is NIOTooManyBytesError:
            self.init(.contentTooLarge, "the request body is larger than the server's limit (--max-body-size)")
        case let error as DecodingError:
            self.init(.badRequest, Self.describe(error))
        case is CancellationError:
            self.init(.serviceUnavailable, "the request was cancelled")
        default:
            self.init(.internalServerError, "internal error: \(error)")
        }
    }

    private init(inference error: InferenceError) {
        let message = error.description
        switch error {
        case .unknownModel: self.init(.notFound, message)
        case .invalidInput: self.init(.unprocessableContent, message)
        case .inputTooLarge: self.init(.contentTooLarge, message)
        case .overloaded(_, let seconds): self.init(.tooManyRequests, message, headers: [.retryAfter: "\(seconds)"])
        case .modelUnavailable, .timedOut, .shuttingDown, .cancelled: self.init(.serviceUnavailable, message)
        case .cannotFit: self.init(.init(code: 507, reasonPhrase: "Insufficient Storage"), message)
        case .internalFailure: self.init(.internalServerError, message)
        }
    }

    public var description: String { "\(status.code) \(message)" }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONResponse.make(ErrorBody(error: message), status: status)
        response.headers.append(contentsOf: headers)
        return response
    }

    /// Writes this error as a whole response saying `Connection: close`, then closes the connection: the answer
    /// of a channel handler that refuses a connection before any request reaches the router.
    func writeAndClose(on context: ChannelHandlerContext) {
        let body = (try? JSONEncoder().encode(ErrorBody(error: message))) ?? Data()
        var head = HTTPResponse(status: status, headerFields: headers)
        head.headerFields[.contentType] = "application/json"
        head.headerFields[.contentLength] = String(body.count)
        head.headerFields[.connection] = "close"
        context.write(NIOAny(HTTPResponsePart.head(head)), promise: nil)
        context.write(NIOAny(HTTPResponsePart.body(context.channel.allocator.buffer(bytes: body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(NIOAny(HTTPResponsePart.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    private struct ErrorBody: Encodable {
        let error: String
    }

    /// What is wrong with the request body, naming the field and what it must be.
    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound(let key, let context):
            "missing field \(FieldName.of(context.codingPath + [key]))"
        case .typeMismatch(let type, let context):
            "\(FieldName.of(context.codingPath)) must be \(kind(type))"
        case .valueNotFound(let type, let context):
            "\(FieldName.of(context.codingPath)) must be \(kind(type)), not null"
        case .dataCorrupted(let context):
            "\(FieldName.of(context.codingPath)) cannot be read: \(context.debugDescription)"
        @unknown default:
            "the request body cannot be read: \(error)"
        }
    }

    /// The JSON type of values of `type`, as a client would name it.
    private static func kind(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Bool.Type: "true or false"
        case is any BinaryInteger.Type: "an integer"
        case is any BinaryFloatingPoint.Type: "a number"
        case is [String: Any].Type: "an object"
        case is [Any].Type: "an array"
        default: "a value of type \(type)"
        }
    }
}
