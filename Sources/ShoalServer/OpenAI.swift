import Foundation
import ShoalInference

/// The messages of the OpenAI-compatible embeddings API.
enum OpenAI {
    struct EmbeddingRequest: Decodable {
        let input: Input
        let model: String
        let encodingFormat: String?
        let dimensions: Int?

        private enum CodingKeys: String, CodingKey {
            case input, model, encodingFormat = "encoding_format", dimensions
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            input = try container.decode(Input.self, forKey: .input)
            model = try container.decode(String.self, forKey: .model)
            encodingFormat = try container.decodeIfPresent(String.self, forKey: .encodingFormat)
            dimensions = try container.integerIfPresent(forKey: .dimensions, "a positive integer")
        }
    }

    /// One string or a list of strings; token-id arrays are refused.
    struct Input: Decodable {
        let texts: [String]

        init(from decoder: any Decoder) throws {
            do {
                texts = [try decoder.text()]
            } catch DecodingError.typeMismatch {
                texts = try decoder.texts { field in
                    APIError(.unprocessableContent, """
                        \(field) is not text: "input" must be a string or a list of strings; token arrays are not supported
                        """)
                }
            }
        }
    }

    struct EmbeddingResponse: JSONWritable {
        /// One row per input, floats or base64 text of little-endian float32s.
        let embeddings: [Vector]
        let model: String
        let promptTokens: Int

        var estimatedSize: Int { 128 + embeddings.reduce(0) { $0 + $1.estimatedSize } }

        func write(to writer: inout JSONWriter) {
            writer.raw(#"{"object":"list","data":"#)
            writer.array(embeddings.enumerated()) { writer, item in
                writer.raw(#"{"object":"embedding","index":"#)
                writer.int(item.offset)
                writer.raw(#","embedding":"#)
                switch item.element {
                case .floats(let values): writer.floats(values)
                case .base64(let text): writer.string(text)
                }
                writer.raw("}")
            }
            writer.raw(#","model":"#)
            writer.string(model)
            writer.raw(#","usage":{"prompt_tokens":"#)
            writer.int(promptTokens)
            writer.raw(#","total_tokens":"#)
            writer.int(promptTokens)
            writer.raw("}}")
        }
    }

    /// Floats, or their little-endian float32 bytes in base64.
    enum Vector {
        case floats([Float])
        case base64(String)

        init(_ values: [Float], base64: Bool) {
            guard base64 else {
                self = .floats(values)
                return
            }
            let bytes = values.flatMap { value in withUnsafeBytes(of: value.bitPattern.littleEndian) { Array($0) } }
            self = .base64(Data(bytes).base64EncodedString())
        }

        var estimatedSize: Int {
            switch self {
            case .floats(let values): 64 + values.count * 13
            case .base64(let text): 64 + text.utf8.count
            }
        }
    }
}
