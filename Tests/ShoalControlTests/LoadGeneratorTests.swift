import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import ShoalControl

/// The load generator against a tiny server on a real loopback socket: model `ok` answers 200, model `busy`
/// answers 503; every request's body is checked to be a KServe BYTES input.
@Suite struct LoadGeneratorTests {
    static func withServer(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.get("/v2/health/live") { _, _ in "{\"live\":true}" }
        router.post("/v2/models/:model/infer") { request, context -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let text = String(buffer: buffer)
            guard text.contains("\"datatype\":\"BYTES\"") else { return Response(status: .badRequest) }
            return Response(status: context.parameters.get("model") == "busy" ? .serviceUnavailable : .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            guard let port = client.port else { Issue.record("no port"); return }
            try await body("http://127.0.0.1:\(port)")
        }
    }

    /// Every run here ends at its request limit. The duration and timeout are far off because the other
    /// suites, running at the same time on this test process's few threads, can hold a run up for tens of
    /// seconds before its first request, and a run that started late must not end before sending anything.
    static func settings(_ url: String, mode: LoadMode = .closed, models: [String] = ["ok"], requests: Int,
                         protocol: LoadProtocol = .kserve, sequential: Bool = false) -> LoadSettings {
        LoadSettings(test: "bmk", url: url, protocol: `protocol`, mode: mode, models: models, concurrency: 4, rate: 400,
                     durationS: 600, requests: requests, mix: .mixed, batch: 2, timeoutS: 120, sequential: sequential)
    }

    @Test func aClosedLoopStopsAtItsRequestLimitAndCountsStatuses() async throws {
        try await Self.withServer { url in
            let result = try await LoadGenerator(settings: Self.settings(url, models: ["ok", "busy"], requests: 200)).run()
            #expect(result.sent == 200)
            #expect(result.completed == 200)
            #expect(result.ok + (result.errors["http_503"] ?? 0) == 200)
            #expect(result.ok > 50 && result.ok < 150)  // models drawn about evenly
            #expect(result.latency.count == UInt64(result.ok))
            #expect(result.perModel.keys.sorted() == ["ok"])
            #expect(result.modelErrors == ["busy": ["http_503": 200 - result.ok]])
            #expect(result.statusCounts["400"] == nil)
            #expect(result.timeline.reduce(0) { $0 + $1.completed } == 200)
        }
    }

    @Test func anOpenLoopKeepsItsRate() async throws {
        try await Self.withServer { url in
            let result = try await LoadGenerator(settings: Self.settings(url, mode: .open, requests: 100)).run()
            #expect(result.ok == 100)
            // 100 requests planned at 400/s span 0.25 s: never sooner (a loaded machine may run late).
            #expect(result.durationS >= 99.0 / 400)
        }
    }

    @Test func seqVisitsEveryModelInTurn() async throws {
        try await Self.withServer { url in
            let result = try await LoadGenerator(settings: Self.settings(url, models: ["ok", "busy"], requests: 10, sequential: true)).run()
            #expect(result.ok == 5)
            #expect(result.errors["http_503"] == 5)
        }
    }

    @Test func anUnreachableServerCountsConnectErrors() async throws {
        let result = try await LoadGenerator(settings: Self.settings("http://127.0.0.1:9", requests: 3)).run()
        #expect(result.ok == 0)
        #expect(result.completed == 3)
        #expect(result.errors.values.reduce(0, +) == 3)
    }

    @Test func noModelsIsAnErrorBeforeAnythingIsSent() {
        #expect(throws: ControlError.self) { _ = try LoadGenerator(settings: Self.settings("http://127.0.0.1:1", models: [], requests: 1)) }
    }

    @Test func requestBodiesFollowEachProtocol() throws {
        let texts = ["one", "two"]
        let kserve = try JSONSerialization.jsonObject(with: LoadRequestFactory.body(.kserve, model: "m", texts: texts)) as? [String: Any]
        let input = (kserve?["inputs"] as? [[String: Any]])?.first
        #expect(input?["datatype"] as? String == "BYTES")
        #expect(input?["shape"] as? [Int] == [2])
        let openai = try JSONSerialization.jsonObject(with: LoadRequestFactory.body(.openai, model: "m", texts: texts)) as? [String: Any]
        #expect(openai?["model"] as? String == "m")
        #expect(LoadRequestFactory.path(.predictions, model: "m") == "/predictions/m")
        #expect(LoadRequestFactory.path(.openai, model: "m") == "/v1/embeddings")
    }
}
