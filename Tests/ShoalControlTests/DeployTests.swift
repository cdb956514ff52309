import Foundation
import Testing
@testable import ShoalControl

@Suite(.serialized, .timeLimit(.minutes(2))) struct DeployTests {
    @Test func restartPolicyDoublesUpToItsCeiling() {
        var policy = RestartPolicy()
        policy.initialDelayMs = 100
        policy.maxDelayMs = 1_000
        #expect((1...6).map { policy.delay(afterCrashes: $0) }
            == [100, 200, 400, 800, 1_000, 1_000].map { Duration.milliseconds($0) })
    }

    @Test func specRunsEachGroupWithItsModelsOnItsPort() throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let spec = try fixture.spec()
        #expect(fixture.plan.groups.count == 2)
        #expect(spec.members.map(\.port) == fixture.plan.groups.map(\.port))
        for (member, group) in zip(spec.members, fixture.plan.groups) {
            #expect(Set(member.models) == Set(group.placements.map(\.model)))
            #expect(member.arguments.contains("--port") && member.arguments.contains(String(group.port)))
            let folder = fixture.directory.groups.appendingPathComponent(group.name).appendingPathComponent("models")
            let linked = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            #expect(Set(linked) == Set(member.models))
            let asyncDir = try #require(member.arguments.firstIndex(of: "--async-dir")).advanced(by: 1)
            #expect(member.arguments[asyncDir] == fixture.directory.asyncQueue(of: group.name).path)
        }
    }

    /// Starts both groups, kills one server (the supervisor restarts it), and stops, leaving no process.
    @Test func runRestartsACrashedServerAndStopLeavesNothing() async throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let deployment = LocalDeployment(directory: fixture.directory)
        var pids: [Int32] = []
        do {
            let state = try await deployment.start(try fixture.spec(), timeout: .seconds(60))
            pids = state.pids
            #expect(state.members.map(\.name) == fixture.plan.groups.map(\.name))
            #expect(state.members.allSatisfy { $0.pid.map(ProcessLiveness.isAlive) == true })
            await #expect(throws: ControlError.self) { try await deployment.start(try fixture.spec()) }

            let victim = try #require(state.members.first?.pid)
            ProcessLiveness.send(SIGKILL, to: victim)
            let restarted = try await fixture.waitForState { state in
                state.members[0].restarts == 1 && state.members[0].pid.map { $0 != victim } == true
            }
            let member = try #require(restarted?.members[0])
            pids += member.pid.map { [$0] } ?? []
            #expect(member.lastExit != 0)
            let log = try String(contentsOfFile: member.log, encoding: .utf8)
            #expect(log.contains("restarting in"))
        } catch {
            try await deployment.stop()
            throw error
        }
        // An accepted asynchronous request outlives the stop, to run after the next start.
        let queued = fixture.directory.asyncQueue(of: fixture.plan.groups[0].name).appendingPathComponent("queue/accepted.json")
        #expect(FileManager.default.fileExists(atPath: queued.deletingLastPathComponent().path))
        try Data("{}".utf8).write(to: queued)
        let stopped = try await deployment.stop()
        #expect(FileManager.default.fileExists(atPath: queued.path))
        #expect(Set(stopped).isSubset(of: Set(pids)) && !stopped.isEmpty)
        #expect(pids.allSatisfy { !ProcessLiveness.isAlive($0) })
        #expect(try deployment.state() == nil)
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.state.path))
    }

    /// A port another process listens on is refused before any server starts: its health check would be
    /// answered by that process while the member failed to bind.
    @Test func aPortAnotherProcessListensOnIsRefusedBeforeAnythingStarts() async throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let port = fixture.plan.groups[1].port
        let squatter = try ListeningSocket(port: port)
        defer { squatter.close() }
        let deployment = LocalDeployment(directory: fixture.directory)
        let error = await #expect(throws: ControlError.self) { try await deployment.start(try fixture.spec(), timeout: .seconds(10)) }
        #expect(String(describing: try #require(error)).contains("port \(port) (\(fixture.plan.groups[1].name))"))
        #expect(try deployment.state() == nil)
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.state.path))
    }
}
