import Foundation
import ShoalControl
import ShoalInference
import ShoalStore
import ShoalTesting
import Testing

/// Rules that several parts of Shoal apply, checked through each part's own entry point, so that a second
/// copy of a rule that drifts from the first fails here.
@Suite final class SharedRulesTests {
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
        #expect(serve.error.contains(valid ? "--threads" : ModelReference.nameRule), "shoal serve: \(serve.error)")
    }
}
