import Hummingbird
import ShoalInference

/// The routes of the server and what they share: the engine, the metrics, the drain state and the limits.
struct API: Sendable {
    let inference: Inference
    let metrics: ServerMetrics
    let state: ServerState
    let configuration: ServerConfiguration

    /// Every route behind the request-id, error and (when keys are set) authentication middleware.
    func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorMiddleware())
        if !configuration.apiKeys.isEmpty {
            router.add(middleware: AuthMiddleware(keys: configuration.apiKeys))
        }
        addKServeRoutes(to: router)
        addOpenAIRoutes(to: router)
        addPredictionRoutes(to: router)
        addOperationRoutes(to: router)
        return router
    }

    /// Runs `texts` through model `name` and counts the outcome; work is dropped if the client goes away first.
    func infer(_ name: String, texts: [String], context: ServerContext) async throws -> InferenceResult {
        let channel = context.channel
        do {
            let result = try await inference.infer(model: name, texts: texts) { !channel.isActive }
            metrics.countRequest(model: name, status: 200)
            return result
        } catch {
            let apiError = APIError(error)
            // Unknown names are counted together, so clients cannot grow the label set.
            metrics.countRequest(model: apiError.status == .notFound ? "unknown" : name, status: apiError.status.code)
            throw apiError
        }
    }

    /// The request body decoded as `T`, within the body limit.
    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        try await JSONResponse.decode(type, from: request, limit: configuration.maxBodyBytes)
    }

    /// The `model` path parameter.
    func modelName(_ context: ServerContext) throws -> String {
        guard let name = context.parameters.get("model") else { throw APIError(.badRequest, "the path names no model") }
        return name
    }
}
