import Foundation
import Logging
import Metrics
import ShoalModels

/// How the engine loads, batches and admits work; validated once at start-up.
public struct InferenceConfiguration: Sendable {
    /// Threads of the one compute pool every batch runs on, the compute thread included.
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    /// How models are loaded (GEMM provider, sequence length cap).
    public var modelOptions = ModelOptions()
    /// Most tokens one batch holds; a single longer input still runs alone.
    public var maxBatchTokens = 16_384
    /// Most inputs (texts) one batch holds.
    public var maxBatchInputs = 64
    /// How long the oldest input of a queue may wait for a fuller batch while the compute thread is free.
    public var maxQueueDelay: Duration = .zero
    /// Most inputs waiting in one model's queue; beyond it requests are refused as overloaded.
    public var maxQueuedInputs = 1_024
    /// How long a request may take, from admission to its outputs; checked when its inputs' batch is cut.
    public var requestTimeout: Duration = .seconds(30)
    /// Bytes of model parameters the engine may hold; `nil` for no limit.
    public var memoryBudget: Int?
    /// Models that are never evicted; they are loaded when the engine starts.
    public var pinned: Set<String> = []
    /// Truncate inputs longer than the model's maximum length (otherwise refuse them).
    public var truncate = true
    /// Most texts in one request.
    public var maxInputsPerRequest = 256
    /// Most UTF-8 bytes in one text.
    public var maxTextBytes = 64 * 1024
    /// Where the engine's metrics go.
    public var metricsFactory: any MetricsFactory = MetricsSystem.factory
    /// The engine's logger.
    public var logger = Logger(label: "shoal.inference")

    /// The defaults.
    public init() {}

    /// Throws an error naming the first setting that is out of range.
    public func validate() throws(InferenceError) {
        let checks: [(Bool, String)] = [
            (threads >= 1, "threads must be at least 1"),
            (maxBatchTokens >= 1, "the maximum batch tokens must be at least 1"),
            (maxBatchInputs >= 1, "the maximum batch inputs must be at least 1"),
            (maxQueueDelay >= .zero, "the maximum queue delay must not be negative"),
            (maxInputsPerRequest >= 1, "the maximum inputs per request must be at least 1"),
            (maxQueuedInputs >= maxInputsPerRequest,
             "the queue size (\(maxQueuedInputs)) must hold one request of \(maxInputsPerRequest) inputs"),
            (requestTimeout > .zero, "the request timeout must be positive"),
            ((memoryBudget ?? 1) > 0, "the memory budget must be positive"),
            (maxTextBytes >= 1, "the maximum text length must be at least 1 byte"),
        ]
        if let failed = checks.first(where: { !$0.0 }) { throw .invalidInput(failed.1) }
    }

    /// Refuses a request's texts that break the limits: none, too many, or one too large.
    func validate(_ texts: [String]) throws(InferenceError) {
        guard !texts.isEmpty else { throw .invalidInput("no input text; send at least one") }
        guard texts.count <= maxInputsPerRequest else {
            throw .inputTooLarge("\(texts.count) texts; at most \(maxInputsPerRequest) per request")
        }
        if let index = texts.firstIndex(where: { $0.utf8.count > maxTextBytes }) {
            throw .inputTooLarge("text \(index) has \(texts[index].utf8.count) bytes; at most \(maxTextBytes) per text")
        }
    }
}
