import Hummingbird
import ShoalInference

/// The routes of the server and what they share: the engine, the metrics, the drain state and the limits.
struct API: Sendable {
    let inference: Inference
    let metrics: ServerMetrics
    let state: ServerState
    let configuration: ServerConfiguration
    /// Runs asynchronous requests, when the server takes them.
    let asynchronous: AsyncWorker?

    /// Every route behind the drain, request-id, error, empty-segment, (when keys are set) authentication and (with a
    /// queue) asynchronous middleware; HEAD is served wherever GET is, and a method a path does not serve gets 405.
    func router() -> Router<ServerContext> {
        let router = Router(context: ServerContext.self, options: .autoGenerateHeadEndpoints)
        router.add(middleware: DrainMiddleware(state: state))
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: ErrorMiddleware())
        router.add(middleware: EmptySegmentMiddleware())
        if !configuration.apiKeys.isEmpty {
            router.add(middleware: AuthMiddleware(keys: configuration.apiKeys))
        }
        if let asynchronous {
            router.add(middleware: AsyncMiddleware(worker: asynchronous, api: self))
        }
        addAsyncRoutes(to: router)
        addKServeRoutes(to: router)
        addOpenAIRoutes(to: router)
        addPredictionRoutes(to: router)
        addOperationRoutes(to: router)
        addMethodNotAllowedRoutes(to: router)
        return router
    }

    /// Answers each method of `methods` that a routed path does not serve with 405 and an `Allow` header, where
    /// the router would answer 404; call after every other route is added.
    private func addMethodNotAllowedRoutes(to router: Router<ServerContext>) {
        for routes in Dictionary(grouping: router.routes, by: \.path.description).values {
            let routed = Set(routes.map(\.method))
            let served = routed.contains(.get) ? routed.union([.head]) : routed
            let allow = Self.methods.filter(served.contains).map(\.rawValue).joined(separator: ", ")
            for method in Self.methods where !served.contains(method) {
                router.on(routes[0].path, method: method) { request, _ -> Response in
                    throw APIError(
                        .methodNotAllowed, "\(request.uri.path) does not serve \(request.method); it serves \(allow)",
                        headers: [.allow: allow])
                }
            }
        }
    }

    /// The methods of HTTP that a path may answer with 405, in the order `Allow` lists them.
    private static let methods: [HTTPRequest.Method] = [.get, .head, .post, .put, .patch, .delete, .options, .trace]

    /// Runs `texts` through model `name` (loading it if needed), after `check` has accepted what the model is:
    /// a request the model cannot answer is refused before anything is queued.
    func infer(_ name: String, texts: [String], context: ServerContext,
               check: (ModelInfo) throws -> Void = { _ in }) async throws -> InferenceResult {
        let channel = context.channel
        do {
            try inference.validate(texts)
            let model = try await inference.model(name)
            try check(model.info)
            let result = try await model.infer(texts) { !channel.isActive }
            metrics.countRequest(status: 200)
            return result
        } catch {
            let apiError = APIError(error)
            metrics.countRequest(status: apiError.status.code)
            throw apiError
        }
    }

    /// The request body decoded as `T`, within the body limit.
    func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        try await JSONRequest.decode(type, from: request, limit: configuration.maxBodyBytes)
    }

    /// The `model` path parameter, percent-decoded (`min%69lm` is `minilm`).
    func modelName(_ context: ServerContext) throws -> String {
        guard let raw = context.parameters.get("model") else { throw APIError(.badRequest, "the path names no model") }
        guard let name = raw.removingPercentEncoding else {
            throw APIError(.badRequest, "the model name in the path is not valid percent-encoded UTF-8")
        }
        return name
    }
}
