import Prometheus
import ShoalInference
import Synchronization

/// The server's Prometheus registry and the request counters of the HTTP layer.
final class ServerMetrics: Sendable {
    /// Holds every metric of this server instance, the engine's included.
    let registry = PrometheusCollectorRegistry()
    private let requests = Mutex<[String: Prometheus.Counter]>([:])

    /// A swift-metrics factory writing into `registry`, with buckets that suit inference latencies.
    var factory: PrometheusMetricsFactory {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .microseconds(250), .microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5),
            .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250),
            .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10), .seconds(30),
        ]
        factory.valueHistogramBuckets = Inference.countBuckets
        return factory
    }

    /// Counts one request to `model` answered with `status`.
    func countRequest(model: String, status: Int) {
        let outcome = Self.outcome(status)
        let key = "\(model)\u{0}\(outcome)"
        let counter = requests.withLock { cache in
            if let counter = cache[key] { return counter }
            let name = MetricNameDescriptor(
                metricName: "shoal_requests", unitName: "total", helpText: "Requests answered, by model and outcome.")
            let counter = registry.makeCounter(descriptor: name, labels: [("model", model), ("outcome", outcome)])
            cache[key] = counter
            return counter
        }
        counter.increment()
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
