import Metrics
import Prometheus
import ShoalInference
import Synchronization

/// The server's Prometheus registry, and the swift-metrics factory through which the engine and the HTTP layer
/// both record into it: one path for every metric `/metrics` shows.
final class ServerMetrics: Sendable {
    /// Holds every metric of this server instance.
    let registry = PrometheusCollectorRegistry()
    /// A swift-metrics factory writing into `registry`, with buckets that suit inference latencies.
    let factory: PrometheusMetricsFactory
    /// The request counters made so far.
    private let requests = Mutex<[RequestKey: Metrics.Counter]>([:])

    init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.valueHistogramBuckets = Inference.countBuckets
        self.factory = factory
    }

    /// Counts one request to `model` answered with `status`.
    func countRequest(model: String, status: Int) {
        let outcome = Self.outcome(status)
        // One counter per model and outcome, made once: every request passes here.
        let counter = requests.withLock { counters in
            let key = RequestKey(model: model, outcome: outcome)
            if let counter = counters[key] { return counter }
            let counter = Metrics.Counter(
                label: "shoal_requests_total", dimensions: [("model", model), ("outcome", outcome)], factory: factory)
            counters[key] = counter
            return counter
        }
        counter.increment()
    }

    private struct RequestKey: Hashable {
        let model: String
        let outcome: String
    }

    /// The Prometheus text of every metric.
    func exposition() -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        return buffer
    }

    private static func outcome(_ status: Int) -> String {
        switch status {
        case 200..<300: "success"
        case 400, 422: "bad_input"
        case 401: "unauthorized"
        case 404: "not_found"
        case 413: "too_large"
        case 429: "overloaded"
        case 503: "unavailable"
        case 507: "no_room"
        default: "error"
        }
    }
}
