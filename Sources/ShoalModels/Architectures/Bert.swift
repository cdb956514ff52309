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

    static let tensorNames = TensorNames(
        prefix: "bert.", typeEmbeddings: "embeddings.token_type_embeddings.weight", layer: "encoder.layer.",
        query: "attention.self.query", key: "attention.self.key", value: "attention.self.value",
        attentionOutput: "attention.output.dense", attentionNorm: "attention.output.LayerNorm",
        intermediate: "intermediate.dense", output: "output.dense", outputNorm: "output.LayerNorm",
        headInput: (name: "pooler.dense", prefixed: true, activation: .tanh))
}
