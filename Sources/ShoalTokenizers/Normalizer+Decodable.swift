extension Normalizer: Decodable {
    /// The `type` values of the `normalizer` section that can be loaded.
    static let supportedTypes = [
        "BertNormalizer", "Sequence", "Lowercase", "StripAccents", "Strip", "NFD", "NFC", "NFKD", "NFKC",
    ]

    private enum CodingKeys: String, CodingKey {
        case type
        case cleanText = "clean_text"
        case handleChineseChars = "handle_chinese_chars"
        case stripAccents = "strip_accents"
        case lowercase
        case normalizers
        case stripLeft = "strip_left"
        case stripRight = "strip_right"
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        func flag(_ key: CodingKeys) throws -> Bool { try container.decodeIfPresent(Bool.self, forKey: key) ?? true }
        switch type {
        case "BertNormalizer":
            let lowercase = try flag(.lowercase)
            // A null strip_accents follows lowercase, as in the original BERT tokenizer.
            let stripAccents = try container.decodeIfPresent(Bool.self, forKey: .stripAccents) ?? lowercase
            var steps: [Step] = []
            if try flag(.cleanText) { steps.append(.cleanup) }
            if try flag(.handleChineseChars) { steps.append(.padIdeographs) }
            if stripAccents { steps += [.form(.nfd), .removeNonspacingMarks] }
            if lowercase { steps.append(.lowercase) }
            self.init(steps: steps)
        case "Sequence":
            let normalizers = try container.decode([Normalizer].self, forKey: .normalizers)
            self.init(steps: normalizers.flatMap(\.steps))
        case "Lowercase": self.init(steps: [.lowercase])
        case "StripAccents": self.init(steps: [.removeCombiningMarks])
        case "Strip": self.init(steps: [.strip(leading: try flag(.stripLeft), trailing: try flag(.stripRight))])
        case "NFD": self.init(steps: [.form(.nfd)])
        case "NFC": self.init(steps: [.form(.nfc)])
        case "NFKD": self.init(steps: [.form(.nfkd)])
        case "NFKC": self.init(steps: [.form(.nfkc)])
        default:
            throw TokenizerError.unsupportedType(section: "normalizer", type: type, supported: Self.supportedTypes)
        }
    }
}
