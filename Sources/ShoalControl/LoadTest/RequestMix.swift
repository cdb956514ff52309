import ShoalCorpus

/// The texts a load test sends: real sentences of about 12 tokens, paragraphs of about 128, or both.
public struct RequestMix: Sendable {
    /// Which texts to draw from.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// Only short sentences.
        case short
        /// Only paragraphs of about 128 tokens.
        case paragraph
        /// Nine short sentences to one paragraph, like interactive traffic with an occasional document.
        case mixed
    }

    public let kind: Kind
    public let texts: [String]

    public init(_ kind: Kind) {
        self.kind = kind
        switch kind {
        case .short: texts = SampleTexts.shortSentences
        case .paragraph: texts = Self.paragraphs
        case .mixed:
            // 8 short sentences and one paragraph: a draw is a paragraph one time in nine.
            texts = SampleTexts.shortSentences + [Self.paragraphs[0]]
        }
    }

    /// The text of request number `index`: a fixed walk over the mix, so runs are repeatable.
    public func text(_ index: Int) -> String {
        texts[(index &* 7 &+ 3) % texts.count]
    }

    static let paragraphs = [
        """
        Search engines, recommendation systems and chat assistants all rely on text embeddings, dense vectors \
        that place sentences with similar meaning close together in a shared space. A small encoder such as \
        MiniLM turns each token into a contextual vector with a stack of self-attention layers, and the sentence \
        vector is simply the average of those token vectors, scaled to unit length so that a dot product equals \
        cosine similarity. Because the encoder is small, a single commodity CPU core can embed hundreds of short \
        sentences per second, which makes it attractive for batch indexing jobs as well as for online serving.
        """,
        """
        The support ticket said that the customer had been charged twice for the same order after the payment \
        page timed out, and that the second charge still appeared on the card statement three days later. The \
        agent checked the order history, found one order but two captured payments, refunded the duplicate and \
        added a note asking the payments team to look at retries on slow connections. The customer replied that \
        the refund had arrived and thanked the agent for the quick and clear answer.
        """,
    ]
}
