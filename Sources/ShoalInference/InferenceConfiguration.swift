import Foundation
import Logging
import Metrics
import ShoalModels
import ShoalStore

/// How the engine loads, batches and admits work; validated once at start-up.
public struct InferenceConfiguration: Sendable {
    /// Threads of the one compute pool every batch runs on, the compute thread included.
    public var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    /// How models are loaded (GEMM provider, sequence length cap).
    public var modelOptions = ModelOptions()
    /// Batching, admission and memory limits, with the defaults and checks `shoal serve` and `shoal.yaml` share.
    public var limits = ServingLimits()
    /// Models that are never evicted; they are loaded when the engine starts.
    public var pinned: Set<String> = []
    /// Truncate inputs longer than the model's maximum length (otherwise refuse them).
    public var truncate = true
    /// Where the engine's metrics go.
    public var metricsFactory: any MetricsFactory = MetricsSystem.factory
    /// The engine's logger.
    public var logger = Logger(label: "shoal.inference")

    /// The defaults.
    public init() {}

    /// Throws an error naming the first setting that is out of range.
    public func validate() throws(InferenceError) {
        guard threads >= 1 else { throw .invalidInput("threads must be at least 1") }
        if let violation = limits.violation { throw .invalidInput(violation.description) }
    }

    /// Refuses a request's texts that break the limits: none, too many, or one too large.
    func validate(_ texts: [String]) throws(InferenceError) {
        guard !texts.isEmpty else { throw .invalidInput("no input text; send at least one") }
        guard texts.count <= limits.maxInputsPerRequest else {
            throw .inputTooLarge("\(texts.count) texts; at most \(limits.maxInputsPerRequest) per request")
        }
        if let index = texts.firstIndex(where: { $0.utf8.count > limits.maxTextBytes }) {
            throw .inputTooLarge("text \(index) has \(texts[index].utf8.count) bytes; at most \(limits.maxTextBytes) per text")
        }
    }
}
