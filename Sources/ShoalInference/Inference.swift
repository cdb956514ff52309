import Foundation
import Logging
import ServiceLifecycle
import ShoalModels
import ShoalTensor

/// The engine: serves the models of a source, loading them lazily within a memory budget, batching their
/// requests and computing every batch on one compute thread. Run it as a `Service`; `run()` returns once the
/// queued work is done after a graceful shutdown.
public final class Inference: Service, Sendable {
    /// The settings the engine runs with.
    public let configuration: InferenceConfiguration
    private let registry: ModelRegistry
    private let scheduler: BatchScheduler

    /// An engine over `source`; nothing is loaded or computed until `run()`.
    public init(source: any ModelSource, configuration: InferenceConfiguration = InferenceConfiguration()) throws(InferenceError) {
        try configuration.validate()
        self.configuration = configuration
        let metrics = InferenceMetrics(factory: configuration.metricsFactory)
        registry = ModelRegistry(source: source, configuration: configuration, metrics: metrics)
        scheduler = BatchScheduler(configuration: configuration, metrics: metrics)
    }

    /// Starts the compute thread and the loads (each a child task of this one) and loads the pinned models;
    /// returns after a graceful shutdown, once the loads under way have ended and every queued request is computed.
    public func run() async throws {
        let scheduler = scheduler
        let registry = registry
        async let computed: Void = Thread.run(named: "shoal-compute") { scheduler.runComputeLoop() }
        async let loads: Void = registry.runLoads()
        for name in configuration.pinned.sorted() {
            do {
                registry.release(try await registry.acquire(name))
            } catch {
                configuration.logger.error("cannot load pinned model", metadata: ["model": "\(name)", "error": "\(error)"])
            }
        }
        try? await gracefulShutdown()
        registry.stopLoading()
        await loads
        scheduler.stop()
        try await computed
    }

    /// Model `name`, loaded if it is not: check a request against its `info`, then run it with `infer`. Loads
    /// run inside `run()`: a model asked for before the engine runs loads once it does.
    public func model(_ name: String) async throws -> ServedModel {
        ServedModel(lease: try await registry.acquire(name), registry: registry, scheduler: scheduler,
                    configuration: configuration)
    }

    /// Inputs waiting in every model's queue: 0 when real-time requests leave compute free.
    public var queuedInputs: Int { scheduler.queuedInputCount }

    /// The outputs of model `name` for `texts`: `model(name)` and its `infer`, with the texts checked first so
    /// that an invalid request loads nothing.
    public func infer(
        model name: String, texts: [String], isAbandoned: @escaping @Sendable () -> Bool = { false }
    ) async throws -> InferenceResult {
        try validate(texts)
        return try await model(name).infer(texts, isAbandoned: isAbandoned)
    }

    /// Refuses texts that break the request limits (none, too many, one too large); loads nothing.
    public func validate(_ texts: [String]) throws(InferenceError) {
        try configuration.validate(texts)
    }

    /// What model `name` computes; loads it if needed.
    public func info(model name: String) async throws -> ModelInfo {
        let lease = try await registry.acquire(name)
        registry.release(lease)
        return lease.info
    }

    /// Whether model `name` is loaded; throws `unknownModel` for a name the source does not have. Loads nothing.
    public func isReady(model name: String) async throws -> Bool {
        if registry.isLoaded(name) { return true }
        guard try await registry.status(of: name) != nil else { throw InferenceError.unknownModel(name) }
        return false
    }

    /// Every model the source has, with its state.
    public func index() async throws -> [ModelStatus] {
        try await registry.statuses()
    }

    /// The state of model `name`, nil when the source does not have it; loads nothing.
    public func index(model name: String) async throws -> ModelStatus? {
        try await registry.status(of: name)
    }

    /// Loads model `name` now (again, from its files, when it is loaded already).
    @discardableResult
    public func load(model name: String) async throws -> ModelInfo {
        guard try await registry.status(of: name) != nil else { throw InferenceError.unknownModel(name) }
        return try await registry.load(explicitly: name).info
    }

    /// Takes model `name` out of memory; requests already admitted finish.
    public func unload(model name: String) async throws {
        guard try await registry.status(of: name) != nil else { throw InferenceError.unknownModel(name) }
        try await registry.unload(name)
    }

    /// What model `name` has done since the start (zeros when it has not been asked for); throws `unknownModel`
    /// for a name the source does not have. Loads nothing.
    public func statistics(model name: String) async throws -> ModelStatistics {
        if let statistics = registry.statistics(of: name) { return statistics }
        guard try await registry.status(of: name) != nil else { throw InferenceError.unknownModel(name) }
        return ModelStatistics(name: name)
    }

    /// The statistics of the `count` models that answered most requests, busiest first, then the pinned ones.
    public func busiestModels(_ count: Int) -> [ModelStatistics] {
        registry.busiest(count)
    }

    /// Bytes of model parameters in memory.
    public var memoryUsed: Int { registry.memoryUsed }

    /// Bytes of the memory budget reserved for loads under way.
    public var memoryReserved: Int { registry.memoryReserved }
}

extension Inference {
    /// Histogram buckets that suit the engine's count histograms, by metric label.
    public static let countBuckets: [String: [Double]] = [
        "shoal_batch_size": [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
        "shoal_batch_tokens": [16, 64, 256, 1024, 4096, 16_384, 65_536],
    ]
}
