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

    static func network(tensors: SafeTensors, configuration: ArchitectureConfiguration, classifier: Bool,
                        provider: GemmProvider) throws -> Network {
        let c = configuration.encoder
        let h = c.hiddenSize
        let weights = WeightReader(
            tensors: tensors, probe: "embeddings.word_embeddings.weight", prefixes: ["distilbert.", ""],
            provider: provider)
        let embeddings = TransformerEncoder.Embeddings(
            word: try weights.tensor("embeddings.word_embeddings.weight", [c.vocabularySize, h]),
            position: try weights.tensor("embeddings.position_embeddings.weight", [c.maxPositions, h]),
            type: nil,
            norm: try weights.norm("embeddings.LayerNorm", width: h))
        let layers = try (0..<c.layers).map { i in
            let p = "transformer.layer.\(i)."
            return TransformerEncoder.Layer(
                qkv: try weights.fusedQKV(
                    [p + "attention.q_lin", p + "attention.k_lin", p + "attention.v_lin"],
                    hidden: h, headDimension: c.headDimension),
                attentionOutput: try weights.linear(p + "attention.out_lin", outputs: h, inputs: h),
                attentionNorm: try weights.norm(p + "sa_layer_norm", width: h),
                intermediate: try weights.linear(p + "ffn.lin1", outputs: c.intermediateSize, inputs: h),
                output: try weights.linear(p + "ffn.lin2", outputs: h, inputs: c.intermediateSize),
                outputNorm: try weights.norm(p + "output_layer_norm", width: h))
        }
        let encoder = TransformerEncoder(configuration: c, embeddings: embeddings, layers: layers)
        guard classifier else { return Network(encoder: encoder, head: nil) }
        let labels = try classifierLabels(weights: weights, name: "classifier.weight", hidden: h, configured: configuration.labels)
        let head = ClassificationHead(
            layers: [
                (try weights.linear("pre_classifier", outputs: h, inputs: h, prefixed: false), .relu),
                (try weights.linear("classifier", outputs: labels.count, inputs: h, prefixed: false), .none),
            ], labels: labels)
        return Network(encoder: encoder, head: head)
    }
}
