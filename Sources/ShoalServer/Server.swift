import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle
import ShoalInference

/// The Shoal model server: the engine behind the KServe v2, OpenAI and reference HTTP routes, with metrics,
/// authentication and graceful drain.
public final class Server: Sendable {
    /// The version the server reports.
    public static let version = "0.1.0"

    /// The engine serving the models.
    public let inference: Inference
    /// The settings the server runs with.
    public let configuration: ServerConfiguration
    private let api: API
    private let asynchronous: AsyncWorker?
    private let connections: ConnectionGuard

    /// A server over the models of `source`; nothing listens until `run()` or `application(services:)`.
    public init(source: any ModelSource, configuration: ServerConfiguration) throws {
        self.configuration = configuration
        let metrics = ServerMetrics()
        var engine = configuration.inference
        engine.metricsFactory = metrics.factory
        engine.logger = configuration.logger
        inference = try Inference(source: source, configuration: engine)
        connections = ConnectionGuard(
            limit: configuration.maxConnections, headTimeout: configuration.idleTimeout, logger: configuration.logger,
            metrics: metrics.factory)
        let served = inference
        asynchronous = try configuration.asynchronous.map {
            try AsyncWorker(settings: $0, inference: served, configuration: configuration, metrics: metrics)
        }
        api = API(inference: inference, metrics: metrics, state: ServerState(), configuration: configuration,
                  asynchronous: asynchronous)
    }

    /// The HTTP application; `services` run inside it (pass `inference` when nothing else runs the engine), and
    /// `onServerRunning` gets the bound port.
    public func application(
        services: [any Service] = [], onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let connections = connections
        return Application(
            router: api.router(),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [
                    MalformedRequestHandler(), ClientGoneHandler(), ConnectionCloseHandler(), ContinueHandler(),
                    connections.handler(),
                ],
                idleTimeout: configuration.idleTimeout.map { TimeAmount($0) })),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "shoal"),
            services: services,
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: configuration.logger)
    }

    /// The engine, the HTTP application, the asynchronous queue's worker and the drain step, in start order:
    /// shutdown runs in reverse, so readiness turns 503 first, then the worker puts back what it has not begun,
    /// then the HTTP server finishes its in-flight requests, then the engine stops.
    public func services(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        let asynchronous = asynchronous
        let application = application { port in
            asynchronous?.serverRunning(on: port)
            await onServerRunning(port)
        }
        return [inference, application] + (asynchronous.map { [$0] } ?? [])
            + [DrainService(state: api.state, delay: configuration.drainDelay, logger: configuration.logger)]
    }

    /// Serves until SIGTERM or SIGINT, then drains and returns.
    public func run(onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let group = ServiceGroup(configuration: .init(
            services: services(onServerRunning: onServerRunning),
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: configuration.logger))
        try await group.run()
    }
}
