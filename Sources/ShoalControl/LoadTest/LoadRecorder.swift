import Foundation

/// Collects outcomes from every concurrent request of a run. Shared by the request tasks, so its state is
/// behind a lock: recording is a few counter updates, far shorter than a request.
final class LoadRecorder: @unchecked Sendable {
    /// How one request ended.
    enum Outcome: Sendable {
        case status(Int)
        case failure(String)
    }

    private struct State {
        var sent = 0
        var completed = 0
        var ok = 0
        var statusCounts: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var timeline: [Int: (completed: Int, ok: Int)] = [:]
        var latency = LatencyHistogram()
        var perModel: [String: LatencyHistogram] = [:]
        var modelErrors: [String: [String: Int]] = [:]
        var lastCompletion: Double = 0
    }

    private let lock = NSLock()
    private var state = State()

    /// Claims the next request number, or nil once `limit` requests have been started.
    func claim(limit: Int) -> Int? {
        lock.withLock {
            guard state.sent < limit else { return nil }
            state.sent += 1
            return state.sent - 1
        }
    }

    /// Requests started and not yet ended.
    var inFlight: Int { lock.withLock { state.sent - state.completed } }

    /// Requests ended so far, and how many of them failed.
    func snapshot() -> (completed: Int, failed: Int) {
        lock.withLock { (state.completed, state.completed - state.ok) }
    }

    /// Records a request that ended `elapsed` seconds after the run started and took `latency` seconds.
    func record(_ outcome: Outcome, model: String, latency: Double, elapsed: Double) {
        lock.withLock {
            var failure: String?
            state.completed += 1
            state.lastCompletion = max(state.lastCompletion, elapsed)
            let second = Int(elapsed)
            var interval = state.timeline[second] ?? (0, 0)
            interval.completed += 1
            switch outcome {
            case .status(let code):
                state.statusCounts[String(code), default: 0] += 1
                if (200..<300).contains(code) {
                    state.ok += 1
                    interval.ok += 1
                    state.latency.record(seconds: latency)
                    state.perModel[model, default: LatencyHistogram()].record(seconds: latency)
                } else {
                    failure = "http_\(code)"
                }
            case .failure(let kind):
                failure = kind
            }
            if let failure {
                state.errors[failure, default: 0] += 1
                state.modelErrors[model, default: [:]][failure, default: 0] += 1
            }
            state.timeline[second] = interval
        }
    }

    func result(settings: LoadSettings, started: Date) -> LoadResult {
        lock.withLock {
            let seconds = (state.timeline.keys.max() ?? -1) + 1
            return LoadResult(
                settings: settings, machine: .current(), started: started, durationS: state.lastCompletion,
                sent: state.sent, completed: state.completed, ok: state.ok, statusCounts: state.statusCounts,
                errors: state.errors,
                timeline: (0..<seconds).map { second in
                    let interval = state.timeline[second] ?? (0, 0)
                    return .init(second: second, completed: interval.completed, ok: interval.ok)
                },
                latency: state.latency, perModel: state.perModel, modelErrors: state.modelErrors)
        }
    }
}
