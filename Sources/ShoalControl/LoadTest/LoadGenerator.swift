import AsyncHTTPClient
import Foundation
import ShoalStore

/// Drives HTTP load at a server: closed loop (a fixed number of requests in flight) or open loop (requests
/// started on a fixed schedule, latency counted from the planned start so a slow server cannot hide its
/// queueing). Every run ends by itself at its duration or request limit.
public struct LoadGenerator: Sendable {
    public let settings: LoadSettings
    let factory: LoadRequestFactory

    /// Most requests in flight in open-loop mode.
    public static let maxOpenLoopInFlight = 10_000

    public init(settings: LoadSettings) throws {
        guard settings.url.hasPrefix("http://") else {
            throw ControlError.invalidValue(key: "test.url", value: settings.url, expected: ConfigurationSchema.expected(for: "test.url"))
        }
        self.settings = settings
        factory = try LoadRequestFactory(settings: settings)
    }

    /// Runs the test; `progress` gets a line once a second.
    public func run(progress: (@Sendable (String) -> Void)? = nil) async throws -> LoadResult {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit =
            settings.mode == .closed ? settings.concurrency : max(settings.concurrency, 64)
        configuration.timeout = .init(connect: .seconds(5), read: .milliseconds(Int64(settings.timeoutS * 1_000)))
        // A refused connection is a failure to count now, not one to retry quietly until the server is back.
        configuration.connectionPool.retryConnectionEstablishment = false
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
        let recorder = LoadRecorder()
        let started = Date()
        let start = ContinuousClock.now
        let reporter = Task {
            var last = 0
            while !Task.isCancelled {
                try await Task.sleep(for: .seconds(1))
                let snapshot = recorder.snapshot()
                progress?("\(Int((ContinuousClock.now - start).seconds))s: \(snapshot.completed - last) req/s, "
                    + "\(snapshot.completed) done, \(snapshot.failed) failed")
                last = snapshot.completed
            }
        }
        switch settings.mode {
        case .closed: await closedLoop(client: client, recorder: recorder, start: start)
        case .open: await openLoop(client: client, recorder: recorder, start: start)
        }
        reporter.cancel()
        try await client.shutdown()
        return recorder.result(settings: settings, started: started)
    }

    var deadline: Duration { .milliseconds(Int64(settings.durationS * 1_000)) }
    var limit: Int { settings.requests > 0 ? settings.requests : Int.max }

    /// `concurrency` workers, each sending its next request when the last one ends.
    func closedLoop(client: HTTPClient, recorder: LoadRecorder, start: ContinuousClock.Instant) async {
        await withDiscardingTaskGroup { group in
            for _ in 0..<settings.concurrency {
                group.addTask {
                    while ContinuousClock.now - start < deadline, let index = recorder.claim(limit: limit) {
                        await send(index, client: client, recorder: recorder, start: start, planned: .now)
                    }
                }
            }
        }
    }

    /// Requests started at `rate` per second whatever the server does: workers claim the next slot of the
    /// schedule, wait for its time and send it. A slot that starts late because every worker is busy still
    /// counts its latency from its planned time, so a stalled server shows as latency, never as a lower rate.
    func openLoop(client: HTTPClient, recorder: LoadRecorder, start: ContinuousClock.Instant) async {
        // Enough workers to keep the rate while requests take up to 250 ms; beyond, slots start late.
        let workers = min(Self.maxOpenLoopInFlight, max(settings.concurrency, Int((settings.rate / 4).rounded(.up))))
        let slots = min(limit, Int((settings.durationS * settings.rate).rounded(.up)))
        await withDiscardingTaskGroup { group in
            for _ in 0..<workers {
                group.addTask {
                    while let index = recorder.claim(limit: slots) {
                        let planned = start + .seconds(Double(index) / settings.rate)
                        if planned > .now { try? await Task.sleep(until: planned, clock: .continuous) }
                        await send(index, client: client, recorder: recorder, start: start, planned: planned)
                    }
                }
            }
        }
    }

    func send(_ index: Int, client: HTTPClient, recorder: LoadRecorder, start: ContinuousClock.Instant,
              planned: ContinuousClock.Instant) async {
        let model = modelIndex(for: index)
        let outcome: LoadRecorder.Outcome
        do {
            let response = try await client.execute(factory.request(index: index, model: model),
                                                    timeout: .milliseconds(Int64(settings.timeoutS * 1_000)))
            _ = try await response.body.collect(upTo: 64 << 20)
            outcome = .status(Int(response.status.code))
        } catch {
            outcome = .failure(TransportFailure(error).rawValue)
        }
        let now = ContinuousClock.now
        recorder.record(outcome, model: factory.modelName(model), latency: (now - planned).seconds,
                        elapsed: (now - start).seconds)
    }

    /// `seq` goes through the models in turn, `requests / models` each; otherwise a model is drawn per request
    /// from a fixed pseudo-random sequence, so runs are repeatable.
    func modelIndex(for index: Int) -> Int {
        let count = factory.modelCount
        guard count > 1 else { return 0 }
        if settings.sequential, settings.requests > 0 {
            return min(count - 1, index * count / settings.requests)
        }
        var z = UInt64(truncatingIfNeeded: index) &+ 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int((z ^ (z >> 31)) % UInt64(count))
    }
}
