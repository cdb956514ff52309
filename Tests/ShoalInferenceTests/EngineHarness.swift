import Foundation
import ShoalInference
import Synchronization

/// Counts the loads and the listings a source is asked for.
final class CountingSource: ModelSource {
    let base: DirectorySource
    private let counts = Mutex<[String: Int]>([:])
    private let listed = Mutex(0)

    init(root: URL) {
        base = DirectorySource(root: root)
    }

    func locations(of name: String) -> Int { counts.withLock { $0[name] ?? 0 } }

    /// How many times the whole source was listed.
    var listings: Int { listed.withLock { $0 } }

    func models() async throws -> [ModelDescriptor] {
        listed.withLock { $0 += 1 }
        return try await base.models()
    }

    func describe(_ name: String) async throws -> ModelDescriptor? { try await base.describe(name) }

    func locate(_ name: String) async throws -> ModelLocation? {
        counts.withLock { $0[name, default: 0] += 1 }
        return try await base.locate(name)
    }
}

/// Runs `body` with the engine running, then shuts the engine down.
func withRunningEngine<T: Sendable>(
    _ engine: Inference, _ body: @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await engine.run() }
        defer { group.cancelAll() }
        return try await body()
    }
}
