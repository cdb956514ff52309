/// A model's place in the repository index.
public struct ModelStatus: Sendable, Equatable {
    /// Where a model stands, named as the model repository extension names it.
    public enum State: String, Sendable {
        case ready = "READY"
        case loading = "LOADING"
        case unavailable = "UNAVAILABLE"
    }

    public var name: String
    public var version: String
    public var state: State
    /// Why the model is not ready: `notLoaded`, "unloaded", "evicted" (each loads on its next request) or the
    /// load error (which only an explicit load retries).
    public var reason: String

    /// The reason of a model the server has not loaded yet: models load lazily, so it is not ready until then.
    public static let notLoaded = "not loaded; loads on first request"
}
