import Foundation
import ShoalTokenizers
import Testing

/// The checked-in fixtures: the all-MiniLM-L6-v2 `tokenizer.json` and ids computed by Hugging Face `tokenizers`.
enum Fixtures {
    /// One text with the ids and tokens `tokenizers` gives it.
    struct Item: Decodable, Sendable, CustomTestStringConvertible {
        struct Truncation: Decodable, Sendable {
            var maxLength: Int
            var inputIDs: [Int32]

            enum CodingKeys: String, CodingKey {
                case maxLength = "max_length"
                case inputIDs = "input_ids"
            }
        }

        var text: String
        var inputIDs: [Int32]
        var tokens: [String]
        var typeIDs: [Int32]?
        var untruncatedCount: Int?
        var truncated: Bool?
        var truncations: [Truncation]?

        var testDescription: String { String(reflecting: String(text.prefix(40))) }

        enum CodingKeys: String, CodingKey {
            case text, tokens, truncated, truncations
            case inputIDs = "input_ids"
            case typeIDs = "type_ids"
            case untruncatedCount = "n_tokens_untruncated"
        }
    }

    /// Texts encoded by the fixture tokenizer with some sections replaced (see `variantTokenizer(_:)`).
    struct Variant: Decodable, Sendable, CustomTestStringConvertible {
        var name: String
        var items: [Item]

        var testDescription: String { name }
    }

    private struct ItemFile: Decodable {
        var items: [Item]
        var variants: [Variant]?
    }

    /// The 24 golden texts of all-MiniLM-L6-v2, encoded with truncation to 256.
    static let golden: [Item] = itemFile("minilm_l6_public")?.items ?? []

    /// Edge cases encoded without truncation, plus their truncations to a few small lengths.
    static let edgeCases: [Item] = itemFile("edge_cases")?.items ?? []

    /// The fixture tokenizer with other normalizer, pre-tokenizer, post-processor and added tokens.
    static let variants: [Variant] = itemFile("edge_cases")?.variants ?? []

    /// Truncation length the golden items were encoded with.
    static let goldenMaxLength = 256

    /// URL of a file in `Fixtures/`.
    static func url(_ name: String, _ ext: String) throws -> URL {
        let url = Bundle.module.url(forResource: name, withExtension: ext, subdirectory: "Fixtures")
        return try #require(url, "missing fixture \(name).\(ext)")
    }

    /// The all-MiniLM-L6-v2 tokenizer, loaded once.
    static func minilm() throws -> Tokenizer {
        try minilmResult.get()
    }

    /// The raw JSON object of the all-MiniLM-L6-v2 `tokenizer.json`, for tests that change a section.
    static func minilmJSON() throws -> [String: Any] {
        let data = try Data(contentsOf: url("minilm_tokenizer", "json"))
        return try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    private static let minilmResult: Result<Tokenizer, any Error> = Result {
        try Tokenizer(contentsOf: url("minilm_tokenizer", "json"))
    }

    /// The fixture tokenizer with the sections of the variant `name` in place of its own.
    static func variantTokenizer(_ name: String) throws -> Tokenizer {
        let data = try Data(contentsOf: url("edge_cases", "json"))
        let file = try #require(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let variants = try #require(file["variants"] as? [[String: Any]])
        let variant = try #require(variants.first { $0["name"] as? String == name })
        let sections = try #require(variant["sections"] as? [String: Any])
        let json = try minilmJSON().merging(sections) { _, replacement in replacement }
        return try Tokenizer(json: JSONSerialization.data(withJSONObject: json))
    }

    /// A `tokenizer.json` of the fixture with `changes` applied to its parsed JSON.
    static func modifiedMinilm(_ changes: (inout [String: Any]) -> Void) throws -> Data {
        var json = try minilmJSON()
        changes(&json)
        return try JSONSerialization.data(withJSONObject: json)
    }

    // Test arguments are built before any test runs, so a missing file yields no cases here and
    // `fixturesAreComplete` reports it.
    private static func itemFile(_ name: String) -> ItemFile? {
        guard let url = Bundle.module.url(forResource: name, withExtension: "json", subdirectory: "Fixtures"),
              let data = try? Data(contentsOf: url)
        else { return nil }
        return try? JSONDecoder().decode(ItemFile.self, from: data)
    }
}
