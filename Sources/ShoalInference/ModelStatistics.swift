import Foundation
import Synchronization

/// What one model has done since the server started. `/metrics` shows these for the busiest and the pinned
/// models only, so that its size does not grow with the number of models; `GET /v2/models/{name}/stats`
/// returns them for any one.
public struct ModelStatistics: Sendable, Equatable, Codable {
    public var name: String
    /// Requests answered with outputs, and the seconds they spent in the engine (queue and compute).
    public var requests = 0
    public var requestSeconds = 0.0
    /// Requests that ended in an error after the model was found.
    public var failures = 0
    /// Inputs computed, the seconds they waited in the queue, and the seconds of the batches they were in.
    public var inputs = 0
    public var queueSeconds = 0.0
    public var computeSeconds = 0.0
    /// Inputs dropped before compute: their client left, or their deadline passed.
    public var dropped = 0
    /// Loads of the model from its files, and the seconds they took.
    public var loads = 0
    public var loadSeconds = 0.0
    /// Times the model was taken out of memory to make room for another.
    public var evictions = 0
    /// Requests that found the model in memory, and those that waited for it to load.
    public var cacheHits = 0
    public var cacheMisses = 0
    /// When the model last answered a request.
    public var lastUsed: Date?

    public init(name: String) {
        self.name = name
    }
}

/// The live statistics of one model: its own lock, so that counting never contends across models.
final class ModelCounters: Sendable {
    private let statistics: Mutex<ModelStatistics>

    init(name: String) {
        statistics = Mutex(ModelStatistics(name: name))
    }

    /// A copy of the statistics now.
    var snapshot: ModelStatistics { statistics.withLock { $0 } }

    /// Requests answered, for choosing the busiest models.
    var requests: Int { statistics.withLock { $0.requests } }

    func update(_ change: (inout ModelStatistics) -> Void) {
        statistics.withLock { change(&$0) }
    }
}
