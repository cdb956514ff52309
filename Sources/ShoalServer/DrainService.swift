import Logging
import ServiceLifecycle

/// The first service shut down: turns readiness to 503, and every response to `Connection: close`
/// (`DrainMiddleware`), and waits the drain delay, so that load balancers stop sending and keep-alive clients
/// reconnect elsewhere before the HTTP server stops accepting.
struct DrainService: Service, CustomStringConvertible {
    let state: ServerState
    let delay: Duration
    let logger: Logger

    var description: String { "DrainService" }

    func run() async throws {
        try? await gracefulShutdown()
        state.beginDraining()
        logger.info("draining: readiness is 503", metadata: ["delay": "\(delay)"])
        try? await Task.sleep(for: delay)
    }
}
