import Foundation

/// A Hugging Face `tokenizer.json` tokenizer (BERT-style normalizer, pre-tokenizer and WordPiece model)
/// that produces the same ids as the `tokenizers` library.
public struct Tokenizer: Sendable {
    private let normalizer: Normalizer
    private let preTokenizer: PreTokenizer
    private let model: WordPiece
    private let postProcessor: PostProcessor
    /// Added tokens matched in the raw text, before normalization.
    private let rawAddedTokens: AddedTokenMatcher
    /// Added tokens matched in the normalized text.
    private let normalizedAddedTokens: AddedTokenMatcher
    private let addedTokenIDs: [String: Int32]
    private let tokensByID: [Int32: String]

    /// Loads the `tokenizer.json` at `url`.
    public init(contentsOf url: URL) throws(TokenizerError) {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw .unreadableFile(path: url.path, reason: error.localizedDescription)
        }
        do {
            try self.init(json: data)
        } catch {
            throw .inFile(path: url.path, error)
        }
    }

    /// Loads a tokenizer from the contents of a `tokenizer.json`.
    public init(json data: Data) throws(TokenizerError) {
        let file = try TokenizerFile.decode(data)
        let entries = try VocabularyScanner.entries(in: data)
        normalizer = file.normalizer ?? Normalizer(steps: [])
        preTokenizer = file.preTokenizer ?? PreTokenizer()
        postProcessor = file.postProcessor ?? PostProcessor()
        model = try WordPiece(
            entries: entries, unknownToken: file.model.unknownToken,
            continuingSubwordPrefix: file.model.continuingSubwordPrefix,
            maxInputCharsPerWord: file.model.maxInputCharsPerWord)
        var raw: [AddedTokenMatcher.Token] = []
        var normalized: [AddedTokenMatcher.Token] = []
        for added in file.addedTokens {
            var content = Array(added.content.unicodeScalars)
            if added.normalized ?? true { normalizer.normalize(&content) }
            let token = AddedTokenMatcher.Token(
                content: content, id: added.id, singleWord: added.singleWord ?? false,
                leftStrip: added.lstrip ?? false, rightStrip: added.rstrip ?? false)
            if added.normalized ?? true { normalized.append(token) } else { raw.append(token) }
        }
        rawAddedTokens = AddedTokenMatcher(raw)
        normalizedAddedTokens = AddedTokenMatcher(normalized)
        addedTokenIDs = Dictionary(file.addedTokens.map { ($0.content, $0.id) }, uniquingKeysWith: { _, last in last })
        var tokensByID = Dictionary(entries.map { ($0.id, $0.token) }, uniquingKeysWith: { first, _ in first })
        for added in file.addedTokens { tokensByID[added.id] = added.content }
        self.tokensByID = tokensByID
    }

    /// Number of distinct token ids, added tokens included.
    public var vocabularySize: Int { tokensByID.count }

    /// How many special tokens an encoding gets around the text (2 for BERT: `[CLS]` and `[SEP]`).
    public var specialTokenCount: Int { postProcessor.addedCount }

    /// The id of `token` (an added token or a vocabulary entry such as `"##ing"`), or nil if there is none.
    public func id(of token: String) -> Int32? {
        addedTokenIDs[token] ?? model.vocabulary[token]
    }

    /// The text of the token with `id`, or nil if there is none.
    public func token(for id: Int32) -> String? {
        tokensByID[id]
    }

    /// Encodes `text`; with a `maxLength`, keeps the first tokens that fit along with every special token.
    ///
    /// A `maxLength` smaller than `specialTokenCount` leaves the special tokens alone.
    public func encode(_ text: String, maxLength: Int? = nil) -> Encoding {
        var ids = postProcessor.prefix
        ids.reserveCapacity(text.utf8.count / 2 + postProcessor.addedCount + 8)
        appendIDs(of: text, to: &ids)
        let count = ids.count - postProcessor.prefix.count
        let untruncatedCount = count + postProcessor.addedCount
        let kept = maxLength.map { min(count, max(0, $0 - postProcessor.addedCount)) } ?? count
        ids.removeLast(count - kept)
        ids.append(contentsOf: postProcessor.suffix)
        return Encoding(ids: ids, typeIds: postProcessor.typeIDs(sequenceCount: kept), untruncatedCount: untruncatedCount)
    }

    /// Encodes each of `texts`, as `encode(_:maxLength:)` does.
    public func encode(batch texts: [String], maxLength: Int? = nil) -> [Encoding] {
        texts.map { encode($0, maxLength: maxLength) }
    }

    /// Appends the model's ids for `text`: added tokens are cut out first, the rest is normalized, cut into
    /// words and segmented.
    private func appendIDs(of text: String, to ids: inout [Int32]) {
        let raw = Self.scalars(of: text)
        var normalized: [Unicode.Scalar] = []
        raw.withUnsafeBufferPointer { raw in
            for segment in rawAddedTokens.segments(of: raw, in: raw.indices) {
                switch segment {
                case let .token(id):
                    ids.append(id)
                case let .text(range):
                    normalized.removeAll(keepingCapacity: true)
                    normalized.append(contentsOf: raw[range])
                    normalizer.normalize(&normalized)
                    normalized.withUnsafeBufferPointer { appendNormalizedIDs(of: $0, to: &ids) }
                }
            }
        }
    }

    private static func scalars(of text: String) -> [Unicode.Scalar] {
        let ascii = text.utf8.withContiguousStorageIfAvailable { bytes in
            bytes.allSatisfy { $0 < 0x80 } ? bytes.map { Unicode.Scalar($0) } : nil
        }
        if let ascii = ascii ?? nil { return ascii }
        var scalars: [Unicode.Scalar] = []
        scalars.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars { scalars.append(scalar) }
        return scalars
    }

    private func appendNormalizedIDs(of text: UnsafeBufferPointer<Unicode.Scalar>, to ids: inout [Int32]) {
        for segment in normalizedAddedTokens.segments(of: text, in: text.indices) {
            switch segment {
            case let .token(id):
                ids.append(id)
            case let .text(range):
                for word in preTokenizer.words(of: text, in: range) {
                    model.tokenize(UnsafeBufferPointer(rebasing: text[word]), into: &ids)
                }
            }
        }
    }
}
