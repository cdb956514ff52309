import Foundation
import ShoalControl
import ShoalInference
import ShoalStore
import ShoalTesting
import Testing

/// Rules that several parts of Shoal apply, checked through each part's own entry point, so that a second
/// copy of a rule that drifts from the first fails here. Serialized: its ~40 runs of `shoal` would otherwise
/// start at once beside the suites that measure this process's memory.
@Suite(.serialized) final class SharedRulesTests {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-rules-\(UUID().uuidString)")

    deinit { try? FileManager.default.removeItem(at: root) }

    static let validNames = ["minilm", "all-MiniLM-L6-v2", "a", "9lives", "_private", "a.b_c-d", String(repeating: "m", count: 200)]
    static let invalidNames = ["", ".hidden", "..", "-flag", "a/b", "bad name", "ünïcode", "a@1", String(repeating: "m", count: 201)]

    /// `shoal.yaml` in a fresh folder, loaded and validated.
    func loadConfiguration(_ text: String) throws -> ShoalConfiguration {
        let folder = root.appendingPathComponent(UUID().uuidString)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: folder.appendingPathComponent("shoal.yaml"))
        return try ConfigurationFile.load(path: nil, directory: folder.path, environment: [:]).configuration
    }

    @Test("a model name is accepted or refused alike by the store, shoal.yaml, the engine and shoal serve",
          arguments: validNames.map { ($0, true) } + invalidNames.map { ($0, false) })
    func modelName(name: String, valid: Bool) async throws {
        #expect(ModelReference.isValidName(name) == valid)
        #expect(((try? ModelReference(name: name)) != nil) == valid, "store")

        let quoted = "'" + name.replacingOccurrences(of: "'", with: "''") + "'"
        #expect(((try? loadConfiguration("models:\n  - {name: \(quoted), memory: 1GiB}\n")) != nil) == valid, "shoal.yaml")

        // The engine serves a model folder of that name only when the name is valid.
        let models = root.appendingPathComponent("models")
        try FileManager.default.createDirectory(at: models, withIntermediateDirectories: true)
        if !name.isEmpty, !name.contains("/"), name != ".." {
            let folder = models.appendingPathComponent(name)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data("{}".utf8).write(to: folder.appendingPathComponent("config.json"))
        }
        #expect((try await DirectorySource(root: models).describe(name) != nil) == valid, "engine")

        // `--threads 0` is refused after `--pin`, so the error says which check came first without serving.
        let serve = try await ShoalExecutable.run(["serve", "--models", models.path, "--pin=\(name)", "--threads", "0"])
        #expect(serve.status != 0)
        // An empty value is refused by the option parser itself, before the rule.
        let refusal = valid ? "--threads must be at least 1" : name.isEmpty ? "Missing value for '--pin" : ModelReference.nameRule
        #expect(serve.error.contains(refusal), "shoal serve: \(serve.error)")
    }

    static let sizes: [(String, Int64)] = [
        ("4G", 4_294_967_296), ("4GiB", 4_294_967_296), ("4GB", 4_000_000_000), ("512MB", 512_000_000),
        ("512M", 536_870_912), ("1.5GiB", 1_610_612_736), ("64K", 65_536), ("1048576", 1_048_576), (" 2 KiB ", 2_048),
        ("1T", 1_099_511_627_776),
    ]

    @Test("a size means the same bytes in shoal.yaml and in shoal serve's options", arguments: sizes)
    func size(text: String, bytes: Int64) async throws {
        #expect(ByteCount(parsing: text)?.bytes == bytes)
        let configuration = try loadConfiguration("server:\n  memory_budget: '\(text)'\n")
        #expect(configuration.server.memoryBudget.bytes == bytes, "shoal.yaml")
        let serve = try await ShoalExecutable.run(["serve", "--models", root.path, "--memory-budget", text, "--threads", "0"])
        #expect(serve.error.contains("--threads must be at least 1"), "shoal serve: \(serve.error)")
    }

    @Test("a malformed size is refused alike by shoal.yaml and shoal serve",
          arguments: ["4X", "-1G", "G", "1e3", "0x10", "inf", "nan", "4 G B", "1.2.3MB", "99999999999TB"])
    func malformedSize(text: String) async throws {
        #expect(ByteCount(parsing: text) == nil)
        #expect((try? loadConfiguration("server:\n  memory_budget: '\(text)'\n")) == nil, "shoal.yaml")
        let serve = try await ShoalExecutable.run(["serve", "--models", root.path, "--memory-budget=\(text)", "--threads", "0"])
        #expect(serve.error.contains("--memory-budget \(text) is not \(ByteCount.expected)"), "shoal serve: \(serve.error)")
    }

    @Test("a serving limit out of range is refused alike by shoal.yaml, shoal serve and the engine", arguments: [
        ("max_batch_tokens", "--max-batch-tokens", ServingLimits.Setting.maxBatchTokens),
        ("max_batch_inputs", "--max-batch-inputs", .maxBatchInputs),
    ])
    func servingLimit(key: String, option: String, setting: ServingLimits.Setting) async throws {
        var limits = ServingLimits()
        switch setting {
        case .maxBatchTokens: limits.maxBatchTokens = 0
        default: limits.maxBatchInputs = 0
        }
        let violation = try #require(limits.violation)
        #expect(violation.setting == setting && violation.description == "\(option) must be at least 1")

        #expect(throws: ControlError.invalidValue(key: "server.\(key)", value: "0", expected: ConfigurationSchema.expected(for: "server.\(key)"))) {
            try self.loadConfiguration("server:\n  \(key): 0\n")
        }
        let serve = try await ShoalExecutable.run(["serve", "--models", root.path, option, "0"])
        #expect(serve.status != 0)
        #expect(serve.error.contains(violation.description), "shoal serve: \(serve.error)")
        var engine = InferenceConfiguration()
        engine.limits = limits
        #expect(throws: InferenceError.invalidInput(violation.description)) { try Inference(source: DirectorySource(root: self.root), configuration: engine) }
    }

    @Test("shoal serve, shoal.yaml and the engine start from the same serving defaults")
    func servingDefaults() async throws {
        let defaults = ServingLimits()
        #expect(ShoalConfiguration().server.limits == defaults)
        let help = try await ShoalExecutable.run(["serve", "--help"])
        for (option, value) in [("--max-batch-tokens", defaults.maxBatchTokens), ("--max-batch-inputs", defaults.maxBatchInputs),
                                ("--max-queue-size", defaults.maxQueuedInputs), ("--max-inputs", defaults.maxInputsPerRequest),
                                ("--max-text-bytes", defaults.maxTextBytes)] {
            let section = help.output.components(separatedBy: "\n  --").first { $0.hasPrefix(option.dropFirst(2) + " <") }
            let words = section?.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            #expect(words?.contains("(default: \(value))") == true,
                    "\(option) in shoal serve --help")
        }
    }
}
