import Foundation

/// The messages of the OpenAI-compatible embeddings API.
enum OpenAI {
    struct EmbeddingRequest: Decodable {
        let input: Input
        let model: String
        let encodingFormat: String?
        let dimensions: Int?

        enum CodingKeys: String, CodingKey {
            case input, model, encodingFormat = "encoding_format", dimensions
        }
    }

    /// One string or a list of strings; token-id arrays are refused.
    struct Input: Decodable {
        let texts: [String]

        init(from decoder: any Decoder) throws {
            if let text = try? String(from: decoder) {
                texts = [text]
            } else if let list = try? [String](from: decoder) {
                texts = list
            } else {
                throw APIError(.unprocessableContent, "input must be a string or a list of strings; token arrays are not supported")
            }
        }
    }

    struct EmbeddingResponse: Encodable {
        let object = "list"
        let data: [Embedding]
        let model: String
        let usage: Usage
    }

    struct Embedding: Encodable {
        let object = "embedding"
        let index: Int
        let embedding: Vector
    }

    /// Floats, or their little-endian float32 bytes in base64.
    enum Vector: Encodable {
        case floats([Float])
        case base64(String)

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .floats(let values): try values.encode(to: encoder)
            case .base64(let text): try text.encode(to: encoder)
            }
        }

        init(_ values: [Float], base64: Bool) {
            guard base64 else {
                self = .floats(values)
                return
            }
            let bytes = values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
            self = .base64(Data(bytes).base64EncodedString())
        }
    }

    struct Usage: Encodable {
        let promptTokens: Int
        let totalTokens: Int

        enum CodingKeys: String, CodingKey {
            case promptTokens = "prompt_tokens", totalTokens = "total_tokens"
        }
    }
}
