import ShoalModels

/// What a loaded model computes, for metadata and for shaping responses.
public struct ModelInfo: Sendable, Equatable {
    /// The name requests use.
    public var name: String
    /// The version served.
    public var version: String
    /// `model_type` of its `config.json`.
    public var modelType: String
    /// Embedding or classification (with labels).
    public var task: ModelTask
    /// Width of one output: embedding dimensions or number of labels.
    public var dimensions: Int
    /// Inputs longer than this many tokens are truncated or refused.
    public var maxSequenceLength: Int
    /// Bytes of parameters in memory (shared with other names of the same files).
    public var bytes: Int
}
