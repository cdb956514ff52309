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
    /// Why the model is not ready: "not loaded", "unloaded", "evicted" or the load error.
    public var reason: String
}
