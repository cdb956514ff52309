import Foundation
import ShoalTensor

/// BERT and its distilled variants with the same layout (MiniLM): `model_type` "bert".
enum Bert: Architecture {
    static let modelType = "bert"

    /// The keys of a transformers `BertConfig` the engine reads.
    struct Configuration: Decodable {
        var hiddenSize: Int
        var numHiddenLayers: Int
        var numAttentionHeads: Int
        var intermediateSize: Int
        var maxPositionEmbeddings: Int
        var vocabSize: Int
        var typeVocabSize: Int?
        var layerNormEps: Double?
        var hiddenAct: String?
        var positionEmbeddingType: String?
    }

    static func configuration(from data: Data, path: String) throws -> ArchitectureConfiguration {
        let bert = try decodeConfiguration(Configuration.self, from: data, path: path)
        let common = try decodeConfiguration(CommonConfiguration.self, from: data, path: path)
        if let kind = bert.positionEmbeddingType, kind != "absolute" {
            throw ModelError.invalidConfiguration(
                path: path, reason: "position_embedding_type \"\(kind)\" is not supported; supported: absolute")
        }
        let encoder = EncoderConfiguration(
            hiddenSize: bert.hiddenSize, layers: bert.numHiddenLayers, heads: bert.numAttentionHeads,
            intermediateSize: bert.intermediateSize, maxPositions: bert.maxPositionEmbeddings,
            vocabularySize: bert.vocabSize, typeVocabularySize: bert.typeVocabSize ?? 2,
            layerNormEpsilon: Float(bert.layerNormEps ?? 1e-12),
            activation: try EncoderConfiguration.activation(named: bert.hiddenAct ?? "gelu", path: path))
        return ArchitectureConfiguration(
            encoder: encoder, architectures: common.architectures ?? [], labels: try common.labels(path: path))
    }

    static func network(tensors: SafeTensors, configuration: ArchitectureConfiguration, classifier: Bool,
                        provider: GemmProvider) throws -> Network {
        let c = configuration.encoder
        let h = c.hiddenSize
        let weights = WeightReader(
            tensors: tensors, probe: "embeddings.word_embeddings.weight", prefixes: ["bert.", ""],
            provider: provider)
        let embeddings = TransformerEncoder.Embeddings(
            word: try weights.tensor("embeddings.word_embeddings.weight", [c.vocabularySize, h]),
            position: try weights.tensor("embeddings.position_embeddings.weight", [c.maxPositions, h]),
            type: try weights.tensor("embeddings.token_type_embeddings.weight", [max(c.typeVocabularySize, 1), h]),
            norm: try weights.norm("embeddings.LayerNorm", width: h))
        let layers = try (0..<c.layers).map { i in
            let p = "encoder.layer.\(i)."
            return TransformerEncoder.Layer(
                qkv: try weights.fusedQKV(
                    [p + "attention.self.query", p + "attention.self.key", p + "attention.self.value"],
                    hidden: h, headDimension: c.headDimension),
                attentionOutput: try weights.linear(p + "attention.output.dense", outputs: h, inputs: h),
                attentionNorm: try weights.norm(p + "attention.output.LayerNorm", width: h),
                intermediate: try weights.linear(p + "intermediate.dense", outputs: c.intermediateSize, inputs: h),
                output: try weights.linear(p + "output.dense", outputs: h, inputs: c.intermediateSize),
                outputNorm: try weights.norm(p + "output.LayerNorm", width: h))
        }
        let encoder = TransformerEncoder(configuration: c, embeddings: embeddings, layers: layers)
        guard classifier else { return Network(encoder: encoder, head: nil) }
        let labels = try classifierLabels(weights: weights, name: "classifier.weight", hidden: h, configured: configuration.labels)
        let head = ClassificationHead(
            layers: [
                (try weights.linear("pooler.dense", outputs: h, inputs: h), .tanh),
                (try weights.linear("classifier", outputs: labels.count, inputs: h, prefixed: false), .none),
            ], labels: labels)
        return Network(encoder: encoder, head: head)
    }
}

/// Label names of a classifier: `id2label` in index order, or `LABEL_i` when the config has none.
func classifierLabels(weights: WeightReader, name: String, hidden: Int, configured: [Int: String]) throws -> [String] {
    guard let shape = weights.tensors.shape(of: name) else { throw ModelError.missingTensor(name: name) }
    guard shape.count == 2, shape[1] == hidden, shape[0] > 0 else {
        throw ModelError.shapeMismatch(name: name, expected: [configured.count, hidden], actual: shape)
    }
    return (0..<shape[0]).map { configured[$0] ?? "LABEL_\($0)" }
}
