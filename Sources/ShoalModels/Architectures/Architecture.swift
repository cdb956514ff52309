import Foundation
import ShoalTensor

/// One model family: how to read its `config.json` and where its weights live.
protocol Architecture {
    /// The `model_type` value of `config.json` this architecture handles.
    static var modelType: String { get }
    /// Decodes `config.json`.
    static func configuration(from data: Data, path: String) throws -> ArchitectureConfiguration
    /// Where the checkpoint keeps each tensor.
    static var tensorNames: TensorNames { get }
}

/// The names of a post-layer-norm encoder's tensors in one architecture's checkpoints.
struct TensorNames: Sendable {
    /// Prefix of the encoder's tensors in `…ForSequenceClassification` checkpoints.
    var prefix: String
    /// Token type embeddings, nil when the architecture has none.
    var typeEmbeddings: String?
    /// Prefix of layer `i`'s tensors, followed by `i.`.
    var layer: String
    var query, key, value, attentionOutput, attentionNorm, intermediate, output, outputNorm: String
    /// The dense layer between the first token's vector and the classifier.
    var headInput: (name: String, prefixed: Bool, activation: Activation)
}

extension Architecture {
    /// Builds the encoder and, for classifiers, the head from the checkpoint.
    static func network(tensors: SafeTensors, configuration: ArchitectureConfiguration, classifier: Bool,
                        provider: GemmProvider) throws -> Network {
        let names = tensorNames
        let c = configuration.encoder
        let h = c.hiddenSize
        let weights = WeightReader(
            tensors: tensors, probe: "embeddings.word_embeddings.weight", prefixes: [names.prefix, ""], provider: provider)
        let embeddings = TransformerEncoder.Embeddings(
            word: try weights.tensor("embeddings.word_embeddings.weight", [c.vocabularySize, h]),
            position: try weights.tensor("embeddings.position_embeddings.weight", [c.maxPositions, h]),
            type: try names.typeEmbeddings.map { try weights.tensor($0, [max(c.typeVocabularySize, 1), h]) },
            norm: try weights.norm("embeddings.LayerNorm", width: h))
        let layers = try (0..<c.layers).map { i in
            let p = names.layer + "\(i)."
            return TransformerEncoder.Layer(
                qkv: try weights.fusedQKV([p + names.query, p + names.key, p + names.value], hidden: h,
                                          headDimension: c.headDimension),
                attentionOutput: try weights.linear(p + names.attentionOutput, outputs: h, inputs: h),
                attentionNorm: try weights.norm(p + names.attentionNorm, width: h),
                intermediate: try weights.linear(p + names.intermediate, outputs: c.intermediateSize, inputs: h),
                output: try weights.linear(p + names.output, outputs: h, inputs: c.intermediateSize),
                outputNorm: try weights.norm(p + names.outputNorm, width: h))
        }
        let encoder = TransformerEncoder(configuration: c, embeddings: embeddings, layers: layers)
        guard classifier else { return Network(encoder: encoder, head: nil) }
        let labels = try classifierLabels(weights: weights, name: "classifier.weight", hidden: h, configured: configuration.labels)
        let input = names.headInput
        let head = ClassificationHead(
            layers: [
                (try weights.linear(input.name, outputs: h, inputs: h, prefixed: input.prefixed), input.activation),
                (try weights.linear("classifier", outputs: labels.count, inputs: h, prefixed: false), .none),
            ], labels: labels)
        return Network(encoder: encoder, head: head)
    }
}

/// What every architecture's `config.json` provides.
struct ArchitectureConfiguration: Sendable {
    var encoder: EncoderConfiguration
    var architectures: [String]
    var labels: [Int: String]
}

/// The compute graph of a loaded checkpoint.
struct Network: Sendable {
    var encoder: TransformerEncoder
    var head: ClassificationHead?
}

/// The architectures the engine runs, keyed by `model_type`.
enum ArchitectureRegistry {
    static var all: [any Architecture.Type] { [Bert.self, DistilBert.self] }

    /// The `model_type` values the engine supports, sorted.
    static var supported: [String] { all.map { $0.modelType }.sorted() }

    static func architecture(for modelType: String) throws -> any Architecture.Type {
        guard let found = all.first(where: { $0.modelType == modelType }) else {
            throw ModelError.unsupportedModelType(modelType, supported: supported)
        }
        return found
    }
}

/// Common keys of transformers' `PretrainedConfig`.
struct CommonConfiguration: Decodable {
    var modelType: String
    var architectures: [String]?
    var id2label: [String: String]?

    /// `id2label` with integer keys; malformed keys are an error naming them.
    func labels(path: String) throws -> [Int: String] {
        var labels: [Int: String] = [:]
        for (key, value) in id2label ?? [:] {
            guard let index = Int(key) else {
                throw ModelError.invalidConfiguration(path: path, reason: "id2label key \"\(key)\" is not an integer")
            }
            labels[index] = value
        }
        return labels
    }
}

/// Decodes a snake_case JSON configuration, turning decoding errors into errors that name the key.
func decodeConfiguration<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    let decoder = JSONDecoder()
    decoder.keyDecodingStrategy = .convertFromSnakeCase
    do {
        return try decoder.decode(type, from: data)
    } catch let DecodingError.keyNotFound(key, _) {
        throw ModelError.invalidConfiguration(path: path, reason: "missing key \(snakeCase(key.stringValue))")
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
        let key = context.codingPath.map { snakeCase($0.stringValue) }.joined(separator: ".")
        throw ModelError.invalidConfiguration(path: path, reason: "\(key): \(context.debugDescription)")
    } catch {
        throw ModelError.invalidConfiguration(path: path, reason: "not valid JSON")
    }
}

private func snakeCase(_ camel: String) -> String {
    camel.reduce(into: "") { result, character in
        if character.isUppercase {
            result += "_" + character.lowercased()
        } else {
            result.append(character)
        }
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
