import Foundation
import ShoalTensor

/// One model family: how to read its `config.json` and where its weights live.
protocol Architecture {
    /// The `model_type` value of `config.json` this architecture handles.
    static var modelType: String { get }
    /// Decodes `config.json`.
    static func configuration(from data: Data, path: String) throws -> ArchitectureConfiguration
    /// Builds the encoder and, for classifiers, the head from the checkpoint.
    static func network(tensors: SafeTensors, configuration: ArchitectureConfiguration, classifier: Bool,
                        provider: GemmProvider) throws -> Network
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
    static let all: [any Architecture.Type] = [Bert.self, DistilBert.self]

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
