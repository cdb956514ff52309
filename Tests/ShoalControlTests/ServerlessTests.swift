import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ShoalStore
import ShoalTesting
import Testing
@testable import ShoalControl

/// Serverless groups: packed apart, started by the gateway through the supervisor on their first request (one
/// start however many requests wait), stopped when idle, refused beyond their queue, and a start that fails
/// answered 503 while the other groups go on.
@Suite(.serialized, .timeLimit(.minutes(3))) struct ServerlessTests {
    /// `gamma` and `delta` serverless with different queues, so each has a group of its own.
    static let gamma = serverless("gamma", idleSeconds: 1, maxQueued: 32)
    static let delta = serverless("delta", idleSeconds: 1, maxQueued: 33)

    static func serverless(_ name: String, idleSeconds: Double, maxQueued: Int) -> ShoalConfiguration.ModelSpec {
        var spec = ShoalConfiguration.ModelSpec(name: name, traffic: 1, memory: ByteCount(1 << 20), throughput: 100)
        spec.serverless = .init(idleSeconds: idleSeconds, maxQueued: maxQueued)
        return spec
    }

    @Test func serverlessModelsArePackedIntoGroupsOfTheirOwn() throws {
        let fixture = try DeployFixture(extra: [Self.gamma, Self.delta])
        defer { fixture.remove() }
        let groups = fixture.plan.groups
        let serverless = groups.filter { $0.serverless != nil }
        #expect(serverless.map { $0.placements.map(\.model) } == [["gamma"], ["delta"]])
        #expect(serverless.map(\.serverless) == [.init(idleSeconds: 1, maxQueued: 32), .init(idleSeconds: 1, maxQueued: 33)])
        #expect(groups.filter { $0.serverless == nil }.allSatisfy { group in group.placements.allSatisfy { ["alpha", "beta"].contains($0.model) } })
        let spec = try fixture.spec(gateway: true)
        #expect(spec.members.filter(\.onDemand).map(\.name) == serverless.map(\.name))
        let gateway = try #require(spec.members.last)
        #expect(gateway.arguments.suffix(2) == ["--supervisor", fixture.directory.root.standardizedFileURL.path])
        #expect(fixture.plan.reasons.contains { $0.hasPrefix("gamma, delta are serverless") })
    }

    @Test func serverlessSettingsAreReadValidatedAndSet() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-serverless-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("shoal.yaml").path
        try Data("models:\n  - name: minilm\n    serverless: {idle_seconds: 30}\n".utf8).write(to: URL(fileURLWithPath: path))
        let loaded = try ConfigurationFile.load(path: path).configuration
        #expect(loaded.models[0].serverless == .init(idleSeconds: 30, maxQueued: 64))
        let set = try ConfigurationFile.set("models.minilm.serverless.max_queued", to: "5", path: path)
        #expect(set.models[0].serverless == .init(idleSeconds: 30, maxQueued: 5))
        #expect(throws: ControlError.self) { try ConfigurationFile.set("models.minilm.serverless.idle_seconds", to: "0", path: path) }
        #expect(throws: ControlError.self) { try ConfigurationFile.set("models.minilm.serverless.max_queued", to: "0", path: path) }
        #expect(throws: ControlError.self) { try ConfigurationFile.set("models.minilm.serverless.idle", to: "1", path: path) }
        #expect(ConfigurationSchema.expected(for: "models.minilm.serverless.max_queued").contains("429"))
        #expect(!(try ConfigurationFile.load(path: nil, directory: folder.appendingPathComponent("none").path).yaml()).contains("serverless"))
    }

    /// A real deployment: the serverless group starts cold; concurrent requests cause one start and each gets
    /// its answer with the cold-start header; the group stops after its idle time and comes back on the next
    /// request, and after its server crashed. A group that cannot start (its port taken) answers 503 with the
    /// reason while the other groups serve, and the next request after the cause is gone starts it.
    @Test func aServerlessGroupStartsOnDemandAndStopsWhenIdle() async throws {
        // An idle time of seconds, not one: the steps that expect the group warm must not see it stopped by a
        // machine so loaded that a second passes between two of them.
        let fixture = try DeployFixture(extra: [Self.serverless("gamma", idleSeconds: 4, maxQueued: 32), Self.delta])
        defer { fixture.remove() }
        let deployment = LocalDeployment(directory: fixture.directory)
        do {
            let state = try await deployment.start(try fixture.spec(gateway: true), timeout: .seconds(60))
            try await Self.check(fixture, state: state)
        } catch {
            try await deployment.stop()
            throw error
        }
        try await deployment.stop()
        #expect(try deployment.state() == nil)
    }

    static func check(_ fixture: DeployFixture, state: DeploymentState) async throws {
        let gateway = "http://127.0.0.1:\(fixture.configuration.server.gatewayPort)"
        let gammaGroup = try #require(fixture.plan.groups(serving: "gamma").first)
        let deltaGroup = try #require(fixture.plan.groups(serving: "delta").first)
        #expect(state.members.filter(\.onDemand).map { $0.temperature } == ["cold", "cold"])
        #expect(!LoopbackPorts.accepts(port: gammaGroup.port))

        let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
            for _ in 0..<12 { group.addTask { try await embed("gamma", at: gateway) } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(answers.allSatisfy { $0.status == 200 }, "\(answers)")
        // Those sent while the group started waited for its one start (the rest found it warm).
        #expect(answers.filter { ($0.coldStartMs ?? 0) > 0 }.count >= 2, "\(answers)")
        #expect(try await status(gateway)[gammaGroup.name]?.starts == 1)
        let warm = try #require(try await fixture.waitForState { $0.members.first { $0.name == gammaGroup.name }?.pid != nil })
        let pid = try #require(warm.members.first { $0.name == gammaGroup.name }?.pid)
        #expect(warm.members.first { $0.name == gammaGroup.name }?.temperature == "warm")
        #expect(try await embed("gamma", at: gateway).coldStartMs == nil, "a warm group's answer has no cold-start header")

        let stopped = try await fixture.waitForState(timeout: .seconds(20)) { $0.members.first { $0.name == gammaGroup.name }?.pid == nil }
        #expect(stopped != nil, "the idle group was not stopped")
        #expect(await ProcessLiveness.waitForExit(pid, timeout: .seconds(5)))
        #expect(try await waitForStatus(gateway) { $0[gammaGroup.name]?.stops == 1 }, "the gateway did not count the stop")
        let again = try await embed("gamma", at: gateway)
        #expect(again.status == 200 && again.coldStartMs != nil)
        #expect(try await status(gateway)[gammaGroup.name]?.starts == 2)

        // A warm group whose server crashed is started again by the request that finds it gone.
        let running = try await fixture.waitForState { $0.members.first { $0.name == gammaGroup.name }?.pid != nil }
        let crashed = try #require(running?.members.first { $0.name == gammaGroup.name }?.pid)
        ProcessLiveness.send(SIGKILL, to: crashed)
        #expect(await ProcessLiveness.waitForExit(crashed, timeout: .seconds(5)))
        let restarted = try await embed("gamma", at: gateway)
        #expect(restarted.status == 200 && restarted.coldStartMs != nil, "\(restarted.status) \(restarted.body)")
        #expect(try await status(gateway)[gammaGroup.name]?.starts == 3)

        // Listening without accepting: the group's server cannot bind, and closing frees the port at once (no
        // connection of the readiness checks was accepted, so none lingers in TIME_WAIT).
        let squatter = try ListeningSocket(port: deltaGroup.port)
        let failed = try await embed("delta", at: gateway)
        #expect(failed.status == 503)
        #expect(failed.body.contains("\(deltaGroup.name) exited with status"), "\(failed.body)")
        #expect(try await embed("alpha", at: gateway).status == 200)
        #expect(try await embed("gamma", at: gateway).status == 200)
        squatter.close()
        let retried = try await embed("delta", at: gateway)
        #expect(retried.status == 200 && retried.coldStartMs != nil, "\(retried.status) \(retried.body)")
        let counts = try await status(gateway)[deltaGroup.name]
        #expect(counts?.failedStarts == 1 && counts?.starts == 1)
    }

    /// Requests beyond a cold group's queue get 429 with Retry-After; the queued ones are all answered after
    /// the one start. A starter held until released makes the queue's length certain.
    @Test func beyondTheQueueOfAColdGroupRequestsGet429() async throws {
        let served = Counter()
        let router = Router()
        router.post("/v1/embeddings") { _, _ -> Response in
            served.add()
            return Response(status: .ok)
        }
        let backend = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let plan = try DeployFixture.emptyPlan()
        try await backend.test(.live) { client in
            try await Self.checkQueue(backend: "http://127.0.0.1:\(client.port ?? 0)", plan: plan, served: served)
        }
    }

    static func checkQueue(backend url: String, plan: PlacementPlan, served: Counter) async throws {
        var routes = GatewayRoutes(plan: plan, host: "127.0.0.1")
        routes.replicas = ["m": [url]]
        routes.serverless = [url: .init(group: "g", settings: .init(idleSeconds: 60, maxQueued: 3))]
        let starter = HeldStarter()
        let gateway = Gateway(routes: routes, starter: starter)
        let serverless = try #require(gateway.serverless)
        try await Application(responder: gateway).test(.router) { client in
            try await Self.checkQueue(client: client, serverless: serverless, starter: starter)
        }
        #expect(await starter.starts == 1)
        #expect(served.value == 3)
    }

    static func checkQueue(client: some TestClientProtocol, serverless: ServerlessGroups, starter: HeldStarter) async throws {
        let body = ByteBuffer(string: #"{"model":"m","input":"x"}"#)
        let queued = (0..<3).map { _ in
            Task { () throws -> (UInt, Bool) in
                try await client.execute(uri: "/v1/embeddings", method: .post, body: body) { response in
                    (UInt(response.status.code), response.headers.contains { $0.name.rawName == Gateway.coldStartHeader })
                }
            }
        }
        let deadline = ContinuousClock.now + .seconds(30)
        while await serverless.status()["g"]?.queued != 3, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(5))
        }
        let refused: (UInt, String?) = try await client.execute(uri: "/v1/embeddings", method: .post, body: body) { response in
            (UInt(response.status.code), response.headers[.retryAfter])
        }
        #expect(refused.0 == 429 && refused.1 == "1", "\(refused)")
        await starter.release()
        var answers: [(UInt, Bool)] = []
        for task in queued { answers.append(try await task.value) }
        #expect(answers.map(\.0) == [200, 200, 200])
        #expect(answers.allSatisfy { $0.1 }, "every queued answer carries the cold-start header")
    }

    struct Answer: Sendable, CustomStringConvertible {
        var status: UInt
        var coldStartMs: Double?
        var body: String
        var description: String { "\(status) \(coldStartMs.map { "\($0) ms" } ?? "warm") \(body.prefix(200))" }
    }

    /// A client that opens a connection per concurrent request, so that they all reach the gateway at once.
    static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static func embed(_ model: String, at gateway: String) async throws -> Answer {
        var request = HTTPClientRequest(url: "\(gateway)/v1/embeddings")
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: #"{"model":"\#(model)","input":"a short sentence"}"#))
        let response = try await client.execute(request, timeout: .seconds(60))
        let body = try await response.body.collect(upTo: 1 << 20)
        return Answer(status: response.status.code, coldStartMs: response.headers.first(name: Gateway.coldStartHeader).flatMap(Double.init),
                      body: String(buffer: body))
    }

    /// Polls the gateway's serverless status until `condition` holds, up to 10 s; whether it did.
    static func waitForStatus(_ gateway: String, _ condition: ([String: ServerlessGroups.Status]) -> Bool) async throws -> Bool {
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if condition(try await status(gateway)) { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return condition(try await status(gateway))
    }

    static func status(_ gateway: String) async throws -> [String: ServerlessGroups.Status] {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "\(gateway)/gateway/serverless"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try ShoalJSON.decoder().decode([String: ServerlessGroups.Status].self, from: Data(buffer: body))
    }
}

/// A starter whose starts wait until `release()`, counting them.
actor HeldStarter: GroupStarter {
    private(set) var starts = 0
    private var released = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    func start(group: String) async throws {
        starts += 1
        guard !released else { return }
        await withCheckedContinuation { waiting.append($0) }
    }

    func stop(group: String) async throws {}

    func release() {
        released = true
        waiting.forEach { $0.resume() }
        waiting = []
    }
}

extension DeployFixture {
    /// A plan of the fixture, for routes a test then sets by hand.
    static func emptyPlan() throws -> PlacementPlan {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        return fixture.plan
    }
}
