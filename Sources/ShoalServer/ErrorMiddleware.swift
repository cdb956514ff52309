import Hummingbird
import Logging

/// Turns every error into the API's one error shape and logs it: internal errors as errors, the rest (the
/// client's doing, or already logged where they arose, like failed loads) at debug level. The answer to HEAD
/// keeps the status and headers but no body, as HTTP requires.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ServerContext

    func handle(_ request: Request, context: ServerContext, next: (Request, ServerContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError(error)
            let level: Logger.Level = apiError.status == .internalServerError ? .error : .debug
            context.logger.log(level: level, "request failed", metadata: [
                "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(apiError.status.code)",
                "error": "\(apiError.message)",
            ])
            let response = try apiError.response(from: request, context: context)
            return request.method == .head ? response.createHeadResponse() : response
        }
    }
}
