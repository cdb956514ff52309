import ShoalTensor

/// What a model computes from a text.
public enum ModelTask: Sendable, Equatable {
    /// A sentence vector: pooled token vectors, optionally scaled to unit length.
    case embedding(pooling: Kernels.Pooling, normalize: Bool)
    /// Probabilities over the labels, in label order.
    case classification(labels: [String])

    /// `embedding` or `classification`.
    public var name: String {
        switch self {
        case .embedding: "embedding"
        case .classification: "classification"
        }
    }
}
