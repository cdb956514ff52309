import Foundation
import ShoalModels
import ShoalStore
import ShoalTesting
import Testing

@Suite("Folder store: import, versions, verify, remove, derive, copy")
struct FileSystemStoreTests {
    @Test("plain objects are written once, whole, never replaced, and listed by folder")
    func objects() async throws {
        let folder = try TemporaryFolder()
        let backend = FileSystemBackend(root: folder.child("store"))
        #expect(try await backend.list("results/run-1").isEmpty)
        try await backend.write(Data("b".utf8), to: "results/run-1/b.json")
        try await backend.write(Data("a".utf8), to: "results/run-1/a.json")
        try await backend.write(Data("x".utf8), to: "results/run-10/x.json")
        await #expect(throws: StoreError.objectExists(folder.child("store/results/run-1/a.json").path)) {
            try await backend.write(Data("again".utf8), to: "results/run-1/a.json")
        }
        #expect(try await backend.list("results/run-1") == ["results/run-1/a.json", "results/run-1/b.json"])
        #expect(try await backend.read("results/run-1/a.json") == Data("a".utf8))
        // No staged copy is left beside the objects, even after a refused write.
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.child("store/results/run-1").path).sorted() == ["a.json", "b.json"])
    }

    @Test("import publishes a checked manifest with files, footprint and profile; latest is the highest version")
    func importAndVersions() async throws {
        let folder = try TemporaryFolder()
        let source = try Fixtures.embeddingModel(at: folder.child("tiny"))
        try Data("# notes".utf8).write(to: source.appendingPathComponent("README.md"))
        let store = Fixtures.store(folder.child("store"))
        let importer = try Fixtures.importer(store, profileSeconds: 0.01)
        let first = try await importer.importFolder(source, name: "tiny")
        #expect(first.version == "1")
        #expect(first.task == "embedding")
        #expect(first.architecture == "bert")
        #expect(first.dimensions == TinyModel.hiddenSize)
        #expect(first.files.map(\.path).contains("model.safetensors"))
        #expect(first.files.map(\.path).contains("1_Pooling/config.json"))
        #expect(!first.files.map(\.path).contains("README.md"))
        let loaded = try Model(folder: source)
        #expect(first.footprint.weightBytes == loaded.parameterBytes)
        #expect(first.footprint.activationBytesPerToken == loaded.activationBytesPerToken)
        #expect(first.maxSequenceLength == loaded.maxSequenceLength)
        #expect(first.profile?.measurements.count == 3)
        #expect(first.profile?.measurements.allSatisfy { $0.latencyP50Ms > 0 && $0.sequencesPerSecond > 0 } == true)
        let weights = try FileDigest.sha256(file: source.appendingPathComponent("model.safetensors"))
        #expect(first.files.first { $0.path == "model.safetensors" }?.sha256 == weights.sha256)

        let second = try await importer.importFolder(source, name: "tiny")
        #expect(second.version == "2")
        #expect(try await store.versions(of: "tiny") == ["1", "2"])
        #expect(try await store.manifest(ModelReference(parsing: "tiny")).version == "2")
        #expect(try await store.manifest(ModelReference(parsing: "tiny@1")) == first)
        #expect(try await store.names() == ["tiny"])
        // The published folder loads as a model folder as it is.
        let published = try #require(store.localFolder(second))
        #expect(try Model(folder: published).dimensions == TinyModel.hiddenSize)
    }

    @Test("a folder of links to files elsewhere (a Hugging Face cache snapshot) imports the files they point to")
    func followsLinks() async throws {
        let folder = try TemporaryFolder()
        let blobs = try Fixtures.embeddingModel(at: folder.child("blobs"))
        let snapshot = folder.child("snapshot")
        let files = FileManager.default
        for case let path as String in files.enumerator(atPath: blobs.path)! {
            let source = blobs.appendingPathComponent(path), link = snapshot.appendingPathComponent(path)
            var isFolder: ObjCBool = false
            _ = files.fileExists(atPath: source.path, isDirectory: &isFolder)
            try files.createDirectory(at: isFolder.boolValue ? link : link.deletingLastPathComponent(), withIntermediateDirectories: true)
            if !isFolder.boolValue { try files.createSymbolicLink(at: link, withDestinationURL: source) }
        }
        let store = Fixtures.store(folder.child("store"))
        let manifest = try await Fixtures.importer(store).importFolder(snapshot, name: "linked")
        let weights = try FileDigest.sha256(file: blobs.appendingPathComponent("model.safetensors"))
        #expect(manifest.files.first { $0.path == "model.safetensors" }?.sha256 == weights.sha256)
        #expect(manifest.files.map(\.path).contains("1_Pooling/config.json"))
        let published = try #require(store.localFolder(manifest))
        let link = try? files.destinationOfSymbolicLink(atPath: published.appendingPathComponent("model.safetensors").path)
        #expect(link == nil, "the store holds a copy, not a link")
        #expect(try Model(folder: published).dimensions == TinyModel.hiddenSize)
    }

    @Test("a model the engine cannot load, or one with non-finite outputs, is refused and nothing is published")
    func refusesBrokenModels() async throws {
        let folder = try TemporaryFolder()
        let source = try Fixtures.embeddingModel(at: folder.child("tiny"))
        let store = Fixtures.store(folder.child("store"))
        try Data("{\"model_type\": \"gpt-17\"}".utf8).write(to: source.appendingPathComponent("config.json"))
        await #expect(throws: StoreError.self) { try await Fixtures.importer(store).importFolder(source, name: "broken") }

        let nan = folder.child("nan")
        try TinyModel.write(to: nan, architecture: .bert, task: .embedding(pooling: .mean, normalize: false), seed: 1)
        try Self.poisonWeights(nan.appendingPathComponent("model.safetensors"))
        do {
            _ = try await Fixtures.importer(store).importFolder(nan, name: "nan")
            Issue.record("a model with NaN weights must not be imported")
        } catch let error as StoreError {
            #expect(error.description.contains("not finite"))
        }
        #expect(try await store.names().isEmpty)
    }

    @Test("a file corrupted after publishing fails verify with the file named and what to do")
    func corruptionIsDetected() async throws {
        let folder = try TemporaryFolder()
        let store = Fixtures.store(folder.child("store"))
        let manifest = try await Fixtures.importer(store).importFolder(try Fixtures.embeddingModel(at: folder.child("tiny")), name: "tiny")
        #expect(try await store.verify(ModelReference(parsing: "tiny")).id == "tiny@1")
        let weights = try #require(store.localFolder(manifest)).appendingPathComponent("model.safetensors")
        try Self.flipByte(weights, at: 200)
        do {
            _ = try await store.verify(ModelReference(parsing: "tiny"))
            Issue.record("verify must fail")
        } catch let error as StoreError {
            guard case .checksumMismatch(let model, let file, _, _) = error else {
                Issue.record("expected a checksum mismatch, got \(error)")
                return
            }
            #expect(model == "tiny@1" && file == "model.safetensors")
            #expect(error.description.contains("shoal models rm"))
        }
        let second = try await Fixtures.importer(store).importFolder(folder.child("tiny"), name: "tiny")
        let tokenizer = try #require(store.localFolder(second)).appendingPathComponent("tokenizer.json")
        chmod(tokenizer.path, 0o644)
        try Data("{}".utf8).write(to: tokenizer)
        await #expect(throws: StoreError.missingFile(model: "tiny@2", file: "tokenizer.json")) {
            _ = try await store.verify(ModelReference(parsing: "tiny@2"))
        }
    }

    @Test("concurrent imports of one name each get their own complete version")
    func concurrentImports() async throws {
        let folder = try TemporaryFolder()
        let source = try Fixtures.embeddingModel(at: folder.child("tiny"))
        let store = Fixtures.store(folder.child("store"))
        let manifest = try await Fixtures.importer(store).importFolder(source, name: "tiny")
        let files = manifest.files.map { StagedFile(path: $0.path, source: source.appendingPathComponent($0.path), size: $0.size) }
        let versions = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<12 {
                group.addTask { try await store.publish(manifest, files: files).version }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(versions).count == 12)
        #expect(try await store.versions(of: "tiny") == (1...13).map(String.init))
        for version in 1...13 {
            _ = try await store.verify(ModelReference(name: "tiny", version: "\(version)"))
        }
        await #expect(throws: StoreError.versionExists("tiny@3")) {
            _ = try await store.publish(manifest, files: files, version: "3")
        }
    }

    @Test("what an interrupted import leaves aside is never listed")
    func stagingIsInvisible() async throws {
        let folder = try TemporaryFolder()
        let root = folder.child("store")
        let store = Fixtures.store(root)
        _ = try await Fixtures.importer(store).importFolder(try Fixtures.embeddingModel(at: folder.child("tiny")), name: "tiny")
        let staging = root.appendingPathComponent(".staging/half")
        try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        try Data("partial".utf8).write(to: staging.appendingPathComponent("model.safetensors"))
        try FileManager.default.createDirectory(at: root.appendingPathComponent("models/ghost"), withIntermediateDirectories: true)
        #expect(try await store.names() == ["tiny"])
        #expect(try await store.versions(of: "tiny") == ["1"])
    }

    @Test("derive publishes heads that name their base; the base cannot be removed while they exist")
    func deriveAndRemove() async throws {
        let folder = try TemporaryFolder()
        let store = Fixtures.store(folder.child("store"))
        let importer = try Fixtures.importer(store)
        let base = try await importer.importFolder(try Fixtures.embeddingModel(at: folder.child("tiny")), name: "base")
        let heads = [
            ("sentiment", try Fixtures.head(at: folder.child("h1"))),
            ("topic", try Fixtures.head(at: folder.child("h2"), labels: ["a", "b", "c"], seed: 2)),
        ]
        let derived = try await importer.derive(base: ModelReference(parsing: "base"), heads: heads)
        #expect(derived.map(\.id) == ["sentiment@1", "topic@1"])
        #expect(derived[1].labels == ["a", "b", "c"])
        #expect(derived[1].task == "classification")
        #expect(derived[1].base == .init(name: "base", version: "1"))
        #expect(derived[1].files.map(\.path) == ["head.json", "head.safetensors"])
        #expect(derived[1].footprint.weightBytes >= (3 * TinyModel.hiddenSize + 3) * 4)
        #expect(derived[1].footprint.weightBytes < base.footprint.weightBytes / 10)

        do {
            _ = try await store.remove(ModelReference(parsing: "base@1"))
            Issue.record("removing a base in use must fail")
        } catch let error as StoreError {
            #expect(error == .inUse("base@1", dependents: ["sentiment@1", "topic@1"]))
            #expect(error.description.contains("--force"))
        }
        _ = try await store.remove(ModelReference(parsing: "sentiment@1"))
        _ = try await store.remove(ModelReference(parsing: "topic@1"))
        _ = try await store.remove(ModelReference(parsing: "base@1"))
        #expect(try await store.names().isEmpty)
        await #expect(throws: StoreError.notFound("base")) { _ = try await store.manifest(ModelReference(parsing: "base")) }
    }

    @Test("a head over a classifier, or a head of the wrong width, is refused")
    func deriveRefusals() async throws {
        let folder = try TemporaryFolder()
        let store = Fixtures.store(folder.child("store"))
        let importer = try Fixtures.importer(store)
        _ = try await importer.importFolder(try Fixtures.embeddingModel(at: folder.child("tiny")), name: "base")
        let wide = folder.child("wide")
        try TinyHead.write(to: wide, labels: ["a"], inputs: TinyModel.hiddenSize + 1, seed: 1)
        await #expect(throws: StoreError.self) {
            _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: [("wide", wide)])
        }
        await #expect(throws: StoreError.self) {
            _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: [("empty", folder.child("nothing"))])
        }
        #expect(try await store.names() == ["base"])
    }

    @Test("derive refuses a set of heads with one of non-finite weights, publishing none, and a base whose files no longer match their manifest")
    func deriveChecksHeadsAndBase() async throws {
        let folder = try TemporaryFolder()
        let store = Fixtures.store(folder.child("store"))
        let importer = try Fixtures.importer(store)
        let base = try await importer.importFolder(try Fixtures.embeddingModel(at: folder.child("tiny")), name: "base")
        let good = try Fixtures.head(at: folder.child("good"))
        let broken = try Fixtures.head(at: folder.child("broken"), seed: 3)
        try Self.poisonWeights(broken.appendingPathComponent("head.safetensors"))
        do {
            _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: [("good", good), ("broken", broken)])
            Issue.record("a head with NaN weights must be refused")
        } catch let error as StoreError {
            #expect(error.description.contains("not finite"), "\(error)")
        }
        // Every head is checked before any is published.
        #expect(try await store.versions(of: "broken").isEmpty)
        #expect(try await store.versions(of: "good").isEmpty)

        let weights = try #require(store.localFolder(base)).appendingPathComponent("model.safetensors")
        try Self.flipByte(weights, at: 300)
        await #expect(throws: StoreError.checksumMismatch(
            model: "base@1", file: "model.safetensors",
            expected: base.files.first { $0.path == "model.safetensors" }?.sha256 ?? "",
            actual: try FileDigest.sha256(file: weights).sha256)) {
            _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: [("late", good)])
        }
    }

    @Test("derive publishes many heads at once, each under its own name and checked against its own weights")
    func deriveMany() async throws {
        let folder = try TemporaryFolder()
        let store = Fixtures.store(folder.child("store"))
        let importer = try Fixtures.importer(store)
        _ = try await importer.importFolder(try Fixtures.embeddingModel(at: folder.child("tiny")), name: "base")
        let heads = try (0..<40).map { ("head-\($0)", try Fixtures.head(at: folder.child("heads/\($0)"), seed: UInt64($0 + 1))) }
        let published = try await importer.derive(base: ModelReference(parsing: "base"), heads: heads, width: 6)
        #expect(published.map(\.id) == heads.map { "\($0.0)@1" })
        for (manifest, head) in zip(published, heads) {
            let sha = try FileDigest.sha256(file: head.1.appendingPathComponent("head.safetensors")).sha256
            #expect(manifest.files.first { $0.path == "head.safetensors" }?.sha256 == sha)
            _ = try await store.verify(ModelReference(name: manifest.name, version: "1"))
        }
        #expect(try await store.names().count == 41)
    }

    @Test("copy moves a version with its base between stores, keeps its number, and is idempotent")
    func copyBetweenStores() async throws {
        let folder = try TemporaryFolder()
        let local = Fixtures.store(folder.child("a"))
        let remote = Fixtures.store(folder.child("b"))
        let importer = try Fixtures.importer(local)
        let source = try Fixtures.embeddingModel(at: folder.child("tiny"))
        _ = try await importer.importFolder(source, name: "base")
        _ = try await importer.importFolder(source, name: "base")
        _ = try await importer.derive(base: ModelReference(parsing: "base@2"), heads: [("head", try Fixtures.head(at: folder.child("h")))])
        let copied = try await local.copy(ModelReference(parsing: "head"), to: remote)
        #expect(copied.id == "head@1")
        #expect(try await remote.names() == ["base", "head"])
        #expect(try await remote.versions(of: "base") == ["2"])
        _ = try await remote.verify(ModelReference(parsing: "base@2"))
        #expect(try await local.copy(ModelReference(parsing: "head"), to: remote) == copied)

        // Another store's version 1 with other bytes is a conflict, not an overwrite.
        let other = Fixtures.store(folder.child("c"))
        _ = try await Fixtures.importer(other).importFolder(try Fixtures.embeddingModel(at: folder.child("tiny2"), seed: 77), name: "base")
        _ = try await other.copy(ModelReference(parsing: "base@1"), to: remote)
        await #expect(throws: StoreError.self) {
            _ = try await local.copy(ModelReference(parsing: "base@1"), to: remote)
        }
    }

    /// Sets every float of a safetensors file to NaN.
    static func poisonWeights(_ url: URL) throws {
        var data = try Data(contentsOf: url)
        let headerLength = data.prefix(8).enumerated().reduce(0) { $0 | (Int($1.element) << (8 * $1.offset)) }
        let start = 8 + headerLength
        let nan = Float.nan.bitPattern
        for offset in stride(from: start, to: data.count - 3, by: 4) {
            data[offset] = UInt8(nan & 0xff)
            data[offset + 1] = UInt8((nan >> 8) & 0xff)
            data[offset + 2] = UInt8((nan >> 16) & 0xff)
            data[offset + 3] = UInt8(nan >> 24)
        }
        try data.write(to: url)
    }

    /// Inverts one byte of a (read-only) published file.
    static func flipByte(_ url: URL, at offset: Int) throws {
        chmod(url.path, 0o644)
        var data = try Data(contentsOf: url)
        data[offset] ^= 0xff
        try data.write(to: url)
    }
}
