import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// Gives every request an id (its `X-Request-ID` when usable, else a new one), puts it on the request's logger
/// and echoes it in the response.
struct RequestIDMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    private static let prefix = String(UInt32.random(in: 0...UInt32.max), radix: 36)
    private static let counter = Atomic<Int>(0)

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        var context = context
        let id = request.headers[.requestID].flatMap(Self.usable) ?? Self.generate()
        context.requestID = id
        context.logger[metadataKey: "request_id"] = .string(id)
        var response = try await next(request, context)
        response.headers[.requestID] = id
        return response
    }

    private static func usable(_ id: String) -> String? {
        guard (1...128).contains(id.utf8.count),
              id.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F })
        else { return nil }
        return id
    }

    private static func generate() -> String {
        "\(prefix)-\(counter.wrappingAdd(1, ordering: .relaxed).newValue)"
    }
}

extension HTTPField.Name {
    /// `X-Request-ID`; a valid field name, so the initializer cannot fail.
    static let requestID = HTTPField.Name("X-Request-ID")!
}
