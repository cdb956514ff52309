/// The token ids of one text, with the special tokens added and truncation applied.
public struct Encoding: Sendable, Hashable {
    /// Token ids, `[CLS] … [SEP]` for BERT.
    public var ids: [Int32]
    /// Token type (segment) ids, one per id; all zero for a single BERT sequence.
    public var typeIds: [Int32]
    /// How many ids the text would have had without truncation, special tokens included.
    public var untruncatedCount: Int

    /// Whether tokens were cut to fit the maximum length.
    public var isTruncated: Bool { ids.count < untruncatedCount }

    /// An encoding of `ids`, whose untruncated length was `untruncatedCount`.
    public init(ids: [Int32], typeIds: [Int32], untruncatedCount: Int) {
        self.ids = ids
        self.typeIds = typeIds
        self.untruncatedCount = untruncatedCount
    }
}
