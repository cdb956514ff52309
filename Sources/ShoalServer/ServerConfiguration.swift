import Foundation
import Logging
import ShoalInference

/// How the server listens, admits and authenticates requests; validated once at start-up.
public struct ServerConfiguration: Sendable {
    /// The address to bind.
    public var host = "127.0.0.1"
    /// The port to bind; 0 picks a free one.
    public var port = 8080
    /// Most bytes of one request body.
    public var maxBodyBytes = 4 << 20
    /// Keys accepted in `Authorization: Bearer KEY`; empty for no authentication.
    public var apiKeys: [String] = []
    /// How long readiness answers 503 before the server stops accepting connections on shutdown.
    public var drainDelay: Duration = .zero
    /// How long a connection may stay silent before the server closes it: idle between requests, or stalled while
    /// sending one (a request's head must arrive whole within it, however slowly its bytes trickle); nil for no
    /// limit. The default outlasts the usual 60 s idle timeout of load balancers and HTTP clients' connection
    /// pools, so that they, not the server, close idle connections.
    public var idleTimeout: Duration? = .seconds(75)
    /// Most connections open at once. Beyond it a new connection closes the one that has waited longest for a
    /// request head, or is answered 503 when every connection has a request in flight. The default leaves room
    /// under the process's open-file limit for model files, logs and outgoing connections.
    public var maxConnections = ServerConfiguration.defaultMaxConnections
    /// Models whose own series `/metrics` shows: this many of the busiest, and the pinned ones. Every other
    /// series is a total or labelled by workload, so the exposition's size does not grow with the number of models.
    public var metricsModels = 20
    /// Where asynchronous requests (`Prefer: respond-async`) are queued and their results stored; nil answers
    /// every request at once.
    public var asynchronous: AsyncSettings?
    /// The engine's settings.
    public var inference = InferenceConfiguration()
    /// The server's logger; every request's messages carry its `request_id`.
    public var logger = Logger(label: "shoal.server")

    /// The defaults.
    public init() {}

    /// The open-file limit of this process less 64 descriptors for everything that is not a client connection.
    public static var defaultMaxConnections: Int {
        var limit = rlimit()
        #if canImport(Glibc)
        let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
        let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0 else { return 1_024 }
        return max(16, Int(clamping: min(limit.rlim_cur, 1 << 20)) - 64)
    }
}
