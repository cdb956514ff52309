extension PostProcessor: Decodable {
    /// The `type` values of the `post_processor` section that can be loaded.
    static let supportedTypes = ["TemplateProcessing", "BertProcessing", "RobertaProcessing"]

    private enum CodingKeys: String, CodingKey {
        case type
        case cls
        case sep
        case single
        case specialTokens = "special_tokens"
    }

    /// One element of a template: `{"SpecialToken": {"id": "[CLS]", "type_id": 0}}` or
    /// `{"Sequence": {"id": "A", "type_id": 0}}`.
    private struct TemplatePiece: Decodable {
        struct Reference: Decodable {
            var id: String
            var typeID: Int32

            enum CodingKeys: String, CodingKey {
                case id
                case typeID = "type_id"
            }
        }

        var specialToken: Reference?
        var sequence: Reference?

        enum CodingKeys: String, CodingKey {
            case specialToken = "SpecialToken"
            case sequence = "Sequence"
        }
    }

    private struct SpecialToken: Decodable {
        var ids: [Int32]
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let type = try container.decode(String.self, forKey: .type)
        switch type {
        case "TemplateProcessing":
            let pieces = try container.decode([TemplatePiece].self, forKey: .single)
            let specialTokens = try container.decodeIfPresent([String: SpecialToken].self, forKey: .specialTokens)
            try self.init(template: pieces, specialTokens: specialTokens ?? [:])
        case "BertProcessing", "RobertaProcessing":
            // Both are `cls $A sep` for one sequence; each token is written as ["[CLS]", 101].
            func id(_ key: CodingKeys) throws -> Int32 {
                var pair = try container.nestedUnkeyedContainer(forKey: key)
                _ = try pair.decode(String.self)
                return try pair.decode(Int32.self)
            }
            self.init(prefix: [try id(.cls)], prefixTypeIDs: [0], suffix: [try id(.sep)], suffixTypeIDs: [0])
        default:
            throw TokenizerError.unsupportedType(section: "post_processor", type: type, supported: Self.supportedTypes)
        }
    }

    private init(template: [TemplatePiece], specialTokens: [String: SpecialToken]) throws(TokenizerError) {
        var sequenceSeen = false
        for piece in template {
            if let sequence = piece.sequence {
                guard !sequenceSeen else {
                    throw .invalidConfiguration("the post_processor's single template has more than one sequence")
                }
                sequenceSeen = true
                sequenceTypeID = sequence.typeID
            } else if let special = piece.specialToken {
                guard let ids = specialTokens[special.id]?.ids else {
                    throw .invalidConfiguration(
                        "the post_processor's template uses '\(special.id)', which its special_tokens do not define")
                }
                let typeIDs = [Int32](repeating: special.typeID, count: ids.count)
                if sequenceSeen {
                    suffix += ids
                    suffixTypeIDs += typeIDs
                } else {
                    prefix += ids
                    prefixTypeIDs += typeIDs
                }
            } else {
                throw .invalidConfiguration("a post_processor template piece is neither SpecialToken nor Sequence")
            }
        }
        guard sequenceSeen else {
            throw .invalidConfiguration("the post_processor's single template has no sequence ($A)")
        }
    }
}
