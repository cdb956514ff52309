import Foundation
import Hummingbird
import ShoalInference
import ShoalModels

extension API {
    /// `POST /v1/embeddings`, as the OpenAI API has it.
    func addOpenAIRoutes(to router: Router<ServerContext>) {
        router.post("/v1/embeddings") { request, context in
            try await embeddings(request, context: context)
        }
    }

    private func embeddings(_ request: Request, context: ServerContext) async throws -> Response {
        let body = try await decode(OpenAI.EmbeddingRequest.self, from: request)
        let base64: Bool
        switch body.encodingFormat ?? "float" {
        case "float": base64 = false
        case "base64": base64 = true
        case let other: throw APIError(.unprocessableContent, "encoding_format \"\(other)\" is not float or base64")
        }
        if let dimensions = body.dimensions, dimensions < 1 {
            throw APIError(.unprocessableContent, "\"dimensions\" must be a positive integer, not \(dimensions)")
        }
        let result = try await infer(body.model, texts: body.input.texts, context: context) { model in
            guard case .embedding = model.task else {
                throw APIError(.unprocessableContent, "model \"\(body.model)\" is a classifier; use /v2/models/\(body.model)/infer")
            }
            if let dimensions = body.dimensions, dimensions > model.dimensions {
                throw APIError(.unprocessableContent, "\"dimensions\" \(dimensions) exceeds the model's \(model.dimensions)")
            }
        }
        var normalize = false
        if case .embedding(_, let unitLength) = result.model.task { normalize = unitLength }
        let width = body.dimensions ?? result.model.dimensions
        let embeddings = result.outputs.map { row in
            OpenAI.Vector(Self.shorten(row, to: width, normalize: normalize), base64: base64)
        }
        return JSONResponse.make(OpenAI.EmbeddingResponse(
            embeddings: embeddings, model: body.model, promptTokens: result.tokenCount))
    }

    /// The first `width` dimensions, scaled back to unit length when the model's embeddings are unit length.
    private static func shorten(_ row: [Float], to width: Int, normalize: Bool) -> [Float] {
        guard width < row.count else { return row }
        let prefix = Array(row.prefix(width))
        guard normalize else { return prefix }
        let norm = prefix.reduce(0) { $0 + $1 * $1 }.squareRoot()
        return norm > 0 ? prefix.map { $0 / norm } : prefix
    }
}
