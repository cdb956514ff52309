/// The outputs of one request.
public struct InferenceResult: Sendable {
    /// The model that computed them.
    public var model: ModelInfo
    /// One row per input text, in input order: an embedding or class probabilities.
    public var outputs: [[Float]]
    /// Tokens the inputs took, special tokens included, after truncation.
    public var tokenCount: Int
}
