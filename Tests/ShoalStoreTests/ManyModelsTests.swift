import Foundation
import ShoalInference
import ShoalTesting
@testable import ShoalStore
import Synchronization
import Testing

/// Names whose order differs between plain string order and S3 key order (`a-b/` < `a.b/` < `a/` < `a0/`).
let trickyNames = ["a", "a-b", "a.b", "a0", "a_b", "b", "b-1", "b-10", "b-2", "head-0", "head-1", "head-10", "head-2", "z"]

/// Publishes one tiny blob version of each name.
func publishBlobs(_ names: [String], to store: ModelStore, work: TemporaryFolder) async throws {
    let blob = try Fixtures.blob(at: work.child("blob.bin"), size: 64)
    _ = try await names.concurrentMap(width: 8) { name in
        try await store.publish(Fixtures.blobDraft(name: name), files: [StagedFile(path: "blob.bin", source: blob, size: 64)])
    }
}

/// Every model of `store` under `prefix`, page by page of `limit`, with the number of pages.
func pageThrough(_ store: ModelStore, prefix: String = "", limit: Int) async throws -> (names: [String], pages: Int) {
    var names: [String] = []
    var after: String?
    var pages = 0
    repeat {
        let page = try await store.models(prefix: prefix, after: after, limit: limit)
        #expect(page.models.count <= limit)
        #expect(page.models.allSatisfy { $0.versions == ["1"] })
        names += page.models.map(\.name)
        after = page.next
        pages += 1
    } while after != nil && pages < 100
    return (names, pages)
}

/// A folder backend that records what it is asked.
final class CountingBackend: StoreBackend {
    let inner: FileSystemBackend
    let calls = Mutex<[String]>([])

    init(root: URL) {
        inner = FileSystemBackend(root: root)
    }

    var recorded: [String] { calls.withLock { $0 } }
    private func record(_ call: String) { calls.withLock { $0.append(call) } }

    var description: String { inner.description }
    func catalog() async throws -> [ModelVersions] {
        record("catalog")
        return try await inner.catalog()
    }
    func models(prefix: String, after: String?, limit: Int) async throws -> (models: [ModelVersions], more: Bool) {
        record("models")
        return try await inner.models(prefix: prefix, after: after, limit: limit)
    }
    func versions(of name: String) async throws -> [String] {
        record("versions \(name)")
        return try await inner.versions(of: name)
    }
    func read(_ path: String) async throws -> Data? {
        record("read \(path)")
        return try await inner.read(path)
    }
    func download(_ path: String, size: Int64, to destination: URL, progress: TransferProgress?) async throws {
        try await inner.download(path, size: size, to: destination, progress: progress)
    }
    func publish(_ files: [StagedFile], manifest: Data, at folder: String, progress: TransferProgress?) async throws {
        try await inner.publish(files, manifest: manifest, at: folder, progress: progress)
    }
    func remove(_ folder: String, files: [String]) async throws {
        try await inner.remove(folder, files: files)
    }
    func write(_ data: Data, to path: String) async throws {
        try await inner.write(data, to: path)
    }
    func list(_ folder: String) async throws -> [String] {
        record("list \(folder)")
        return try await inner.list(folder)
    }
    func localURL(_ path: String) -> URL? { inner.localURL(path) }
}

@Suite("Many models: pages, lookups that list one model, the cache's use order")
struct ManyModelsTests {
    @Test("a folder store pages through every model once, in S3 key order, by prefix, skipping names without a version")
    func folderPages() async throws {
        let work = try TemporaryFolder()
        let store = Fixtures.store(work.child("store"))
        try await publishBlobs(trickyNames, to: store, work: work)
        try FileManager.default.createDirectory(at: work.child("store/models/ghost"), withIntermediateDirectories: true)
        let expected = trickyNames.sorted(by: ModelStore.listingOrder)
        #expect(expected.prefix(5) == ["a-b", "a.b", "a", "a0", "a_b"])
        for limit in [1, 4, 5, 100] {
            let (names, pages) = try await pageThrough(store, limit: limit)
            #expect(names == expected, "limit \(limit)")
            #expect(pages >= (expected.count + limit - 1) / limit)
        }
        #expect(try await pageThrough(store, prefix: "head-", limit: 3).names == ["head-0", "head-1", "head-10", "head-2"])
        #expect(try await store.models(prefix: "nothing", limit: 10).models.isEmpty)
        let last = try await store.models(after: "head-2", limit: 10)
        #expect(last.models.map(\.name) == ["z"])
        #expect(last.next == nil)
    }

    @Test("a page lists no other model's versions and reads no manifest; latest and the load path list only the model's versions")
    func lookupsListOneModel() async throws {
        let work = try TemporaryFolder()
        let backend = CountingBackend(root: work.child("store"))
        let store = ModelStore(backend: backend)
        let importer = try Fixtures.importer(store)
        _ = try await importer.importFolder(try Fixtures.embeddingModel(at: work.child("tiny")), name: "base")
        let heads = try (0..<12).map { ("head-\($0)", try Fixtures.head(at: work.child("heads/\($0)"), seed: UInt64($0 + 1))) }
        _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: heads)

        backend.calls.withLock { $0.removeAll() }
        let page = try await store.models(prefix: "head-", after: "head-1", limit: 2)
        #expect(page.models.map(\.name) == ["head-10", "head-11"])
        #expect(page.next == "head-11")
        #expect(backend.recorded == ["models"])

        backend.calls.withLock { $0.removeAll() }
        let source = try StoreSource(store: store, cache: nil)
        #expect(try await source.describe("head-7")?.version == "1")
        let location = try #require(try await source.locate("head-7"))
        #expect(location.base != nil)
        #expect(try await source.describe("missing") == nil)
        let listed = Set(backend.recorded.filter { !$0.hasPrefix("read ") })
        #expect(listed == ["versions head-7", "versions missing"], "\(backend.recorded)")
        #expect(Set(backend.recorded.filter { $0.hasPrefix("read ") })
            == ["read models/head-7/1/manifest.json", "read models/base/1/manifest.json"])
    }

    @Test("dependents reads each model's latest manifest once and finds the heads over a base")
    func dependents() async throws {
        let work = try TemporaryFolder()
        let backend = CountingBackend(root: work.child("store"))
        let store = ModelStore(backend: backend)
        let importer = try Fixtures.importer(store)
        let base = try await importer.importFolder(try Fixtures.embeddingModel(at: work.child("tiny")), name: "base")
        let heads = try (0..<5).map { ("head-\($0)", try Fixtures.head(at: work.child("heads/\($0)"), seed: UInt64($0 + 1))) }
        _ = try await importer.derive(base: ModelReference(parsing: "base"), heads: heads)
        try await publishBlobs(["other"], to: store, work: work)
        backend.calls.withLock { $0.removeAll() }
        #expect(try await store.dependents(of: base) == (0..<5).map { "head-\($0)@1" })
        #expect(backend.recorded.filter { $0.hasPrefix("versions") }.isEmpty)
        #expect(backend.recorded.filter { $0.hasPrefix("read") }.count == 7)
    }

    @Test("the list command prints one page and the name the next starts after, as text and JSON")
    func listCommandPages() async throws {
        let work = try TemporaryFolder()
        let store = Fixtures.store(work.child("store"))
        try await publishBlobs(trickyNames, to: store, work: work)
        let arguments = ["models", "list", "--store", work.child("store").path]
        let first = try await ShoalExecutable.run(arguments + ["--limit", "3", "--json"])
        #expect(first.status == 0, "\(first.error)")
        let page = try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any]
        let models = page?["models"] as? [[String: Any]] ?? []
        let names: [String] = models.compactMap { $0["name"] as? String }
        #expect(names == ["a-b", "a.b", "a"])
        #expect(page?["next"] as? String == "a")
        let text = try await ShoalExecutable.run(arguments + ["--prefix", "head-", "--after", "head-0", "--limit", "2"])
        #expect(text.status == 0, "\(text.error)")
        let firstColumn: [String] = text.output.split(separator: "\n").map { line in String(line.prefix { $0 != " " }) }
        #expect(firstColumn == ["NAME", "head-1", "head-10"])
        #expect(text.error.contains("--after head-10"))
        let end = try await ShoalExecutable.run(arguments + ["--after", "z", "--json"])
        #expect(end.output.contains("\"next\" : null"), "\(end.output)")
    }

    @Test("the cache evicts the least recently used version, and a new process reads the same use order from disk")
    func cacheEvictsLeastRecentlyUsed() async throws {
        let work = try TemporaryFolder()
        let store = Fixtures.store(work.child("remote"))
        try await publishBlobs(["a", "b", "c", "d"], to: store, work: work)
        let manifests = try await ["a", "b", "c", "d"].concurrentMap(width: 4) { try await store.manifest(ModelReference(parsing: $0)) }
        let cache = try ModelCache(root: work.child("cache"), limit: 3 * 64)
        func load(_ index: Int) async throws {
            #expect(try await cache.folder(for: manifests[index], from: store).lastPathComponent == "1")
        }
        func cached() -> [String] {
            cache.usageOrder().map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent }
        }
        for index in [0, 1, 2] { try await load(index) }
        #expect(cached() == ["a", "b", "c"])
        try await load(0)  // a is now the most recently used; b the least
        #expect(cached() == ["b", "c", "a"])
        try await load(3)
        #expect(cached() == ["c", "a", "d"])
        #expect(cache.size() == 3 * 64)
        let storeFolder = work.child("cache/\(ModelCache.storeKey(store))")
        #expect(["a", "b", "c", "d"].filter { FileManager.default.fileExists(atPath: storeFolder.appendingPathComponent("\($0)/1").path) }
            == ["a", "c", "d"])

        let reopened = try ModelCache(root: work.child("cache"), limit: 2 * 64)
        #expect(reopened.usageOrder() == cache.usageOrder())
        _ = try await reopened.folder(for: manifests[1], from: store)
        #expect(reopened.usageOrder().map { URL(fileURLWithPath: $0).deletingLastPathComponent().lastPathComponent } == ["d", "b"])
        #expect(reopened.size() == 2 * 64)

        // A damaged copy discarded is downloaded again on the next load.
        reopened.discard(manifests[1], from: store)
        #expect(reopened.size() == 64)
        _ = try await reopened.folder(for: manifests[1], from: store)
        #expect(reopened.size() == 2 * 64)
    }
}
