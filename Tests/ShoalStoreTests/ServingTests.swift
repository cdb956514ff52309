import Foundation
import MetricsTestKit
import ShoalInference
import ShoalModels
import ShoalStore
import ShoalTensor
import ShoalTesting
import Testing

@Suite("Serving from a store: derived heads, checksums, cache")
struct ServingTests {
    /// A folder store with an embedding base and `heads` classifier heads over it.
    static func storeWithHeads(_ work: TemporaryFolder, heads: Int) async throws -> ModelStore {
        let store = Fixtures.store(work.child("store"))
        let importer = try Fixtures.importer(store)
        _ = try await importer.importFolder(try Fixtures.embeddingModel(at: work.child("tiny")), name: "base")
        let list = try (0..<heads).map { index in
            ("head-\(index)", try Fixtures.head(at: work.child("heads/\(index)"), labels: ["no", "yes", "maybe"], seed: UInt64(index + 1)))
        }
        _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: list)
        return store
    }

    static func engine(_ source: any ModelSource, budget: Int? = nil, metrics: TestMetrics? = nil) throws -> Inference {
        var configuration = InferenceConfiguration()
        configuration.threads = 1
        configuration.limits.memoryBudget = budget
        if let metrics { configuration.metricsFactory = metrics }
        return try Inference(source: source, configuration: configuration)
    }

    @Test("derived models load their base once; each costs only its head and answers like Model(base:head:)")
    func headsShareTheirBase() async throws {
        let work = try TemporaryFolder()
        let store = try await Self.storeWithHeads(work, heads: 3)
        let engine = try Self.engine(try StoreSource(store: store, cache: nil))
        let base = try Model(folder: work.child("tiny"))
        let headModel = try Model(base: base, head: work.child("heads/1"))
        let expected = try headModel(["the cat sat"], on: ComputePool(threads: 1))
        try await withRunningEngine(engine) {
            let first = try await engine.infer(model: "head-0", texts: ["hello world"])
            #expect(first.outputs[0].count == 3)
            let afterOne = engine.memoryUsed
            #expect(afterOne == base.parameterBytes + headModel.parameterBytes)
            let second = try await engine.infer(model: "head-1", texts: ["the cat sat"])
            #expect(engine.memoryUsed - afterOne == headModel.parameterBytes)
            for (a, b) in zip(second.outputs[0], expected[0]) { #expect(abs(a - b) < 1e-5) }
            _ = try await engine.infer(model: "base", texts: ["the cat sat"])
            #expect(engine.memoryUsed == base.parameterBytes + 2 * headModel.parameterBytes)
            #expect(try await engine.index().map(\.name) == ["base", "head-0", "head-1", "head-2"])
        }
    }

    @Test("heads first asked for at the same time wait for one load of their base, within a budget with room for one")
    func concurrentHeadsLoadTheirBaseOnce() async throws {
        let work = try TemporaryFolder()
        let store = try await Self.storeWithHeads(work, heads: 6)
        let base = try Model(folder: work.child("tiny"))
        let head = try Model(base: base, head: work.child("heads/0")).parameterBytes
        // Room for the base once and every head, not for a second copy of the base while it loads.
        let engine = try Self.engine(try StoreSource(store: store, cache: nil), budget: base.parameterBytes * 3 / 2 + 6 * head)
        try await withRunningEngine(engine) {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<6 {
                    group.addTask { try await engine.infer(model: "head-\(index)", texts: ["at once"]).outputs[0].count }
                }
                for try await labels in group { #expect(labels == 3) }
            }
            #expect(engine.memoryUsed == base.parameterBytes + 6 * head)
        }
    }

    @Test("under a memory budget, heads are evicted and loaded on demand while their base stays")
    func headsUnderBudget() async throws {
        let work = try TemporaryFolder()
        let store = try await Self.storeWithHeads(work, heads: 6)
        let base = try Model(folder: work.child("tiny"))
        let head = try Model(base: base, head: work.child("heads/0")).parameterBytes
        let budget = base.parameterBytes + 2 * head
        let engine = try Self.engine(try StoreSource(store: store, cache: nil), budget: budget)
        try await withRunningEngine(engine) {
            for round in 0..<2 {
                for index in 0..<6 {
                    let result = try await engine.infer(model: "head-\(index)", texts: ["round \(round)"])
                    #expect(result.outputs[0].count == 3)
                    #expect(engine.memoryUsed <= budget)
                }
            }
            #expect(engine.memoryUsed == budget)
        }
    }

    @Test("under a budget, heads evict the least recently used, and the base is loaded once even with room for one head")
    func headsEvictInLeastRecentlyUsedOrderAndTheBaseStays() async throws {
        let work = try TemporaryFolder()
        let store = try await Self.storeWithHeads(work, heads: 4)
        let base = try Model(folder: work.child("tiny"))
        let head = try Model(base: base, head: work.child("heads/0")).parameterBytes
        let metrics = TestMetrics()
        let engine = try Self.engine(try StoreSource(store: store, cache: nil), budget: base.parameterBytes + 2 * head, metrics: metrics)
        try await withRunningEngine(engine) { () async throws in
            // Room for two heads: head-0 is used again after head-1, so head-2 evicts head-1, the least recently
            // used; then head-3 evicts head-0.
            for name in ["head-0", "head-1", "head-0", "head-2", "head-3"] {
                #expect(try await engine.infer(model: name, texts: ["a"]).outputs[0].count == 3, "\(name)")
            }
            #expect(try await engine.statistics(model: "head-1").evictions == 1)
            #expect(try await engine.statistics(model: "head-0").evictions == 1)
            #expect(try await engine.statistics(model: "head-0").cacheHits == 1)
            #expect(try await engine.statistics(model: "head-2").evictions == 0)
            #expect(try await engine.index().filter { $0.state == .ready }.map(\.name).sorted() == ["head-2", "head-3"])
        }
        #expect(try metrics.expectCounter("shoal_loads_total", [("outcome", "loaded")]).totalValue == 1 + 4)
        // Room for one head: each head evicts the only other one, which leaves the base unheld for a moment;
        // the base is still loaded once for eight head loads.
        let tightMetrics = TestMetrics()
        let tight = try Self.engine(try StoreSource(store: store, cache: nil), budget: base.parameterBytes + head, metrics: tightMetrics)
        try await withRunningEngine(tight) {
            for round in 0..<2 {
                for index in 0..<4 { _ = try await tight.infer(model: "head-\(index)", texts: ["round \(round)"]) }
            }
            #expect(try await tight.statistics(model: "head-0").loads == 2)
        }
        #expect(try tightMetrics.expectCounter("shoal_loads_total", [("outcome", "loaded")]).totalValue == 1 + 8)
    }

    @Test("a file corrupted after publishing is refused by checksum; the other models are still served")
    func corruptFileRefused() async throws {
        let work = try TemporaryFolder()
        let store = try await Self.storeWithHeads(work, heads: 1)
        let other = try await Fixtures.importer(store).importFolder(
            try Fixtures.embeddingModel(at: work.child("other"), seed: 11), name: "other")
        let weights = try #require(store.localFolder(other)).appendingPathComponent("model.safetensors")
        try FileSystemStoreTests.flipByte(weights, at: 300)
        let engine = try Self.engine(try StoreSource(store: store, cache: nil))
        try await withRunningEngine(engine) {
            do {
                _ = try await engine.infer(model: "other", texts: ["x"])
                Issue.record("a corrupt model must not be served")
            } catch let error as InferenceError {
                #expect(error.description.contains("other@1: model.safetensors is corrupt"), "\(error)")
            }
            #expect(try await engine.infer(model: "head-0", texts: ["still served"]).outputs.count == 1)
            #expect(try await engine.infer(model: "base", texts: ["still served"]).outputs.count == 1)
            await #expect(throws: InferenceError.unknownModel("missing")) { _ = try await engine.infer(model: "missing", texts: ["x"]) }
        }
    }

    @Test("an S3 store is served through a local cache that checks sha256 and stays within its size", .timeLimit(.minutes(2)),
          .enabled(if: S3TestServer.isInstalled(.moto)))
    func servedFromS3() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        let local = try await Self.storeWithHeads(work, heads: 2)
        _ = try await Fixtures.importer(local).importFolder(try Fixtures.embeddingModel(at: work.child("other"), seed: 11), name: "other")
        let remote = try server.store()
        for name in ["head-0", "head-1", "other"] {
            _ = try await local.copy(ModelReference(parsing: name), to: remote)
        }
        let baseSize = try await remote.manifest(ModelReference(parsing: "base")).totalSize
        let otherSize = try await remote.manifest(ModelReference(parsing: "other")).totalSize
        // Room for the base and its heads, but not for "other" as well.
        let cache = try ModelCache(root: work.child("cache"), limit: baseSize + otherSize / 2)
        let engine = try Self.engine(try StoreSource(store: remote, cache: cache))
        try await withRunningEngine(engine) {
            #expect(try await engine.infer(model: "head-0", texts: ["a"]).outputs[0].count == 3)
            #expect(try await engine.infer(model: "head-1", texts: ["b"]).outputs[0].count == 3)
            #expect(cache.size() <= cache.limit)
            #expect(try await engine.infer(model: "other", texts: ["c"]).outputs.count == 1)
            #expect(cache.size() <= cache.limit)

            // A cached copy damaged on disk is noticed on the next load and fetched again.
            let key = try #require(FileManager.default.contentsOfDirectory(atPath: cache.root.path).first { !$0.hasPrefix(".") })
            let cachedWeights = cache.root.appendingPathComponent("\(key)/other/1/model.safetensors")
            try FileSystemStoreTests.flipByte(cachedWeights, at: 300)
            try await engine.unload(model: "other")
            #expect(try await engine.infer(model: "other", texts: ["c"]).outputs.count == 1)
            let refetched = try FileDigest.sha256(file: cachedWeights).sha256
            #expect(try await remote.manifest(ModelReference(parsing: "other")).files.first { $0.path == "model.safetensors" }?.sha256 == refetched)
        }
    }
}

/// Runs `body` with the engine running, then shuts the engine down.
func withRunningEngine<T: Sendable>(_ engine: Inference, _ body: @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await engine.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
