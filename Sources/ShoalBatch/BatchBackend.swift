/// What runs a batch's texts through its model: the engine in this process, or a Shoal server or gateway.
public protocol BatchBackend: Sendable {
    /// `embedding` or `classification`.
    var task: String { get }
    /// One prediction per text, in order. Throws `BatchRefusal` when the texts themselves are refused (one of them
    /// breaks a limit of the model), any other error when the model or the server failed.
    func predict(_ texts: [String]) async throws -> [BatchPrediction]
}

/// The model refused a request's texts: one of them is not something it takes (too long, empty, …).
public struct BatchRefusal: Error, Sendable {
    /// The model's reason.
    public var reason: String

    /// A refusal for `reason`.
    public init(reason: String) {
        self.reason = reason
    }
}
