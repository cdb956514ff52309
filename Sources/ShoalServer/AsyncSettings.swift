import Foundation
import ShoalStore

/// How the server takes asynchronous requests (`Prefer: respond-async`): where it queues them durably, where
/// their results go, and how much it queues.
public struct AsyncSettings: Sendable {
    /// The folder of the durable queue: each request is written and synced there before its 202.
    public var queue: URL
    /// Where results are stored, under `resultsPrefix`: the model store, or a folder.
    public var results: any StoreBackend
    /// The folder of results inside `results`.
    public var resultsPrefix = "async-results"
    /// Where an `Shoal-Input-Location` is read from: the model store, or a folder; nil refuses input locations.
    public var inputs: (any StoreBackend)?
    /// Most requests queued or running; beyond it 429.
    public var maxQueued = 10_000
    /// Requests run at once; each waits until the real-time queues are empty.
    public var concurrency = 1
    /// How long a request may wait to start when it names no `Shoal-Deadline-Seconds`.
    public var defaultDeadline: Duration = .seconds(3_600)
    /// Tries of a callback before it is given up, with doubling waits from `callbackDelay`.
    public var callbackAttempts = 5
    /// The wait before the second try of a callback.
    public var callbackDelay: Duration = .milliseconds(500)
    /// The hosts a `Shoal-Callback-URL` may name; none by default.
    public var callbackHosts = try! CallbackHosts("")

    /// Queues in `queue`; results in `results`.
    public init(queue: URL, results: any StoreBackend) {
        self.queue = queue
        self.results = results
    }
}
