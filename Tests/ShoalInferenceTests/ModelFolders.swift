import Foundation
import ShoalTesting

/// A temporary directory of tiny model folders, removed when the value is dropped.
final class ModelFolders: Sendable {
    let root: URL

    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-inference-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    /// Writes a tiny embedding model called `name`.
    @discardableResult
    func embedding(_ name: String, seed: UInt64 = 1) throws -> URL {
        let folder = root.appendingPathComponent(name)
        try TinyModel.write(to: folder, architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: seed)
        return folder
    }

    /// Writes a tiny classifier called `name`.
    @discardableResult
    func classifier(_ name: String, seed: UInt64 = 2) throws -> URL {
        let folder = root.appendingPathComponent(name)
        try TinyModel.write(
            to: folder, architecture: .distilbert, task: .classification(labels: ["NEGATIVE", "POSITIVE"]), seed: seed)
        return folder
    }

    /// Writes a model folder whose weights file is cut short.
    func corrupt(_ name: String) throws {
        let folder = try embedding(name, seed: 3)
        let weights = folder.appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
    }

    /// Adds `name` as a symbolic link to the folder of `target`.
    func link(_ name: String, to target: String) throws {
        try FileManager.default.createSymbolicLink(
            at: root.appendingPathComponent(name), withDestinationURL: root.appendingPathComponent(target))
    }
}
