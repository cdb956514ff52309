import Hummingbird

/// Refuses a path with an empty segment (`/v2/models//infer`): the router would collapse it and answer for a
/// different path (here the metadata of a model called `infer`), hiding the client's missing name.
struct EmptySegmentMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        guard !request.uri.path.contains("//") else {
            throw APIError(.badRequest, "the path \(request.uri.path) has an empty segment: is a model name missing?")
        }
        return try await next(request, context)
    }
}
