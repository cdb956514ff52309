import AsyncHTTPClient
import Foundation
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
