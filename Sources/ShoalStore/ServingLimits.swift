/// How a model server batches and admits work: the one set of defaults and the one validation behind the
/// engine's configuration, `shoal serve`'s options and the `server` section of `shoal.yaml`.
///
/// It lives in the store module because that is the lowest module both the engine and the control plane (which
/// builds without the engine) depend on; it holds plain values and no engine code.
public struct ServingLimits: Sendable, Hashable {
    /// Most tokens one batch holds; a single longer input still runs alone.
    public var maxBatchTokens = 16_384
    /// Most inputs (texts) one batch holds.
    public var maxBatchInputs = 64
    /// How long the oldest input of a queue may wait for a fuller batch while the compute thread is free.
    public var maxQueueDelay: Duration = .zero
    /// Most inputs waiting in one model's queue; beyond it requests are refused as overloaded.
    public var maxQueuedInputs = 1_024
    /// How long a request may take, from admission to its outputs.
    public var requestTimeout: Duration = .seconds(30)
    /// Bytes of model parameters the engine may hold; `nil` for no limit.
    public var memoryBudget: Int?
    /// Most texts in one request.
    public var maxInputsPerRequest = 256
    /// Most UTF-8 bytes in one text.
    public var maxTextBytes = 64 * 1024

    /// The defaults.
    public init() {}

    /// One setting, with its `shoal serve` option and its `shoal.yaml` key (where `shoal.yaml` has one).
    public enum Setting: String, Sendable, CaseIterable {
        case maxBatchTokens, maxBatchInputs, maxQueueDelay, maxQueuedInputs, requestTimeout, memoryBudget
        case maxInputsPerRequest, maxTextBytes

        /// The `shoal serve` option that sets it.
        public var option: String {
            switch self {
            case .maxBatchTokens: "--max-batch-tokens"
            case .maxBatchInputs: "--max-batch-inputs"
            case .maxQueueDelay: "--max-queue-delay"
            case .maxQueuedInputs: "--max-queue-size"
            case .requestTimeout: "--request-timeout"
            case .memoryBudget: "--memory-budget"
            case .maxInputsPerRequest: "--max-inputs"
            case .maxTextBytes: "--max-text-bytes"
            }
        }

        /// The key of `shoal.yaml`'s `server` section that sets it, if any.
        public var configurationKey: String? {
            switch self {
            case .maxBatchTokens: "server.max_batch_tokens"
            case .maxBatchInputs: "server.max_batch_inputs"
            case .maxQueueDelay: "server.max_queue_delay_ms"
            case .memoryBudget: "server.memory_budget"
            case .maxQueuedInputs, .requestTimeout, .maxInputsPerRequest, .maxTextBytes: nil
            }
        }
    }

    /// A setting out of range and what it must be.
    public struct Violation: Sendable, Hashable, CustomStringConvertible {
        /// The setting.
        public var setting: Setting
        /// What it must be, in words: "at least 1".
        public var requirement: String

        /// The setting by its option: "--max-batch-tokens must be at least 1".
        public var description: String { "\(setting.option) must be \(requirement)" }
    }

    /// The first setting out of range, or nil when every one is valid.
    public var violation: Violation? {
        let checks: [(Bool, Setting, String)] = [
            (maxBatchTokens >= 1, .maxBatchTokens, "at least 1"),
            (maxBatchInputs >= 1, .maxBatchInputs, "at least 1"),
            (maxQueueDelay >= .zero, .maxQueueDelay, "zero or more"),
            (maxInputsPerRequest >= 1, .maxInputsPerRequest, "at least 1"),
            (maxQueuedInputs >= maxInputsPerRequest, .maxQueuedInputs,
             "at least the inputs of one request (\(maxInputsPerRequest))"),
            (requestTimeout > .zero, .requestTimeout, "positive"),
            ((memoryBudget ?? 1) > 0, .memoryBudget, "positive"),
            (maxTextBytes >= 1, .maxTextBytes, "at least 1"),
        ]
        return checks.first { !$0.0 }.map { Violation(setting: $0.1, requirement: $0.2) }
    }
}
