/// The `post_processor` section of a `tokenizer.json` for one sequence: the special tokens around it
/// (`[CLS] … [SEP]` for BERT) and the type id of every position.
struct PostProcessor: Sendable, Equatable {
    /// Ids before the sequence.
    var prefix: [Int32] = []
    /// Type ids of `prefix`.
    var prefixTypeIDs: [Int32] = []
    /// Type id of every token of the sequence.
    var sequenceTypeID: Int32 = 0
    /// Ids after the sequence.
    var suffix: [Int32] = []
    /// Type ids of `suffix`.
    var suffixTypeIDs: [Int32] = []

    /// How many ids the processor adds around the sequence.
    var addedCount: Int { prefix.count + suffix.count }

    /// The type ids of an encoding whose sequence has `count` tokens.
    func typeIDs(sequenceCount count: Int) -> [Int32] {
        if sequenceTypeID == 0, !prefixTypeIDs.contains(where: { $0 != 0 }), !suffixTypeIDs.contains(where: { $0 != 0 }) {
            return [Int32](repeating: 0, count: addedCount + count)
        }
        return prefixTypeIDs + [Int32](repeating: sequenceTypeID, count: count) + suffixTypeIDs
    }
}
