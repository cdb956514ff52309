import ShoalTensor

/// The shape of a BERT-family encoder, whatever names its `config.json` uses.
public struct EncoderConfiguration: Sendable, Equatable {
    public var hiddenSize: Int
    public var layers: Int
    public var heads: Int
    public var intermediateSize: Int
    public var maxPositions: Int
    public var vocabularySize: Int
    /// Zero when the architecture has no token type embeddings (DistilBERT).
    public var typeVocabularySize: Int
    public var layerNormEpsilon: Float
    public var activation: Activation

    /// Dimensions of one attention head.
    public var headDimension: Int { hiddenSize / heads }

    /// Checks the numbers an encoder relies on, naming the key at fault.
    func validate(path: String) throws {
        let positive: [(String, Int)] = [
            ("hidden_size", hiddenSize), ("num_hidden_layers", layers), ("num_attention_heads", heads),
            ("intermediate_size", intermediateSize), ("max_position_embeddings", maxPositions),
            ("vocab_size", vocabularySize),
        ]
        for (key, value) in positive where value <= 0 {
            throw ModelError.invalidConfiguration(path: path, reason: "\(key) must be positive, got \(value)")
        }
        guard hiddenSize % heads == 0 else {
            throw ModelError.invalidConfiguration(
                path: path, reason: "hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(heads)")
        }
    }

    /// Parses `hidden_act` / `activation`: the encoder's feed-forward non-linearity.
    static func activation(named name: String, path: String) throws -> Activation {
        switch name {
        case "gelu", "gelu_python": return .gelu
        case "relu": return .relu
        default:
            throw ModelError.invalidConfiguration(
                path: path, reason: "activation \"\(name)\" is not supported; supported: gelu, relu")
        }
    }
}
