import Metrics
import Synchronization

/// The engine's metrics, created once per model name through the configured factory.
final class InferenceMetrics: Sendable {
    /// Per-model handles, labelled `model`.
    struct PerModel: Sendable {
        let queueDuration: Timer
        let tokenizeDuration: Timer
        let inferDuration: Timer
        let batchSize: Recorder
        let batchTokens: Recorder
        let queueDepth: Gauge
        let loadDuration: Timer
        let evictions: Counter
        let cacheHits: Counter
        let cacheMisses: Counter
    }

    let modelsLoaded: Gauge
    let memoryUsed: Gauge
    let memoryBudget: Gauge
    private let factory: any MetricsFactory
    private let perModel = Mutex<[String: PerModel]>([:])

    init(factory: any MetricsFactory) {
        self.factory = factory
        modelsLoaded = Gauge(label: "shoal_models_loaded", factory: factory)
        memoryUsed = Gauge(label: "shoal_memory_used_bytes", factory: factory)
        memoryBudget = Gauge(label: "shoal_memory_budget_bytes", factory: factory)
    }

    /// The handles of `model`.
    func model(_ model: String) -> PerModel {
        perModel.withLock { cache in
            if let handles = cache[model] { return handles }
            let dimensions = [("model", model)]
            let handles = PerModel(
                queueDuration: Timer(label: "shoal_queue_duration_seconds", dimensions: dimensions, factory: factory),
                tokenizeDuration: Timer(label: "shoal_tokenize_duration_seconds", dimensions: dimensions, factory: factory),
                inferDuration: Timer(label: "shoal_infer_duration_seconds", dimensions: dimensions, factory: factory),
                batchSize: Recorder(label: "shoal_batch_size", dimensions: dimensions, factory: factory),
                batchTokens: Recorder(label: "shoal_batch_tokens", dimensions: dimensions, factory: factory),
                queueDepth: Gauge(label: "shoal_queue_depth", dimensions: dimensions, factory: factory),
                loadDuration: Timer(label: "shoal_model_load_duration_seconds", dimensions: dimensions, factory: factory),
                evictions: Counter(label: "shoal_model_evictions_total", dimensions: dimensions, factory: factory),
                cacheHits: Counter(label: "shoal_model_cache_hits_total", dimensions: dimensions, factory: factory),
                cacheMisses: Counter(label: "shoal_model_cache_misses_total", dimensions: dimensions, factory: factory))
            cache[model] = handles
            return handles
        }
    }

    /// Counts one load of `model` ending in `outcome` (`loaded`, `shared`, `failed`, `no_room`).
    func countLoad(_ model: String, outcome: String) {
        Counter(label: "shoal_model_loads_total", dimensions: [("model", model), ("outcome", outcome)], factory: factory)
            .increment()
    }

    /// Counts inputs of `model` dropped before compute (`cancelled`, `timed_out`).
    func countDropped(_ model: String, reason: String, count: Int = 1) {
        Counter(label: "shoal_dropped_inputs_total", dimensions: [("model", model), ("reason", reason)], factory: factory)
            .increment(by: count)
    }
}
