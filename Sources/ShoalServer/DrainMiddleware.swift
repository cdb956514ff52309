import Hummingbird

/// Once the server drains, answers every request with `Connection: close` (and `ConnectionCloseHandler` closes the
/// connection after the response), so that keep-alive clients send their next request on a new connection, which
/// a load balancer routes to a server that takes traffic, instead of into a socket about to close.
struct DrainMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    let state: ServerState

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if !state.isReady {
            response.headers[.connection] = "close"
        }
        return response
    }
}
