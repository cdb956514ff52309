import Foundation
import ShoalTesting
import Testing
@testable import ShoalControl

@Suite(.serialized, .timeLimit(.minutes(2))) struct LoadFaultTests {
    /// A closed-loop `shoal test bmk` through the gateway while the group holding both models is killed with
    /// SIGKILL: the supervisor restarts it, `alpha` (with a replica on the other group) never fails, `beta` (on
    /// the killed group only) fails while it is down and answers again after the restart, and every request is
    /// counted.
    @Test func killingAServerGroupDuringBmkIsRestartedRoutedAroundAndCounted() async throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let deployment = LocalDeployment(directory: fixture.directory)
        do {
            let state = try await deployment.start(try fixture.spec(gateway: true, restartDelayMs: 3_000), timeout: .seconds(60))
            let both = try #require(state.members.first { $0.models.contains("beta") })
            let victim = try #require(both.pid)
            let file = fixture.root.appendingPathComponent("bmk.json").path
            let bmk = try ShoalExecutable.start([
                "test", "bmk", "--url", "http://127.0.0.1:\(fixture.configuration.server.gatewayPort)",
                "--model", "alpha", "--model", "beta", "--protocol", "kserve", "--mix", "short", "--concurrency", "4",
                "--duration", "10", "--timeout", "10", "--out", file,
            ], in: fixture.root)
            // The kill comes once bmk reports its first second of requests, however long it took to start; the
            // restart waits 3 s, so requests to beta meet the outage on any machine.
            let progress = await Self.readUntil("req/s", from: bmk.standardError)
            try #require(progress.contains("req/s"), "bmk printed no progress: \(progress)")
            ProcessLiveness.send(SIGKILL, to: victim)
            let summary = await Self.readUntil(nil, from: bmk.standardOutput)
            #expect(await ProcessLiveness.waitForExit(bmk.processIdentifier, timeout: .seconds(30)))
            #expect(summary.contains("http_503"), "the summary reports the failures: \(summary)")
            let result = try LoadResult.read(file)

            let restarted = try #require(try LocalDeployment(directory: fixture.directory).state()?.members.first { $0.name == both.name })
            #expect(restarted.restarts == 1 && restarted.pid != victim)

            // Every request is accounted for: answered or failed, by status and kind, in total and per model.
            let failures = result.errors.values.reduce(0, +)
            #expect(result.completed == result.sent)
            #expect(result.ok + failures == result.completed)
            #expect(result.statusCounts.values.reduce(0, +) + result.errors.filter { !$0.key.hasPrefix("http_") }.values.reduce(0, +)
                == result.completed)
            let perModel = result.perModel.values.reduce(0) { $0 + Int($1.count) }
                + result.modelErrors.values.reduce(0) { $0 + $1.values.reduce(0, +) }
            #expect(perModel == result.completed)

            // The gateway routed alpha to its other replica; beta had none, so its failures are the gateway's
            // 503s, before the restart only.
            #expect(result.modelErrors["alpha"] == nil, "\(result.modelErrors)")
            let beta = try #require(result.modelErrors["beta"], "beta's group was down: some requests must fail")
            #expect(beta.keys.sorted() == ["http_503"])
            #expect(result.timeline.first.map { $0.ok == $0.completed && $0.ok > 0 } == true, "\(result.timeline)")
            let lastFailure = try #require(result.timeline.lastIndex { $0.ok < $0.completed })
            #expect(result.timeline[(lastFailure + 1)...].contains { $0.ok > 0 && $0.ok == $0.completed },
                    "requests succeed again after the restart: \(result.timeline)")
            #expect((result.perModel["beta"]?.count ?? 0) > 0)
        } catch {
            try await deployment.stop()
            throw error
        }
        try await deployment.stop()
        #expect(try deployment.state() == nil)
    }

    /// What a child writes to `pipe` until `marker` appears (nil: until the end), read on a Dispatch thread.
    static func readUntil(_ marker: String?, from pipe: Any?) async -> String {
        guard let handle = (pipe as? Pipe)?.fileHandleForReading else { return "" }
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var text = ""
                while marker.map({ !text.contains($0) }) ?? true {
                    let chunk = handle.availableData
                    if chunk.isEmpty { break }
                    text += String(decoding: chunk, as: UTF8.self)
                }
                continuation.resume(returning: text)
            }
        }
    }
}
