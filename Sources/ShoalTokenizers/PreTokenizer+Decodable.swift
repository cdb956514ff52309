extension PreTokenizer: Decodable {
    /// The `type` values of the `pre_tokenizer` section that can be loaded.
    static let supportedTypes = ["BertPreTokenizer", "WhitespaceSplit", "Whitespace", "Sequence"]

    private enum CodingKeys: String, CodingKey {
        case type
        case pretokenizers
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "BertPreTokenizer":
            self.init(splitsOnWhitespace: true, isolatesPunctuation: true)
        case "WhitespaceSplit":
            self.init(splitsOnWhitespace: true)
        case "Whitespace":
            self.init(splitsOnWhitespace: true, separatesWordsFromSymbols: true)
        case "Sequence":
            let parts = try container.decode([PreTokenizer].self, forKey: .pretokenizers)
            self.init(
                splitsOnWhitespace: parts.contains { $0.splitsOnWhitespace },
                isolatesPunctuation: parts.contains { $0.isolatesPunctuation },
                separatesWordsFromSymbols: parts.contains { $0.separatesWordsFromSymbols }
            )
        default:
            throw TokenizerError.unsupportedType(section: "pre_tokenizer", type: type, supported: Self.supportedTypes)
        }
    }
}
