import Foundation

/// The sections of a Hugging Face `tokenizer.json` that encoding needs.
///
/// `truncation` and `padding` are left out on purpose: the caller decides the maximum length and the
/// engine runs without padding.
struct TokenizerFile: Decodable {
    /// An entry of `added_tokens`.
    struct AddedToken: Decodable {
        var id: Int32
        var content: String
        var singleWord: Bool?
        var lstrip: Bool?
        var rstrip: Bool?
        var normalized: Bool?

        enum CodingKeys: String, CodingKey {
            case id, content, lstrip, rstrip, normalized
            case singleWord = "single_word"
        }
    }

    /// The `model` section except `vocab`, which `VocabularyScanner` reads; only WordPiece is implemented.
    struct Model: Decodable {
        static let supportedTypes = ["WordPiece"]

        var unknownToken: String
        var continuingSubwordPrefix: String
        var maxInputCharsPerWord: Int

        enum CodingKeys: String, CodingKey {
            case type
            case unknownToken = "unk_token"
            case continuingSubwordPrefix = "continuing_subword_prefix"
            case maxInputCharsPerWord = "max_input_chars_per_word"
        }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            guard let type = try container.decodeIfPresent(String.self, forKey: .type) else {
                throw TokenizerError.missingSection("model.type")
            }
            guard type == "WordPiece" else {
                throw TokenizerError.unsupportedType(section: "model", type: type, supported: Self.supportedTypes)
            }
            unknownToken = try container.decodeIfPresent(String.self, forKey: .unknownToken) ?? "[UNK]"
            continuingSubwordPrefix = try container.decodeIfPresent(String.self, forKey: .continuingSubwordPrefix) ?? "##"
            maxInputCharsPerWord = try container.decodeIfPresent(Int.self, forKey: .maxInputCharsPerWord) ?? 100
        }
    }

    var addedTokens: [AddedToken]
    var normalizer: Normalizer?
    var preTokenizer: PreTokenizer?
    var model: Model
    var postProcessor: PostProcessor?

    enum CodingKeys: String, CodingKey {
        case model, normalizer
        case addedTokens = "added_tokens"
        case preTokenizer = "pre_tokenizer"
        case postProcessor = "post_processor"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard let model = try container.decodeIfPresent(Model.self, forKey: .model) else {
            throw TokenizerError.missingSection("model")
        }
        self.model = model
        addedTokens = try container.decodeIfPresent([AddedToken].self, forKey: .addedTokens) ?? []
        normalizer = try container.decodeIfPresent(Normalizer.self, forKey: .normalizer)
        preTokenizer = try container.decodeIfPresent(PreTokenizer.self, forKey: .preTokenizer)
        postProcessor = try container.decodeIfPresent(PostProcessor.self, forKey: .postProcessor)
    }

    /// Decodes `data`, turning every failure into a `TokenizerError` that names the offending field.
    static func decode(_ data: Data) throws(TokenizerError) -> TokenizerFile {
        do {
            return try JSONDecoder().decode(TokenizerFile.self, from: data)
        } catch let error as TokenizerError {
            throw error
        } catch let error as DecodingError {
            throw .malformedJSON(reason: describe(error))
        } catch {
            throw .malformedJSON(reason: "\(error)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            codingPath.isEmpty ? "the document" : "'" + codingPath.map(\.stringValue).joined(separator: ".") + "'"
        }
        switch error {
        case let .keyNotFound(key, context):
            return "\(path(context.codingPath + [key])) is missing"
        case let .typeMismatch(_, context), let .valueNotFound(_, context):
            return "\(path(context.codingPath)) has the wrong type: \(context.debugDescription)"
        case let .dataCorrupted(context):
            let underlying = context.underlyingError.map { " (\($0))" } ?? ""
            return "\(path(context.codingPath)): \(context.debugDescription)\(underlying)"
        @unknown default:
            return "\(error)"
        }
    }
}
