import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import Testing
@testable import ShoalControl

@Suite(.serialized, .timeLimit(.minutes(2))) struct GatewayTests {
    @Test func theModelComesFromThePathOrTheEmbeddingsBody() {
        #expect(GatewayRoutes.model(path: "/v2/models/alpha/infer", body: Data()) == "alpha")
        #expect(GatewayRoutes.model(path: "/v2/models/alpha", body: Data()) == "alpha")
        #expect(GatewayRoutes.model(path: "/predictions/beta", body: Data()) == "beta")
        #expect(GatewayRoutes.model(path: "/v1/embeddings", body: Data(#"{"model":"beta","input":"x"}"#.utf8)) == "beta")
        #expect(GatewayRoutes.model(path: "/v1/embeddings", body: Data("not json".utf8)) == nil)
        #expect(GatewayRoutes.model(path: "/v2/models", body: Data()) == nil)
    }

    @Test func routesListEveryGroupServingAModel() throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let routes = GatewayRoutes(plan: fixture.plan, host: "127.0.0.1")
        let ports = fixture.plan.groups.map(\.port)
        #expect(routes.replicas["alpha"] == ports.map { "http://127.0.0.1:\($0)" })
        #expect(routes.replicas["beta"]?.count == 1)
    }

    /// Through a deployed gateway: each model reaches a group serving it, an unknown model is refused, a
    /// server's own error passes through, and
    /// with one server killed (and its restart held back) every request still succeeds on the other replica.
    @Test func routesToTheRightGroupAndRetriesOnAKilledReplica() async throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let deployment = LocalDeployment(directory: fixture.directory)
        do {
            let state = try await deployment.start(try fixture.spec(gateway: true, restartDelayMs: 2_000), timeout: .seconds(60))
            let gateway = "http://127.0.0.1:\(fixture.configuration.server.gatewayPort)"
            for model in ["alpha", "beta"] {
                #expect(try await Self.embed(model, at: gateway) == 200)
                #expect(try await Self.post("\(gateway)/v2/models/\(model)/infer", body: Self.infer) == 200)
            }
            #expect(try await Self.embed("gamma", at: gateway) == 404)
            try await Self.checkAsynchronousRequest(at: gateway)
            let direct = try await Self.post("\(state.members[0].url)/v2/models/alpha/infer", body: "{}")
            #expect(direct >= 400 && direct < 500)
            #expect(try await Self.post("\(gateway)/v2/models/alpha/infer", body: "{}") == direct)

            let alphaOnly = try #require(state.members.first { $0.models == ["alpha"] })
            let victim = try #require(alphaOnly.pid)
            ProcessLiveness.send(SIGKILL, to: victim)
            _ = await ProcessLiveness.waitForExit(victim, timeout: .seconds(5))
            for _ in 0..<4 { #expect(try await Self.embed("alpha", at: gateway) == 200) }
            let restarted = try await fixture.waitForState { state in
                state.members.contains { $0.name == alphaOnly.name && $0.restarts == 1 && $0.pid != nil }
            }
            #expect(restarted != nil)
        } catch {
            try await deployment.stop()
            throw error
        }
        try await deployment.stop()
        #expect(try deployment.state() == nil)
    }

    /// An asynchronous request through the gateway: the group of its model queues it, and its status, which
    /// names no model, is found by asking every group.
    static func checkAsynchronousRequest(at gateway: String) async throws {
        var request = HTTPClientRequest(url: "\(gateway)/v2/models/beta/infer")
        request.method = .POST
        request.headers.add(name: "Prefer", value: "respond-async")
        request.body = .bytes(ByteBuffer(string: infer))
        let accepted = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
        #expect(accepted.status.code == 202)
        let body = try JSONSerialization.jsonObject(with: Data(buffer: try await accepted.body.collect(upTo: 1 << 16))) as? [String: Any]
        let url = try #require(body?["status_url"] as? String)
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            let answer = try await HTTPClient.shared.execute(HTTPClientRequest(url: gateway + url), timeout: .seconds(30))
            #expect(answer.status.code == 200)
            let status = try JSONSerialization.jsonObject(with: Data(buffer: try await answer.body.collect(upTo: 1 << 20))) as? [String: Any]
            if status?["status"] as? String == "succeeded" {
                #expect((status?["result"] as? [String: Any])?["model_name"] as? String == "beta")
                break
            }
            try #require(ContinuousClock.now < deadline, "the asynchronous request did not finish: \(String(describing: status))")
            try await Task.sleep(for: .milliseconds(20))
        }
        let unknown = try await HTTPClient.shared.execute(
            HTTPClientRequest(url: "\(gateway)/v2/async/\(UUID().uuidString.lowercased())"), timeout: .seconds(30))
        #expect(unknown.status.code == 404)
    }

    static let infer = #"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["a short sentence"]}]}"#

    static func embed(_ model: String, at gateway: String) async throws -> UInt {
        try await post("\(gateway)/v1/embeddings", body: #"{"model":"\#(model)","input":"a short sentence"}"#)
    }

    static func post(_ url: String, body: String) async throws -> UInt {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/json")
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        _ = try await response.body.collect(upTo: 1 << 20)
        return response.status.code
    }
}

/// The gateway's retry decision, from the error's type: a refused connection goes to the next replica, a
/// timeout after the request was sent does not (the server may be working on it).
@Suite(.serialized, .timeLimit(.minutes(1))) struct GatewayRetryTests {
    /// A loopback port where nothing listens: connecting is refused.
    static func refusedPort() throws -> Int {
        let socket = try ListeningSocket()
        let port = socket.port
        socket.close()
        return port
    }

    /// Runs `body` with a client like the gateway's that gives up on an answer after 3 s: long enough for the live
    /// test server's answer while the whole suite loads the machine, short enough to keep the test quick.
    static func withClient(_ body: (HTTPClient) async throws -> Void) async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(2)
        configuration.timeout.read = .seconds(3)
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            try await body(client)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    static func failure(_ url: String, client: HTTPClient) async -> TransportFailure? {
        do {
            _ = try await client.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
            return nil
        } catch {
            return TransportFailure(error)
        }
    }

    @Test func realFailuresAreClassifiedByType() async throws {
        let silent = try ListeningSocket()  // accepts connections (the kernel's backlog) and never answers
        defer { silent.close() }
        let closing = try ListeningSocket()
        defer { closing.close() }
        closing.acceptAndCloseInBackground()
        let refused = try Self.refusedPort()
        try await Self.withClient { client in
            #expect(await Self.failure("http://127.0.0.1:\(refused)/", client: client) == .connect)
            #expect(await Self.failure("http://127.0.0.1:\(silent.port)/", client: client) == .timeout)
            #expect(await Self.failure("http://127.0.0.1:\(closing.port)/", client: client) == .closed)
        }
        #expect(TransportFailure(CancellationError()) == .cancelled)
        #expect(TransportFailure(HTTPClientError.invalidURL) == .other)
        #expect(TransportFailure.allCases.filter(\.isUnreachable) == [.connect, .closed])
    }

    @Test func aRefusedReplicaPassesTheRequestOnButATimedOutOneDoesNot() async throws {
        let served = Counter()
        let router = Router()
        router.post("/v1/embeddings") { _, _ -> Response in
            served.add()
            return Response(status: .ok)
        }
        let live = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        let silent = try ListeningSocket()
        defer { silent.close() }
        let refused = "http://127.0.0.1:\(try Self.refusedPort())"
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        try await live.test(.live) { liveClient in
            let liveURL = "http://127.0.0.1:\(liveClient.port ?? 0)"
            var routes = GatewayRoutes(plan: fixture.plan, host: "127.0.0.1")
            routes.replicas = ["refused": [refused, liveURL], "slow": ["http://127.0.0.1:\(silent.port)", liveURL]]
            try await Self.withClient { client in
                try await Self.checkRetries(Gateway(routes: routes, client: client), served: served)
            }
        }
    }

    /// Round-robin starts each request on the other replica, so one of every two meets the bad one first.
    static func checkRetries(_ gateway: Gateway, served: Counter) async throws {
        try await Application(responder: gateway).test(.router) { client in
            func embed(_ model: String) async throws -> Int {
                let body = ByteBuffer(string: #"{"model":"\#(model)","input":"x"}"#)
                return try await client.execute(uri: "/v1/embeddings", method: .post, body: body) { $0.status.code }
            }
            #expect(try await embed("refused") == 200)
            #expect(try await embed("refused") == 200)
            #expect(served.value == 2)
            let answers = [try await embed("slow"), try await embed("slow")]
            #expect(answers.filter { $0 == 200 }.count == 1, "\(answers)")
            #expect(served.value == 3, "a request that timed out on one replica was not sent to the other")
        }
    }
}

/// Requests a test server answered; handlers on several event loops add to it.
final class Counter: @unchecked Sendable {
    /// Guards `count`.
    private let lock = NSLock()
    private var count = 0

    func add() { lock.withLock { count += 1 } }
    var value: Int { lock.withLock { count } }
}

/// A TCP socket listening on a loopback port (by default a free one), for servers that misbehave below HTTP.
final class ListeningSocket: @unchecked Sendable {
    let descriptor: Int32
    let port: Int

    init(port: Int = 0) throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address in
                bind(descriptor, address, length) == 0 && listen(descriptor, 16) == 0
                    && getsockname(descriptor, address, &length) == 0
            }
        }
        guard descriptor >= 0, bound else {
            if descriptor >= 0 { Glibc.close(descriptor) }
            throw POSIXError(.EADDRNOTAVAIL)
        }
        self.descriptor = descriptor
        self.port = Int(UInt16(bigEndian: address.sin_port))
    }

    /// Accepts every connection on a Dispatch thread, reads what comes, and closes it without an answer.
    func acceptAndCloseInBackground() {
        let descriptor = descriptor
        DispatchQueue.global().async {
            while true {
                let connection = accept(descriptor, nil, nil)
                guard connection >= 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 4_096)
                _ = read(connection, &buffer, buffer.count)
                Glibc.close(connection)
            }
        }
    }

    func close() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        Glibc.close(descriptor)
    }
}
