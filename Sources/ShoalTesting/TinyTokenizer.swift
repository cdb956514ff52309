/// A BERT-style uncased WordPiece tokenizer with a vocabulary of about a hundred English words, for tiny models.
public enum TinyTokenizer {
    /// Special tokens with their ids, in id order: `[PAD]`=0, `[UNK]`=1, `[CLS]`=2, `[SEP]`=3, `[MASK]`=4.
    public static let specialTokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]

    /// Every token; a token's id is its index.
    public static let vocabulary: [String] = specialTokens
        + [".", ",", "!", "?", "'", "-"]
        + """
        the a an and or but not no yes is are was be it this that they we you i he she my your their \
        of in on at to for with from by about over under after very really so too also just only all some every \
        day quick brown fox jump lazy dog cat hello world good bad great new old small big happy sad time year \
        people way man woman child house car book water food like love make go come see know think take want use \
        find give tell work read run test model text word sentence cafe au lait fast slow movie film embed serve well
        """.split(separator: " ").map(String.init)
        + ["##s", "##es", "##ed", "##ing", "##ly", "##er", "##est", "##ness", "##ful", "##ding", "##y"]

    /// `tokenizer.json` as the Hugging Face `tokenizers` library writes it for this vocabulary.
    public static var json: String {
        document.text(pretty: true)
    }

    /// `vocab.txt`: one token a line, in id order.
    public static var vocabText: String {
        vocabulary.joined(separator: "\n") + "\n"
    }

    private static func id(_ token: String) -> Int {
        vocabulary.firstIndex(of: token) ?? 1
    }

    private static var document: OrderedJSON {
        let addedTokens: [OrderedJSON] = specialTokens.map { token in
            .object([
                ("id", .int(id(token))), ("content", .string(token)), ("single_word", .bool(false)),
                ("lstrip", .bool(false)), ("rstrip", .bool(false)), ("normalized", .bool(false)),
                ("special", .bool(true)),
            ])
        }
        return .object([
            ("version", .string("1.0")),
            ("truncation", .null),
            ("padding", .null),
            ("added_tokens", .array(addedTokens)),
            ("normalizer", .object([
                ("type", .string("BertNormalizer")), ("clean_text", .bool(true)),
                ("handle_chinese_chars", .bool(true)), ("strip_accents", .null), ("lowercase", .bool(true)),
            ])),
            ("pre_tokenizer", .object([("type", .string("BertPreTokenizer"))])),
            ("post_processor", postProcessor),
            ("decoder", .object([("type", .string("WordPiece")), ("prefix", .string("##")), ("cleanup", .bool(true))])),
            ("model", .object([
                ("type", .string("WordPiece")), ("unk_token", .string("[UNK]")),
                ("continuing_subword_prefix", .string("##")), ("max_input_chars_per_word", .int(100)),
                ("vocab", .object(vocabulary.enumerated().map { ($0.element, .int($0.offset)) })),
            ])),
        ])
    }

    private static var postProcessor: OrderedJSON {
        func piece(_ kind: String, _ id: String, _ typeID: Int) -> OrderedJSON {
            .object([(kind, .object([("id", .string(id)), ("type_id", .int(typeID))]))])
        }
        func special(_ token: String) -> (String, OrderedJSON) {
            (token, .object([
                ("id", .string(token)), ("ids", .array([.int(id(token))])), ("tokens", .array([.string(token)])),
            ]))
        }
        return .object([
            ("type", .string("TemplateProcessing")),
            ("single", .array([piece("SpecialToken", "[CLS]", 0), piece("Sequence", "A", 0), piece("SpecialToken", "[SEP]", 0)])),
            ("pair", .array([
                piece("SpecialToken", "[CLS]", 0), piece("Sequence", "A", 0), piece("SpecialToken", "[SEP]", 0),
                piece("Sequence", "B", 1), piece("SpecialToken", "[SEP]", 1),
            ])),
            ("special_tokens", .object([special("[CLS]"), special("[SEP]")])),
        ])
    }
}
