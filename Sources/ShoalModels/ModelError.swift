import Foundation

/// Everything that can go wrong while loading or running a model, each case saying what to do about it.
public enum ModelError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A file the model folder needs is absent.
    case missingFile(path: String)
    /// A file exists but cannot be read.
    case unreadableFile(path: String, reason: String)
    /// A safetensors file is truncated, malformed or internally inconsistent.
    case corruptSafeTensors(path: String, reason: String)
    /// A tensor the architecture needs is absent from the weights.
    case missingTensor(name: String)
    /// A tensor has a different shape than the configuration implies.
    case shapeMismatch(name: String, expected: [Int], actual: [Int])
    /// A tensor has a dtype the engine cannot convert to float32.
    case unsupportedDType(name: String, dtype: String)
    /// `config.json` names a `model_type` that no registered architecture handles.
    case unsupportedModelType(String, supported: [String])
    /// A configuration file is malformed or holds an invalid value.
    case invalidConfiguration(path: String, reason: String)
    /// The tokenizer could not be built from `tokenizer.json`.
    case tokenizer(path: String, reason: String)
    /// The caller passed input the model cannot take.
    case invalidInput(String)

    public var description: String {
        switch self {
        case .missingFile(let path):
            return "missing file \(path): a model folder needs config.json, model.safetensors and tokenizer.json"
        case .unreadableFile(let path, let reason):
            return "cannot read \(path): \(reason)"
        case .corruptSafeTensors(let path, let reason):
            return "corrupt safetensors file \(path): \(reason); re-download or re-export the weights"
        case .missingTensor(let name):
            return "the weights have no tensor named \(name); is this checkpoint of the architecture config.json names?"
        case .shapeMismatch(let name, let expected, let actual):
            return "tensor \(name) has shape \(actual) but the configuration implies \(expected)"
        case .unsupportedDType(let name, let dtype):
            return "tensor \(name) has dtype \(dtype); supported: F32, F16, BF16"
        case .unsupportedModelType(let type, let supported):
            return "unsupported model_type \"\(type)\"; supported: \(supported.joined(separator: ", "))"
        case .invalidConfiguration(let path, let reason):
            return "invalid configuration \(path): \(reason)"
        case .tokenizer(let path, let reason):
            return "cannot build the tokenizer from \(path): \(reason)"
        case .invalidInput(let reason):
            return "invalid input: \(reason)"
        }
    }
}
