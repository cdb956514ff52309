import Foundation
import ShoalStore

/// A model of the engine, loaded: what it computes, and the way to run inputs through it. It is not evicted
/// while a `ServedModel` holds it, so a caller can check a request against `info` before anything is queued.
public final class ServedModel: Sendable {
    /// What the model computes: task, dimensions, maximum length, labels.
    public let info: ModelInfo
    private let lease: ModelRegistry.Lease
    private let registry: ModelRegistry
    private let scheduler: BatchScheduler
    private let configuration: InferenceConfiguration

    init(lease: ModelRegistry.Lease, registry: ModelRegistry, scheduler: BatchScheduler,
         configuration: InferenceConfiguration) {
        info = lease.info
        self.lease = lease
        self.registry = registry
        self.scheduler = scheduler
        self.configuration = configuration
    }

    deinit {
        registry.release(lease)
    }

    /// The outputs for `texts`: embeddings or class probabilities, one row per text. The texts are tokenized and
    /// checked in the calling task; cancelling it, or `isAbandoned` turning true (the client went away), drops the
    /// inputs before they are computed.
    public func infer(_ texts: [String], isAbandoned: @escaping @Sendable () -> Bool = { false }) async throws
        -> InferenceResult {
        try configuration.validate(texts)
        try Task.checkCancellation()
        let started = ContinuousClock.now
        let request = PendingRequest(
            modelName: lease.name, counters: lease.counters, inputs: texts.count,
            deadline: started + configuration.limits.requestTimeout, isAbandoned: isAbandoned)
        do {
            try scheduler.enqueue(request, texts: texts, on: lease.instance, name: lease.name)
            let (outputs, tokens) = try await request.outputs()
            let seconds = (ContinuousClock.now - started).seconds
            lease.counters.update {
                $0.requests += 1
                $0.requestSeconds += seconds
                $0.lastUsed = Date()
            }
            return InferenceResult(model: info, outputs: outputs, tokenCount: tokens)
        } catch {
            lease.counters.update { $0.failures += 1 }
            throw error
        }
    }
}
