import Foundation
import ShoalStore
import ShoalTesting
import Testing

@Suite("S3 store against SeaweedFS", .enabled(if: S3TestServer.isInstalled(.seaweed), "weed is not installed; run scripts/setup.sh"))
struct SeaweedStoreTests {
    @Test("wrong keys get a clear error; a multipart upload survives a server restart byte for byte", .timeLimit(.minutes(4)))
    func realServer() async throws {
        let server = try await S3TestServer(.seaweed, timeout: .seconds(60))
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()

        do {
            _ = try await server.store(secretKey: "not-the-secret").names()
            Issue.record("a wrong secret key must be refused")
        } catch let error as StoreError {
            guard case .accessDenied = error else {
                Issue.record("expected accessDenied, got \(error)")
                return
            }
            #expect(error.description.contains("SignatureDoesNotMatch"))
            #expect(error.description.contains("AWS_SECRET_ACCESS_KEY"))
        }

        let store = try server.store()
        let size = 11 << 20 + 777
        let blob = try Fixtures.blob(at: work.child("blob.bin"), size: size, seed: 3)
        let model = try Fixtures.embeddingModel(at: work.child("tiny"))
        let published = try await store.publish(
            Fixtures.blobDraft(name: "big"), files: [StagedFile(path: "blob.bin", source: blob, size: Int64(size))])
        #expect(published.version == "1")
        _ = try await Fixtures.importer(store).importFolder(model, name: "tiny")

        try await server.restart(timeout: .seconds(60))
        let reopened = try server.store()
        // The S3 gateway answers before the volume server has registered its volumes again; wait for both.
        let deadline = ContinuousClock.now + .seconds(60)
        while (try? await reopened.verify(ModelReference(parsing: "big"))) == nil {
            guard ContinuousClock.now < deadline else {
                Issue.record("the restarted server did not serve the upload within 60 s; its log ends:\n\(server.logTail)")
                return
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        #expect(try await reopened.names() == ["big", "tiny"])
        let back = work.child("back")
        try await reopened.download(published, into: back)
        #expect(try Data(contentsOf: back.appendingPathComponent("blob.bin")) == Data(contentsOf: blob))
        #expect(try await reopened.verify(ModelReference(parsing: "tiny")).id == "tiny@1")
    }
}
