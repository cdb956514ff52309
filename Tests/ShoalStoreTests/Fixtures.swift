import Foundation
import ShoalImporter
import ShoalStore
import ShoalTesting

/// Tiny model folders and stores for the tests.
enum Fixtures {
    /// Writes a tiny BERT embedding model folder.
    static func embeddingModel(at folder: URL, seed: UInt64 = 5) throws -> URL {
        try TinyModel.write(to: folder, architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: seed)
        return folder
    }

    /// Writes a classifier head folder for the tiny models.
    static func head(at folder: URL, labels: [String] = ["negative", "positive"], seed: UInt64 = 9) throws -> URL {
        try TinyHead.write(to: folder, labels: labels, inputs: TinyModel.hiddenSize, seed: seed)
        return folder
    }

    /// An importer that skips profiling, so tests stay fast.
    static func importer(_ store: ModelStore, profileSeconds: Double = 0) throws -> ModelImporter {
        try ModelImporter(store: store, options: .init(threads: 1, profileSeconds: profileSeconds))
    }

    /// A folder store under `folder`.
    static func store(_ folder: URL) -> ModelStore {
        ModelStore(backend: FileSystemBackend(root: folder))
    }
}
