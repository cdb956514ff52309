/// The WordPiece model: greedy longest-match-first segmentation of a word into vocabulary pieces.
struct WordPiece: Sendable {
    /// Token text to id, for lookups by text (which Swift compares by canonical equivalence).
    let vocabulary: [String: Int32]
    /// The id given to a word that cannot be segmented, or that is too long.
    let unknownID: Int32
    /// Words with more characters than this become the unknown token whole.
    let maxInputCharsPerWord: Int

    /// Every vocabulary entry, for the first piece of a word.
    private let wordStarts: TokenTable
    /// Entries that begin with the continuing-subword prefix, keyed without it, for later pieces.
    private let continuations: TokenTable

    /// A model over the vocabulary `entries`, whose tokens are matched scalar for scalar; throws when
    /// `unknownToken` is not among them.
    init(entries: [(token: String, id: Int32)], unknownToken: String, continuingSubwordPrefix prefix: String,
         maxInputCharsPerWord: Int) throws(TokenizerError) {
        vocabulary = Dictionary(entries, uniquingKeysWith: { first, _ in first })
        guard let unknownID = vocabulary[unknownToken] else {
            throw .invalidConfiguration("the WordPiece unk_token '\(unknownToken)' is not in the vocabulary")
        }
        self.unknownID = unknownID
        self.maxInputCharsPerWord = maxInputCharsPerWord
        wordStarts = TokenTable(entries.map { (key: Substring($0.token), id: $0.id) })
        if prefix.isEmpty {
            continuations = wordStarts
        } else {
            // Compared by scalars, not Characters: in "##ং" the mark joins the second "#" into one Character.
            let prefixScalars = prefix.unicodeScalars
            continuations = TokenTable(entries.compactMap { token, id in
                guard token.unicodeScalars.starts(with: prefixScalars) else { return nil }
                return (key: Substring(token.unicodeScalars.dropFirst(prefixScalars.count)), id: id)
            })
        }
    }

    /// Appends the ids of `word`'s pieces to `ids`, or the unknown id alone when the word has no segmentation.
    func tokenize(_ word: UnsafeBufferPointer<Unicode.Scalar>, into ids: inout [Int32]) {
        guard word.count <= maxInputCharsPerWord else {
            ids.append(unknownID)
            return
        }
        let mark = ids.count
        let capacity = max(wordStarts.longestKey, continuations.longestKey, 1)
        let segmented = withUnsafeTemporaryAllocation(of: UInt64.self, capacity: capacity) { hashes in
            var start = 0
            while start < word.count {
                let piece = start == 0
                    ? wordStarts.longestPrefix(of: word, from: start, hashes: hashes)
                    : continuations.longestPrefix(of: word, from: start, hashes: hashes)
                guard let (id, end) = piece else { return false }
                ids.append(id)
                start = end
            }
            return true
        }
        if !segmented {
            ids.removeSubrange(mark...)
            ids.append(unknownID)
        }
    }
}
