import Foundation
import ShoalTesting
import Testing

/// A fresh temporary folder that a test runs `shoal` in, with `environment` added to the test's own.
struct Workspace {
    let root: URL
    var environment: [String: String] = [:]

    /// Creates the folder, named after `prefix`.
    init(_ prefix: String = "shoal-test") throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
    }

    /// Runs `shoal ARGUMENTS` in the workspace.
    func run(_ arguments: [String]) async throws -> ShoalExecutable.Result {
        try await ShoalExecutable.run(arguments, environment: environment, in: root)
    }

    /// Runs `shoal ARGUMENTS` and requires it to succeed.
    @discardableResult
    func shoal(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> ShoalExecutable.Result {
        let result = try await run(arguments)
        try #require(result.status == 0, "shoal \(arguments.joined(separator: " ")): \(result.error)", sourceLocation: sourceLocation)
        return result
    }

    /// Runs `shoal ARGUMENTS --json` and decodes what it prints.
    func json(_ arguments: [String], sourceLocation: SourceLocation = #_sourceLocation) async throws -> Any {
        try JSONSerialization.jsonObject(with: Data(try await shoal(arguments, sourceLocation: sourceLocation).output.utf8))
    }

    func path(_ name: String) -> String { root.appendingPathComponent(name).path }

    func exists(_ name: String) -> Bool { FileManager.default.fileExists(atPath: path(name)) }

    func text(_ name: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(name), encoding: .utf8)
    }

    func remove() { try? FileManager.default.removeItem(at: root) }

    /// The names of the ten heads `deriveHeads` writes.
    static let heads = (1...10).map { "head\($0)" }

    /// Ten three-label heads over the 384-wide `base` in the workspace's store, derived with `shoal models derive`.
    func deriveHeads(over base: String) async throws {
        for (index, name) in Self.heads.enumerated() {
            try TinyHead.write(to: root.appendingPathComponent("heads/\(name)"), labels: ["no", "yes", "maybe"],
                               inputs: 384, seed: UInt64(index + 1))
        }
        try await shoal(["models", "derive", base, "--heads", path("heads"), "--store", path("store")])
    }
}
