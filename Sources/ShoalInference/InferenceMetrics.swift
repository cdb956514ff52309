import Metrics
import Synchronization

/// The engine's metrics, through the configured factory. Their series do not grow with the number of models:
/// latency and batch histograms are labelled by workload (the encoder's model family and the task), counters
/// are totals; per-model figures are `ModelStatistics`, which `/metrics` shows for the busiest models only.
final class InferenceMetrics: Sendable {
    /// Histograms of one workload, labelled `family` (the model whose encoder runs: a head's base, or the model
    /// itself) and `task` (`embedding`, `classification`).
    struct Workload: Sendable {
        let queueDuration: Timer
        let tokenizeDuration: Timer
        let inferDuration: Timer
        let batchSize: Recorder
        let batchTokens: Recorder
        let loadDuration: Timer
    }

    let modelsLoaded: Gauge
    let memoryUsed: Gauge
    let memoryBudget: Gauge
    /// Inputs waiting in every queue.
    let queuedInputs: Gauge
    let evictions: Counter
    let cacheHits: Counter
    let cacheMisses: Counter
    private let factory: any MetricsFactory
    private let workloads = Mutex<[WorkloadKey: Workload]>([:])
    private let loads = Mutex<[String: Counter]>([:])
    private let drops = Mutex<[String: Counter]>([:])

    private struct WorkloadKey: Hashable {
        let family: String
        let task: String
    }

    init(factory: any MetricsFactory) {
        self.factory = factory
        modelsLoaded = Gauge(label: "shoal_models_loaded", factory: factory)
        memoryUsed = Gauge(label: "shoal_memory_used_bytes", factory: factory)
        memoryBudget = Gauge(label: "shoal_memory_budget_bytes", factory: factory)
        queuedInputs = Gauge(label: "shoal_queued_inputs", factory: factory)
        evictions = Counter(label: "shoal_evictions_total", factory: factory)
        cacheHits = Counter(label: "shoal_cache_hits_total", factory: factory)
        cacheMisses = Counter(label: "shoal_cache_misses_total", factory: factory)
    }

    /// The histograms of `instance`'s workload, made on first use.
    func workload(_ instance: LoadedModel) -> Workload {
        let key = WorkloadKey(family: instance.family, task: instance.model.task.name)
        return workloads.withLock { made in
            if let handles = made[key] { return handles }
            let dimensions = [("family", key.family), ("task", key.task)]
            let handles = Workload(
                queueDuration: Timer(label: "shoal_queue_duration_seconds", dimensions: dimensions, factory: factory),
                tokenizeDuration: Timer(label: "shoal_tokenize_duration_seconds", dimensions: dimensions, factory: factory),
                inferDuration: Timer(label: "shoal_infer_duration_seconds", dimensions: dimensions, factory: factory),
                batchSize: Recorder(label: "shoal_batch_size", dimensions: dimensions, factory: factory),
                batchTokens: Recorder(label: "shoal_batch_tokens", dimensions: dimensions, factory: factory),
                loadDuration: Timer(label: "shoal_load_duration_seconds", dimensions: dimensions, factory: factory))
            made[key] = handles
            return handles
        }
    }

    /// Counts one load ending in `outcome` (`loaded`, `shared`, `failed`, `no_room`).
    func countLoad(outcome: String) {
        counter(in: loads, label: "shoal_loads_total", key: "outcome", value: outcome).increment()
    }

    /// Counts inputs dropped before compute (`cancelled`, `timed_out`).
    func countDropped(reason: String, count: Int = 1) {
        counter(in: drops, label: "shoal_dropped_inputs_total", key: "reason", value: reason).increment(by: count)
    }

    private func counter(in made: borrowing Mutex<[String: Counter]>, label: String, key: String, value: String) -> Counter {
        made.withLock { made in
            if let counter = made[value] { return counter }
            let counter = Counter(label: label, dimensions: [(key, value)], factory: factory)
            made[value] = counter
            return counter
        }
    }
}
