import Synchronization

/// What the health routes report: whether the server has begun draining for shutdown.
final class ServerState: Sendable {
    private let draining = Atomic(false)

    /// Whether the server takes traffic: false once draining began.
    var isReady: Bool { !draining.load(ordering: .relaxed) }

    /// Turns readiness off for good.
    func beginDraining() {
        draining.store(true, ordering: .relaxed)
    }
}
