import Hummingbird

/// Lets a request through only with `Authorization: Bearer KEY` for one of the keys; the health routes are open
/// so that probes need no secret.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    private let keys: [[UInt8]]

    init(keys: [String]) {
        self.keys = keys.map { Array($0.utf8) }
    }

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard request.uri.path.hasPrefix("/v2/health/") || isAuthorized(request) else {
            throw APIError(.unauthorized, "missing or wrong API key; send Authorization: Bearer KEY",
                           headers: [.wwwAuthenticate: "Bearer"])
        }
        return try await next(request, context)
    }

    private func isAuthorized(_ request: Request) -> Bool {
        guard let header = request.headers[.authorization], header.hasPrefix("Bearer ") else { return false }
        let presented = Array(header.utf8.dropFirst(7))
        // Compare against every key in time independent of where they differ.
        return keys.reduce(false) { found, key in Self.constantTimeEqual(key, presented) || found }
    }

    private static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        return zip(a, b).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
