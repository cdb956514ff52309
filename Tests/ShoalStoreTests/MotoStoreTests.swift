import Foundation
import ShoalTesting
@testable import ShoalStore
import Testing

@Suite("S3 store against moto_server", .enabled(if: S3TestServer.isInstalled(.moto), "moto_server is not installed; run scripts/setup.sh"))
struct MotoStoreTests {
    @Test("every shoal models command works against an S3 store", .timeLimit(.minutes(3)))
    func commandSet() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        let tiny = try Fixtures.embeddingModel(at: work.child("tiny"))
        let head = try Fixtures.head(at: work.child("head"))
        let s3 = ["--store", "s3://models/prod", "--endpoint-url", server.endpoint]
        var environment = server.environment
        environment["SHOAL_STORE"] = work.child("local").path
        func shoal(_ arguments: [String]) async throws -> ShoalExecutable.Result {
            try await ShoalExecutable.run(arguments, environment: environment)
        }

        let imported = try await shoal(["models", "import", tiny.path, "--name", "base", "--profile-seconds", "0.01", "--json"] + s3)
        #expect(imported.status == 0, "\(imported.error)")
        #expect(imported.output.contains("\"version\" : \"1\""))
        let derived = try await shoal(["models", "derive", "base", "--head", head.path, "--name", "sentiment"] + s3)
        #expect(derived.status == 0, "\(derived.error)")
        let list = try await shoal(["models", "list", "--json"] + s3)
        #expect(list.status == 0, "\(list.error)")
        #expect(list.output.contains("\"name\" : \"base\"") && list.output.contains("\"base\" : \"base@1\""))
        let show = try await shoal(["models", "show", "sentiment@1", "--json"] + s3)
        #expect(show.output.contains("\"labels\" : ["))
        #expect(try await shoal(["models", "verify"] + s3).output.contains("ok      sentiment@1"))

        // push: from the local store (SHOAL_STORE) to S3; pull: from S3 into another local store.
        #expect(try await shoal(["models", "import", tiny.path, "--name", "local-only", "--profile-seconds", "0"]).status == 0)
        let push = try await shoal(["models", "push", "local-only", "--to", "s3://models/prod", "--endpoint-url", server.endpoint])
        #expect(push.status == 0, "\(push.error)")
        let pulled = work.child("pulled").path
        let pull = try await shoal(["models", "pull", "sentiment", "--from", "s3://models/prod", "--endpoint-url", server.endpoint,
                              "--store", pulled, "--json"])
        #expect(pull.status == 0, "\(pull.error)")
        let pulledList = try await shoal(["models", "list", "--store", pulled, "--json"])
        #expect(pulledList.output.contains("\"name\" : \"base\"") && pulledList.output.contains("\"name\" : \"sentiment\""))
        #expect(try await shoal(["models", "verify", "--store", pulled]).status == 0)

        // rm: the base is refused while a derived model uses it.
        let refused = try await shoal(["models", "rm", "base@1"] + s3)
        #expect(refused.status != 0)
        #expect(refused.error.contains("base of sentiment@1"))
        #expect(try await shoal(["models", "rm", "sentiment@1"] + s3).status == 0)
        #expect(try await shoal(["models", "rm", "base", "--all-versions"] + s3).status == 0)
        let remaining = try await shoal(["models", "list", "--json"] + s3)
        #expect(!remaining.output.contains("\"name\" : \"base\"") && remaining.output.contains("local-only"))

        let missingBucket = try await shoal(["models", "list", "--store", "s3://no-such-bucket", "--endpoint-url", server.endpoint])
        #expect(missingBucket.status != 0)
        #expect(missingBucket.error.contains("bucket no-such-bucket does not exist"))
    }

    @Test("an S3 store pages through every model once with delimiter, start-after and max-keys, like a folder store",
          .timeLimit(.minutes(2)))
    func pages() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        let store = try server.store()
        try await publishBlobs(trickyNames, to: store, work: work)
        // A name whose only object is a dead publisher's claim has no version to list.
        let client = try S3Client(
            bucket: "models", configuration: StoreConfiguration(url: "s3://models", endpoint: server.endpoint,
                                                               environment: server.environment), storeName: "test")
        try await client.put("shoal/models/ghost/1/" + S3Backend.claimName, data: Data(), ifAbsent: true)
        let expected = trickyNames.sorted(by: ModelStore.listingOrder)
        for limit in [1, 4, 100] {
            #expect(try await pageThrough(store, limit: limit).names == expected, "limit \(limit)")
        }
        #expect(try await pageThrough(store, prefix: "head-", limit: 3).names == ["head-0", "head-1", "head-10", "head-2"])
        #expect(try await store.models(after: "head-2", limit: 10).models.map(\.name) == ["z"])
        #expect(try await store.names() == trickyNames.sorted())

        let list = try await ShoalExecutable.run(
            ["models", "list", "--store", "s3://models/shoal", "--endpoint-url", server.endpoint, "--limit", "2", "--after", "a", "--json"],
            environment: server.environment)
        #expect(list.status == 0, "\(list.error)")
        #expect(list.output.contains("\"name\" : \"a0\"") && list.output.contains("\"next\" : \"a_b\""), "\(list.output)")
    }

    @Test("plain objects are written once, never replaced, and listed by folder", .timeLimit(.minutes(2)))
    func objects() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let backend = try server.store().backend
        #expect(try await backend.list("results/run-1").isEmpty)
        try await backend.write(Data("b".utf8), to: "results/run-1/b.json")
        try await backend.write(Data("a".utf8), to: "results/run-1/a.json")
        try await backend.write(Data("c".utf8), to: "results/run-1/deeper/c.json")
        try await backend.write(Data("x".utf8), to: "results/run-10/x.json")
        await #expect(throws: StoreError.objectExists("s3://models/shoal/results/run-1/a.json")) {
            try await backend.write(Data("again".utf8), to: "results/run-1/a.json")
        }
        // Only the folder's own objects: not those of a deeper folder, nor of a folder whose name starts alike.
        #expect(try await backend.list("results/run-1") == ["results/run-1/a.json", "results/run-1/b.json"])
        #expect(try await backend.read("results/run-1/a.json") == Data("a".utf8))
    }

    @Test("a large file goes up in parts and comes back in ranges, byte for byte", .timeLimit(.minutes(2)))
    func multipart() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        let store = try server.store()
        let blob = try Fixtures.blob(at: work.child("blob.bin"), size: 12 << 20 + 12_345)
        let small = try Fixtures.blob(at: work.child("small.bin"), size: 1000, seed: 2)
        let files = [StagedFile(path: "blob.bin", source: blob, size: 12 << 20 + 12_345),
                     StagedFile(path: "sub/small.bin", source: small, size: 1000)]
        let manifest = try await store.publish(Fixtures.blobDraft(name: "blob"), files: files)
        let back = work.child("back")
        try await store.download(manifest, into: back)
        #expect(try Data(contentsOf: back.appendingPathComponent("blob.bin")) == Data(contentsOf: blob))
        #expect(try Data(contentsOf: back.appendingPathComponent("sub/small.bin")) == Data(contentsOf: small))
        #expect(try await store.verify(ModelReference(parsing: "blob")).id == "blob@1")
    }

    @Test("concurrent publishers of one name each get their own version; a manifest is never overwritten; a dead publisher's claim is skipped",
          .timeLimit(.minutes(2)))
    func concurrentPublish() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        let store = try server.store()
        // The same bytes from every publisher: moto checks If-None-Match without a lock, so two racing
        // claims can both succeed there (S3 itself decides them atomically).
        let blob = try Fixtures.blob(at: work.child("small.bin"), size: 1000)
        let files = [StagedFile(path: "small.bin", source: blob, size: 1000)]
        let published = try await withThrowingTaskGroup(of: Manifest.self) { group in
            for _ in 0..<6 {
                group.addTask { try await store.publish(Fixtures.blobDraft(name: "race"), files: files) }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(Set(published.map(\.version)).count == 6)
        #expect(try await store.versions(of: "race") == (1...6).map(String.init))
        for manifest in published {
            _ = try await store.verify(ModelReference(name: "race", version: manifest.version))
        }
        await #expect(throws: StoreError.versionExists("race@2")) {
            _ = try await store.publish(Fixtures.blobDraft(name: "race"), files: files, version: "2")
        }
        // A publisher killed after claiming version 7 leaves the number taken; the next one goes on to 8.
        let client = try S3Client(
            bucket: "models", configuration: StoreConfiguration(url: "s3://models", endpoint: server.endpoint,
                                                               environment: server.environment), storeName: "test")
        try await client.put("shoal/models/race/7/" + S3Backend.claimName, data: Data(), ifAbsent: true)
        #expect(try await store.publish(Fixtures.blobDraft(name: "race"), files: files).version == "8")
        #expect(try await store.versions(of: "race") == ["1", "2", "3", "4", "5", "6", "8"])
    }
}
