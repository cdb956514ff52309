import AsyncHTTPClient
import Foundation
import NIOCore
import ShoalControl
import ShoalTesting
import Testing

/// One store for every command: `--store`, else `$SHOAL_STORE`, else `store.url` of shoal.yaml. A new user
/// who sets only `SHOAL_STORE` imports, configures, packs and deploys against that one store; a plan whose
/// models the store lacks is refused before anything starts; manifests for an S3 store need no keys here; load-test
/// results are written into and merged from that store.
@Suite(.serialized, .timeLimit(.minutes(3))) struct StoreSettingTests {
    @Test func withOnlyShoalStoreSetImportConfigPackAndDeployServeTheImportedModel() async throws {
        var work = try Workspace("shoal-store")
        let store = work.root.appendingPathComponent("my-store").path
        work.environment = ["SHOAL_STORE": store]
        defer { work.remove() }
        // The default configuration's model is `minilm`; a tiny model stands in for it.
        try await work.shoal(["models", "import", try work.model("minilm"), "--name", "minilm", "--profile-seconds", "0"])
        try await work.shoal(["config", "init"])
        #expect(try work.text("shoal.yaml").contains("url: '\(work.environment["SHOAL_STORE"] ?? "")'"))
        let gatewayPort = try await work.usePorts()
        let pack = try await work.shoal(["pack"])
        #expect(!pack.error.contains("warning"), "\(pack.error)")
        try await work.shoal(["deploy", "run", "--timeout", "60"])
        do {
            let status = try await Self.embed("minilm", at: "http://127.0.0.1:\(gatewayPort)")
            #expect(status == 200)
            // The test runner finds the deployment from the same shoal.yaml and reaches the model through it.
            let seq = try await work.run(["test", "seq", "--requests", "2", "--quiet", "--json"])
            try #require(seq.status == 0, "test seq: \(seq.error) \(seq.output)")
            let report = try #require(try JSONSerialization.jsonObject(with: Data(seq.output.utf8)) as? [String: Any])
            let perModel = try #require(report["per_model"] as? [[String: Any]])
            #expect(perModel.count == 1 && perModel.allSatisfy { $0["ok"] as? Int == 2 && $0["failed"] as? Int == 0 },
                    "\(perModel)")

            // Its results go into that store too, under a run id, and bma merges them from there.
            for name in ["one", "two"] {
                let out = try await work.shoal(["test", "seq", "--requests", "3", "--quiet", "--out-store", "run-1", "--out-name", name])
                #expect(out.output.contains("wrote \(store)/results/run-1/\(name).json"), "\(out.output)")
            }
            let again = try await work.run(["test", "seq", "--requests", "1", "--quiet", "--out-store", "run-1", "--out-name", "one"])
            #expect(again.status != 0 && again.error.contains("results/run-1/one.json exists already"), "\(again.error)")
            let merged = try #require(try await work.json(["test", "bma", "--from-store", "run-1", "--json"]) as? [String: Any])
            #expect((merged["runs"] as? [[String: Any]])?.compactMap { $0["source"] as? String }
                == ["one", "two"].map { "\(store)/results/run-1/\($0).json" }, "\(merged)")
            #expect((merged["total"] as? [String: Any])?["ok"] as? Int == 6, "\(merged)")
        } catch {
            _ = try? await work.run(["deploy", "stop"])
            throw error
        }
        try await work.shoal(["deploy", "stop"])
    }

    @Test func aPlanNamingAModelTheStoreLacksIsRefusedBeforeAnythingStarts() async throws {
        var work = try Workspace("shoal-store")
        work.environment = ["SHOAL_STORE": "store"]
        defer { work.remove() }
        try await work.shoal(["models", "import", try work.model("minilm"), "--name", "minilm", "--profile-seconds", "0"])
        try await work.shoal(["config", "init"])
        _ = try await work.usePorts()
        try await work.shoal(["config", "set", "models.ghost.memory", "1MiB"])

        // Packing warns, naming the model; deploying the plan it wrote is refused, naming it too.
        let pack = try await work.shoal(["pack"])
        #expect(pack.error.contains("holds no model ghost"), "\(pack.error)")
        let refused = try await work.run(["deploy", "run", "--timeout", "30"])
        #expect(refused.status != 0)
        #expect(refused.error.contains("holds no model ghost of the plan"), "\(refused.error)")
        #expect(!refused.error.contains("minilm"), "\(refused.error)")
        let status = try await work.shoal(["deploy", "status"])
        #expect(status.output.contains("no deployment"), "\(status.output)")

        // Without a plan, deploy run packs one and refuses it before writing it.
        try FileManager.default.removeItem(at: work.root.appendingPathComponent("plan.json"))
        let unpacked = try await work.run(["deploy", "run", "--timeout", "30"])
        #expect(unpacked.status != 0 && unpacked.error.contains("ghost"), "\(unpacked.error)")
        #expect(!FileManager.default.fileExists(atPath: work.root.appendingPathComponent("plan.json").path))

    }

    @Test func manifestsForAnS3StoreNeedNoKeysHere() async throws {
        var keyless = try Workspace("shoal-store")
        keyless.environment = ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": "", "HOME": keyless.root.path,
                               "AWS_SHARED_CREDENTIALS_FILE": keyless.root.appendingPathComponent("none").path]
        defer { keyless.remove() }
        try await keyless.shoal(["config", "init", "--store", "s3://models/prod"])
        try await keyless.shoal(["config", "set", "runtime", "kubernetes"])
        let written = try await keyless.shoal(["deploy", "manifests", "--out", "k8s.yaml"])
        #expect(written.error.contains("no AWS keys here"), "\(written.error)")
        let manifests = try keyless.text("k8s.yaml")
        #expect(manifests.contains("s3://models/prod") && manifests.contains("--pin"))
        // The servers read it as their ServiceAccount, with no key written anywhere.
        #expect(manifests.contains("kind: ServiceAccount") && manifests.contains("serviceAccountName: shoal"))
        #expect(!manifests.contains("AWS_ACCESS_KEY_ID") && !manifests.contains("AWS_SECRET_ACCESS_KEY"))
        let again = try await keyless.shoal(["deploy", "manifests"])  // from the plan.json just written
        #expect(again.output == manifests && !again.error.contains("no AWS keys"), "\(again.error)")

        // Reading the store is what needs keys, and says so.
        let pack = try await keyless.run(["pack"])
        #expect(pack.status != 0 && pack.error.contains("no AWS keys found"), "\(pack.error)")
    }

    /// `test bma --from-store` says what is wrong: a run with no results, a result that is not one (naming it),
    /// a store it cannot reach; and a run id that cannot name a folder is refused before anything is read.
    @Test func mergingResultsFromTheStoreFailsClearly() async throws {
        var work = try Workspace("shoal-store")
        work.environment = ["SHOAL_STORE": work.path("store"), "AWS_ACCESS_KEY_ID": "shoal", "AWS_SECRET_ACCESS_KEY": "shoal"]
        defer { work.remove() }
        let none = try await work.run(["test", "bma", "--from-store", "run-1"])
        #expect(none.status != 0 && none.error.contains("no results under \(work.path("store"))/results/run-1/"), "\(none.error)")

        try FileManager.default.createDirectory(atPath: work.path("store/results/run-1"), withIntermediateDirectories: true)
        try Data("{\"format\": 2, \"ok\":".utf8).write(to: URL(fileURLWithPath: work.path("store/results/run-1/pod-a.json")))
        let corrupt = try await work.run(["test", "bma", "--from-store", "run-1"])
        #expect(corrupt.status != 0 && corrupt.error.contains("\(work.path("store"))/results/run-1/pod-a.json: is not a load-test result"),
                "\(corrupt.error)")

        // Nothing listens on port 1 of loopback: said within seconds (the client's own four retries), not minutes.
        let began = ContinuousClock.now
        let unreachable = try await work.run(["test", "bma", "--from-store", "run-1", "--store", "s3://results/x?endpoint=http://127.0.0.1:1"])
        #expect(unreachable.status != 0 && unreachable.error.contains("cannot reach http://127.0.0.1:1"), "\(unreachable.error)")
        #expect(ContinuousClock.now - began < .seconds(30))

        let bad = try await work.run(["test", "bma", "--from-store", "Run_1"])
        #expect(bad.status != 0 && bad.error.contains("a run id is 1 to 40 of a-z"), "\(bad.error)")
        let nameless = try await work.run(["test", "seq", "--out-name", "a"])
        #expect(nameless.status != 0 && nameless.error.contains("add --out-store"), "\(nameless.error)")
    }

    static func embed(_ model: String, at gateway: String) async throws -> UInt {
        var request = HTTPClientRequest(url: "\(gateway)/v1/embeddings")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"\#(model)","input":"a short sentence"}"#))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }
}

extension Workspace {
    /// A tiny embedding model folder named `name`.
    func model(_ name: String, seed: UInt64 = 3) throws -> String {
        let folder = root.appendingPathComponent("folders/\(name)")
        try TinyModel.write(to: folder, architecture: .bert, task: .embedding(pooling: .mean, normalize: true), seed: seed)
        return folder.path
    }

    /// Free ports for the servers and the gateway, one group on this machine.
    func usePorts() async throws -> Int {
        let port = try LoopbackPorts.forDeployment()
        for (key, value) in [("server.port", "\(port)"), ("server.gateway_port", "\(port + 100)"), ("pack.target", "local"),
                             ("server.threads", "1"), ("test.url", "http://127.0.0.1:\(port + 100)")] {
            try await shoal(["config", "set", key, value])
        }
        return port + 100
    }
}
