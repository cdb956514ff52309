import Foundation
import ShoalTensor

/// DistilBERT: `model_type` "distilbert", no token type embeddings, its own tensor names.
enum DistilBert: Architecture {
    static let modelType = "distilbert"

    /// The keys of a transformers `DistilBertConfig` the engine reads.
    struct Configuration: Decodable {
        var dim: Int
        var nLayers: Int
        var nHeads: Int
        var hiddenDim: Int
        var maxPositionEmbeddings: Int
        var vocabSize: Int
        var activation: String?
    }

    static func configuration(from data: Data, path: String) throws -> ArchitectureConfiguration {
        let distil = try decodeConfiguration(Configuration.self, from: data, path: path)
        let common = try decodeConfiguration(CommonConfiguration.self, from: data, path: path)
        let encoder = EncoderConfiguration(
            hiddenSize: distil.dim, layers: distil.nLayers, heads: distil.nHeads, intermediateSize: distil.hiddenDim,
            maxPositions: distil.maxPositionEmbeddings, vocabularySize: distil.vocabSize, typeVocabularySize: 0,
            layerNormEpsilon: 1e-12,
            activation: try EncoderConfiguration.activation(named: distil.activation ?? "gelu", path: path))
        return ArchitectureConfiguration(
            encoder: encoder, architectures: common.architectures ?? [], labels: try common.labels(path: path))
    }

    static let tensorNames = TensorNames(
        prefix: "distilbert.", typeEmbeddings: nil, layer: "transformer.layer.",
        query: "attention.q_lin", key: "attention.k_lin", value: "attention.v_lin",
        attentionOutput: "attention.out_lin", attentionNorm: "sa_layer_norm",
        intermediate: "ffn.lin1", output: "ffn.lin2", outputNorm: "output_layer_norm",
        headInput: (name: "pre_classifier", prefixed: false, activation: .relu))
}
