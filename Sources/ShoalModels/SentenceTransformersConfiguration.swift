import Foundation
import ShoalTensor

/// The sentence-transformers files of an embedding model folder: modules, pooling, normalisation, max length.
struct SentenceTransformersConfiguration: Sendable, Equatable {
    var pooling: Kernels.Pooling = .mean
    var normalize = false
    var maxSequenceLength: Int?

    private struct Module: Decodable {
        var type: String
        var path: String?
    }

    private struct PoolingFile: Decodable {
        var poolingModeClsToken: Bool?
        var poolingModeMeanTokens: Bool?
        var poolingModeMaxTokens: Bool?
        var poolingModeMeanSqrtLenTokens: Bool?
    }

    private struct SentenceBertFile: Decodable {
        var maxSeqLength: Int?
    }

    /// Reads what exists of `modules.json`, the pooling config and `sentence_bert_config.json`; a folder
    /// without them is a plain encoder, mean-pooled without normalisation.
    init(folder: URL) throws {
        let modulesURL = folder.appendingPathComponent("modules.json")
        var poolingPath = "1_Pooling"
        if let data = try readIfPresent(modulesURL) {
            let modules = try decodeConfiguration([Module].self, from: data, path: modulesURL.path)
            normalize = modules.contains { $0.type.hasSuffix(".Normalize") }
            if let pooling = modules.first(where: { $0.type.hasSuffix(".Pooling") }), let path = pooling.path {
                poolingPath = path
            }
        }
        let poolingURL = folder.appendingPathComponent(poolingPath).appendingPathComponent("config.json")
        if let data = try readIfPresent(poolingURL) {
            let file = try decodeConfiguration(PoolingFile.self, from: data, path: poolingURL.path)
            if file.poolingModeMeanSqrtLenTokens == true {
                throw ModelError.invalidConfiguration(
                    path: poolingURL.path, reason: "pooling_mode_mean_sqrt_len_tokens is not supported; use mean, cls or max")
            }
            let modes: [(Bool?, Kernels.Pooling)] = [
                (file.poolingModeClsToken, .cls), (file.poolingModeMeanTokens, .mean), (file.poolingModeMaxTokens, .max),
            ]
            let chosen = modes.filter { $0.0 == true }
            guard chosen.count == 1 else {
                throw ModelError.invalidConfiguration(
                    path: poolingURL.path, reason: "exactly one of pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_max_tokens must be true")
            }
            pooling = chosen[0].1
        }
        let bertURL = folder.appendingPathComponent("sentence_bert_config.json")
        if let data = try readIfPresent(bertURL) {
            maxSequenceLength = try decodeConfiguration(SentenceBertFile.self, from: data, path: bertURL.path).maxSeqLength
        }
    }
}

/// The contents of a file, nil when it does not exist, an error naming it when it cannot be read.
func readIfPresent(_ url: URL) throws -> Data? {
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    do {
        return try Data(contentsOf: url)
    } catch {
        throw ModelError.unreadableFile(path: url.path, reason: error.localizedDescription)
    }
}
