import Foundation
import ShoalInference
import ShoalModels

/// Runs texts through a model of the in-process engine, with the engine's tokenization, limits and batching,
/// as the server does.
public final class EngineBackend: BatchBackend {
    private let model: ServedModel
    /// `embedding` or `classification`, from the model's files.
    public let task: String

    /// Model `name` of `inference`, loaded now and held (never evicted) until the backend is released; the engine
    /// must be running.
    public init(inference: Inference, model name: String) async throws {
        model = try await inference.model(name)
        switch model.info.task {
        case .embedding: task = "embedding"
        case .classification: task = "classification"
        }
    }

    public func predict(_ texts: [String]) async throws -> [BatchPrediction] {
        while true {
            do {
                return Self.predictions(try await model.infer(texts))
            } catch InferenceError.overloaded(_, let seconds) {
                try await Task.sleep(for: .seconds(seconds))
            } catch let error as InferenceError {
                switch error {
                case .invalidInput, .inputTooLarge: throw BatchRefusal(reason: error.description)
                default: throw BatchError.inference(error.description)
                }
            }
        }
    }

    private static func predictions(_ result: InferenceResult) -> [BatchPrediction] {
        switch result.model.task {
        case .embedding:
            return result.outputs.map { .embedding($0) }
        case .classification(let labels):
            return result.outputs.map { row in
                let best = row.indices.max { row[$0] < row[$1] } ?? 0
                return .classification(label: labels.indices.contains(best) ? labels[best] : String(best), probabilities: row)
            }
        }
    }
}

/// One model folder, served under the name of the folder.
public struct FolderSource: ModelSource {
    /// The Hugging Face model folder.
    public let folder: URL
    /// The name the model is asked for by.
    public let name: String

    /// The model in `folder`, named after it.
    public init(folder: URL) {
        self.folder = folder
        name = folder.standardizedFileURL.lastPathComponent
    }

    public func models() async throws -> [ModelDescriptor] { [ModelDescriptor(name: name)] }

    public func describe(_ name: String) async throws -> ModelDescriptor? {
        name == self.name ? ModelDescriptor(name: name) : nil
    }

    public func locate(_ name: String) async throws -> ModelLocation? {
        name == self.name ? ModelLocation(folder: folder.resolvingSymlinksInPath()) : nil
    }
}
