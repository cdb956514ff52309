/// Everything that can go wrong between a request naming a model and its outputs, each case saying what to do.
public enum InferenceError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No model of this name exists in the model source.
    case unknownModel(String)
    /// The model exists but cannot be served: its files failed to load.
    case modelUnavailable(name: String, reason: String)
    /// The model does not fit the memory budget even after evicting every idle model.
    case cannotFit(name: String, bytes: Int, budget: Int)
    /// The model's queue is full; retry after about this many seconds.
    case overloaded(name: String, retryAfterSeconds: Int)
    /// The request waited longer than the request timeout.
    case timedOut(name: String, seconds: Double)
    /// The engine is shutting down and takes no new work.
    case shuttingDown
    /// The input is well-formed but cannot be processed (empty, over the model's length with truncation off, …).
    case invalidInput(String)
    /// The input exceeds a size limit (input count or text length).
    case inputTooLarge(String)
    /// The caller went away before the request was computed.
    case cancelled
    /// The engine failed in a way the caller cannot fix.
    case internalFailure(String)

    public var description: String {
        switch self {
        case .unknownModel(let name):
            "unknown model \"\(name)\"; POST /v2/repository/index lists the models this server has"
        case .modelUnavailable(let name, let reason):
            "model \"\(name)\" is unavailable: \(reason); fix its files, then POST /v2/repository/models/\(name)/load"
        case .cannotFit(let name, let bytes, let budget):
            "model \"\(name)\" needs \(bytes) bytes but only \(budget) bytes of the memory budget can be freed; "
                + "raise --memory-budget or unpin models"
        case .overloaded(let name, let seconds):
            "model \"\(name)\" is overloaded; retry in \(seconds) s"
        case .timedOut(let name, let seconds):
            "request to model \"\(name)\" did not finish within the \(seconds) s request timeout"
        case .shuttingDown:
            "the server is shutting down; retry against another replica"
        case .invalidInput(let reason):
            "invalid input: \(reason)"
        case .inputTooLarge(let reason):
            "input too large: \(reason)"
        case .cancelled:
            "the request was cancelled"
        case .internalFailure(let reason):
            "internal error: \(reason)"
        }
    }
}
