import Hummingbird

extension API {
    /// `GET /predictions/{model}?seq_0=text` and `POST /predictions/{model}` with `{"inputs": [...]}`, as the
    /// reference system has them.
    func addPredictionRoutes(to router: Router<ServerContext>) {
        router.get("/predictions/:model") { request, context in
            let query = request.uri.queryParameters
            guard let text = query.get("seq_0") else {
                throw APIError(.badRequest, "send the text as the query parameter seq_0")
            }
            guard query.get("seq_1") == nil else {
                throw APIError(.unprocessableContent, "sentence pairs (seq_1) are not supported; send seq_0 only")
            }
            return try await predictions(try modelName(context), texts: [text], context: context)
        }
        router.post("/predictions/:model") { request, context in
            let body = try await decode(Predictions.Request.self, from: request)
            return try await predictions(try modelName(context), texts: body.inputs, context: context)
        }
    }

    private func predictions(_ name: String, texts: [String], context: ServerContext) async throws -> Response {
        let result = try await infer(name, texts: texts, context: context)
        return JSONResponse.make(Predictions.Response(predictions: result.outputs))
    }
}
