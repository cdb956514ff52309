import Hummingbird

extension API {
    /// `GET /predictions/{model}?seq_0=text` and `POST /predictions/{model}` with `{"inputs": [...]}`, as the
    /// reference system has them.
    func addPredictionRoutes(to router: Router<ServerContext>) {
        router.get("/predictions/:model") { request, context in
            let query = request.uri.queryParameters
            guard query.get("seq_0") != nil else {
                throw APIError(.badRequest, "send the text as the query parameter seq_0")
            }
            // The framework decodes invalid UTF-8 lossily; the text must be what the client meant, or refused.
            guard let text = Self.strictSeq0(in: request.uri.query ?? "") else {
                throw APIError(.badRequest, "the query parameter seq_0 is not valid percent-encoded UTF-8")
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

    /// The first `seq_0` of the raw `query`, percent-decoded with `+` for a space; nil unless valid UTF-8.
    private static func strictSeq0(in query: String) -> String? {
        let raw = query.split(separator: "&").first { $0 == "seq_0" || $0.hasPrefix("seq_0=") }?.dropFirst("seq_0=".count)
        return String(raw ?? "").replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }

    private func predictions(_ name: String, texts: [String], context: ServerContext) async throws -> Response {
        let result = try await infer(name, texts: texts, context: context)
        return JSONResponse.make(Predictions.Response(predictions: result.outputs))
    }
}
