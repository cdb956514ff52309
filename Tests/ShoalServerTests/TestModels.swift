import Foundation
import HTTPTypes
import HummingbirdTesting
import Logging
import ShoalInference
import ShoalServer
import ShoalTesting

/// A temporary directory of tiny models, and servers over it.
final class TestModels: Sendable {
    let root: URL

    /// Writes `embed` (BERT, mean pooling, normalized) and `classify` (DistilBERT, two labels).
    init() throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-server-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try embedding("embed", seed: 1)
        try TinyModel.write(
            to: root.appendingPathComponent("classify"), architecture: .distilbert,
            task: .classification(labels: ["NEGATIVE", "POSITIVE"]), seed: 2)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
    }

    func embedding(_ name: String, seed: UInt64) throws {
        try TinyModel.write(
            to: root.appendingPathComponent(name), architecture: .bert, task: .embedding(pooling: .mean, normalize: true),
            seed: seed)
    }

    /// Writes a model whose weights file is cut short.
    func corrupt(_ name: String) throws {
        try embedding(name, seed: 3)
        let weights = root.appendingPathComponent(name).appendingPathComponent("model.safetensors")
        let data = try Data(contentsOf: weights)
        try data.prefix(data.count / 2).write(to: weights)
    }

    /// A server on a free loopback port over these models; quiet logs, one compute thread.
    func server(_ adjust: (inout ServerConfiguration) -> Void = { _ in }) throws -> Server {
        var configuration = ServerConfiguration()
        configuration.port = 0
        configuration.inference.threads = 1
        configuration.logger = Logger(label: "shoal.test")
        configuration.logger.logLevel = .critical
        adjust(&configuration)
        return try Server(source: DirectorySource(root: root), configuration: configuration)
    }

    /// Runs `body` against a default server over these models, on a real loopback socket.
    func withLiveServer(_ body: @escaping @Sendable (any TestClientProtocol) async throws -> Void) async throws {
        let server = try server()
        try await server.application(services: [server.inference]).test(.live) { client in try await body(client) }
    }
}
