import Foundation
import Metrics
import Prometheus
import ShoalInference
import Synchronization

/// The server's Prometheus registry, and the swift-metrics factory through which the engine and the HTTP layer
/// both record into it: one path for every metric `/metrics` shows. No series is made per model through the
/// registry, so its size does not grow with the number of models; the busiest models' own figures are written
/// beside it at each scrape (`exposition(models:)`).
final class ServerMetrics: Sendable {
    /// Holds every metric of this server instance.
    let registry = PrometheusCollectorRegistry()
    /// A swift-metrics factory writing into `registry`, with buckets that suit inference latencies.
    let factory: PrometheusMetricsFactory
    /// The request counters made so far, by outcome.
    private let requests = Mutex<[String: Metrics.Counter]>([:])

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

    /// Counts one inference request answered with `status`.
    func countRequest(status: Int) {
        let outcome = Self.outcome(status)
        // One counter per outcome, made once: every request passes here.
        let counter = requests.withLock { counters in
            if let counter = counters[outcome] { return counter }
            let counter = Metrics.Counter(label: "shoal_requests_total", dimensions: [("outcome", outcome)], factory: factory)
            counters[outcome] = counter
            return counter
        }
        counter.increment()
    }

    /// The Prometheus text of every metric, then the series of `models` (the busiest and the pinned ones).
    func exposition(models: [ModelStatistics]) -> [UInt8] {
        var buffer: [UInt8] = []
        registry.emit(into: &buffer)
        buffer += Self.modelSeries(models).utf8
        return buffer
    }

    /// One counter family per figure, one series per model.
    static func modelSeries(_ models: [ModelStatistics]) -> String {
        guard !models.isEmpty else { return "" }
        let families: [(name: String, help: String, value: (ModelStatistics) -> String)] = [
            ("shoal_model_requests_total", "Requests the model answered with outputs.", { String($0.requests) }),
            ("shoal_model_request_seconds_total", "Seconds those requests spent in the engine.", { "\($0.requestSeconds)" }),
            ("shoal_model_failures_total", "Requests to the model that ended in an error.", { String($0.failures) }),
            ("shoal_model_inputs_total", "Inputs computed.", { String($0.inputs) }),
            ("shoal_model_queue_seconds_total", "Seconds the inputs waited in the queue.", { "\($0.queueSeconds)" }),
            ("shoal_model_compute_seconds_total", "Seconds of the batches the inputs were computed in.", { "\($0.computeSeconds)" }),
            ("shoal_model_dropped_inputs_total", "Inputs dropped before compute.", { String($0.dropped) }),
            ("shoal_model_loads_total", "Loads of the model from its files.", { String($0.loads) }),
            ("shoal_model_load_seconds_total", "Seconds those loads took.", { "\($0.loadSeconds)" }),
            ("shoal_model_evictions_total", "Times the model was evicted to make room.", { String($0.evictions) }),
            ("shoal_model_cache_hits_total", "Requests that found the model in memory.", { String($0.cacheHits) }),
            ("shoal_model_cache_misses_total", "Requests that waited for the model to load.", { String($0.cacheMisses) }),
        ]
        var text = ""
        for family in families {
            text += "# HELP \(family.name) \(family.help) Shown for the busiest and the pinned models only.\n"
            text += "# TYPE \(family.name) counter\n"
            for model in models {
                text += "\(family.name){model=\"\(escaped(model.name))\"} \(family.value(model))\n"
            }
        }
        return text
    }

    /// A label value as the text format writes it.
    private static func escaped(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
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
