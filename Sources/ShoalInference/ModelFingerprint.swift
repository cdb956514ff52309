import Crypto
import Foundation

/// The identity of a model's files: two folders with the same fingerprint load into one shared `Model`.
enum ModelFingerprint {
    /// The files whose bytes decide what a model computes.
    static let files = ["model.safetensors", "config.json", "tokenizer.json"]

    /// The hex sha256 over each file's name, length and bytes; blocking file I/O, call it off the cooperative pool.
    static func compute(folder: URL) throws -> String {
        var hasher = SHA256()
        for name in files {
            let url = folder.appendingPathComponent(name)
            guard let handle = FileHandle(forReadingAtPath: url.path) else {
                throw InferenceError.modelUnavailable(name: folder.lastPathComponent, reason: "cannot read \(url.path)")
            }
            defer { try? handle.close() }
            let size = try handle.seekToEnd()
            try handle.seek(toOffset: 0)
            hasher.update(data: Data("\(name)\0\(size)\0".utf8))
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
            }
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
