import Foundation
import Hummingbird
import NIOCore
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
            self.init(.badRequest, "malformed JSON body: \(Self.describe(error))")
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

    private struct ErrorBody: Encodable {
        let error: String
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            let keys = context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
            return keys.isEmpty ? "" : " at \(keys.joined(separator: "."))"
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing field \"\(key.stringValue)\"\(path(context))"
        case .typeMismatch(let type, let context): return "expected \(type)\(path(context))"
        case .valueNotFound(let type, let context): return "expected \(type)\(path(context))"
        case .dataCorrupted(let context): return "\(context.debugDescription)\(path(context))"
        @unknown default: return "\(error)"
        }
    }
}
