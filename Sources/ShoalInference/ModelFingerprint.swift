import Foundation
import ShoalStore

/// The identity of a model's files: two folders with the same fingerprint load into one shared `Model`.
enum ModelFingerprint {
    /// The files whose bytes decide what a model computes.
    static let files = ["model.safetensors", "config.json", "tokenizer.json"]

    /// The store's content digest (`FileDigest.contentDigest`) of those files; blocking file I/O, call it off
    /// the cooperative pool.
    static func compute(folder: URL) throws -> String {
        let digests = try files.map { name in
            do {
                return (path: name, sha256: try FileDigest.rememberedSHA256(file: folder.appendingPathComponent(name)))
            } catch {
                throw InferenceError.modelUnavailable(name: folder.lastPathComponent, reason: "\(error)")
            }
        }
        return FileDigest.contentDigest(digests)
    }
}
