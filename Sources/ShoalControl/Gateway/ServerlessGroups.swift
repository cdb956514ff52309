import Foundation
import ServiceLifecycle

/// Starts and stops the serverless groups of a gateway: locally the deployment's supervisor (`SupervisorClient`).
public protocol GroupStarter: Sendable {
    /// Starts `group` and returns once its server is ready; throws the reason when it cannot start.
    func start(group: String) async throws
    /// Stops `group`.
    func stop(group: String) async throws
}

/// The gateway's view of its serverless groups: which are warm, the requests each serves and holds, and when
/// each was last used. A request for a cold group waits in the group's bounded queue while one start runs
/// (however many requests wait); `run()` stops a group that has been idle for its `idle_seconds`.
public actor ServerlessGroups: Service {
    /// What a request for a serverless group may do.
    public enum Admission: Sendable, Equatable {
        /// Forward it; `coldStart` is how long it waited for the group to start, nil when it was warm.
        case ready(coldStart: Duration?)
        /// The group's queue is full: answer 429.
        case overloaded
        /// The group could not start, for this reason: answer 503 (the next request tries again).
        case failed(String)
    }

    /// A group as `GET /gateway/serverless` reports it.
    public struct Status: Codable, Sendable, Equatable {
        /// `cold`, `starting`, `warm` or `stopping`.
        public var state: String
        public var starts: Int
        public var stops: Int
        public var failedStarts: Int
        public var inFlight: Int
        public var queued: Int
        /// Milliseconds the last start took, from asking for it to the group's readiness.
        public var lastStartMs: Double?
    }

    private enum Phase: String { case cold, starting, warm, stopping }
    private enum Outcome: Sendable { case started, failed(String), stopped }

    private struct Group {
        var settings: PlacementPlan.Serverless
        var phase = Phase.cold
        var inFlight = 0
        var queued = 0
        var lastActive = ContinuousClock.now
        /// The start or stop under way, which queued requests wait for.
        var transition: Task<Outcome, Never>?
        var starts = 0
        var stops = 0
        var failedStarts = 0
        var lastStart: Duration?
    }

    private var groups: [String: Group]
    private let starter: any GroupStarter

    /// The serverless groups of `routes`, each cold until its first request, started and stopped by `starter`.
    public init(routes: GatewayRoutes, starter: any GroupStarter) {
        groups = Dictionary(routes.serverless.values.map { ($0.group, Group(settings: $0.settings)) }, uniquingKeysWith: { first, _ in first })
        self.starter = starter
    }

    /// Admits a request for `group`: at once when it is warm, else after the start it waits for (counted in
    /// the group's in-flight requests until `finished(_:)`); or refuses it.
    public func admit(_ name: String) async -> Admission {
        let began = ContinuousClock.now
        var waited = false
        while let group = groups[name] {
            if group.phase == .warm {
                groups[name]?.inFlight += 1
                return .ready(coldStart: waited ? ContinuousClock.now - began : nil)
            }
            guard group.queued < group.settings.maxQueued else { return .overloaded }
            if group.phase == .cold { beginStart(name) }
            guard let transition = groups[name]?.transition else { continue }
            groups[name]?.queued += 1
            let outcome = await transition.value
            groups[name]?.queued -= 1
            waited = true
            if case .failed(let reason) = outcome { return .failed(reason) }
        }
        return .ready(coldStart: nil)
    }

    /// Records that a request admitted for `group` has been answered.
    public func finished(_ name: String) {
        groups[name]?.inFlight -= 1
        groups[name]?.lastActive = .now
    }

    /// Records that a warm group's server could not be reached (it exited by itself): the group is cold, so
    /// that the next admission starts it again. Returns whether it was warm.
    public func lost(_ name: String) -> Bool {
        guard groups[name]?.phase == .warm else { return false }
        groups[name]?.phase = .cold
        return true
    }

    /// Every group's state, by name.
    public func status() -> [String: Status] {
        groups.mapValues { group in
            Status(state: group.phase.rawValue, starts: group.starts, stops: group.stops, failedStarts: group.failedStarts,
                   inFlight: group.inFlight, queued: group.queued,
                   lastStartMs: group.lastStart.map { Double($0.components.seconds) * 1e3 + Double($0.components.attoseconds) / 1e15 })
        }
    }

    private func beginStart(_ name: String) {
        groups[name]?.phase = .starting
        let starter = starter
        groups[name]?.transition = Task {
            let began = ContinuousClock.now
            let outcome: Outcome
            do {
                try await starter.start(group: name)
                outcome = .started
            } catch {
                outcome = .failed("serverless group \(name) could not start: \(error)")
            }
            self.settle(name, outcome, took: ContinuousClock.now - began)
            return outcome
        }
    }

    /// Stops every warm group that has served nothing for its idle time.
    func stopIdleGroups() {
        let now = ContinuousClock.now
        for (name, group) in groups where group.phase == .warm && group.inFlight == 0 && group.queued == 0
            && now - group.lastActive >= .seconds(group.settings.idleSeconds) {
            groups[name]?.phase = .stopping
            let starter = starter
            groups[name]?.transition = Task {
                try? await starter.stop(group: name)  // one that failed to stop is started again (at once) on demand
                self.settle(name, .stopped, took: .zero)
                return .stopped
            }
        }
    }

    private func settle(_ name: String, _ outcome: Outcome, took: Duration) {
        groups[name]?.transition = nil
        groups[name]?.lastActive = .now
        switch outcome {
        case .started:
            groups[name]?.phase = .warm
            groups[name]?.starts += 1
            groups[name]?.lastStart = took
        case .failed:
            groups[name]?.phase = .cold
            groups[name]?.failedStarts += 1
        case .stopped:
            groups[name]?.phase = .cold
            groups[name]?.stops += 1
        }
    }

    /// Checks for idle groups until the gateway shuts down, at a tenth of the shortest idle time (10 ms to 1 s).
    public func run() async throws {
        let shortest = groups.values.map(\.settings.idleSeconds).min() ?? 1
        let interval = Duration.seconds(min(1, max(0.01, shortest / 10)))
        try? await cancelWhenGracefulShutdown {
            while true {
                try await Task.sleep(for: interval)
                await self.stopIdleGroups()
            }
        }
    }
}
