import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ShoalModels
import ShoalServer
import Testing

@Suite(.timeLimit(.minutes(2))) struct ModelLifecycleTests {
    let models: TestModels

    init() throws {
        models = try TestModels()
    }

    @Test func concurrentFirstRequestsTriggerOneLoad() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            let statuses = try await withClients(port: port, count: 16) { index, connection in
                try await connection.post("/v2/models/classify/infer", json: inferBody(["text \(index)"])).status
            }
            #expect(statuses.allSatisfy { $0 == .ok })
            let samples = prometheusSamples(try await client.get("/metrics").text)
            #expect(samples[#"shoal_model_loads_total{model="classify"}"#] == 1)
            #expect(samples[#"shoal_model_cache_misses_total{model="classify"}"#] ?? 0 >= 1)
        }
    }

    @Test func evictionKeepsTwoOfThreeUnderBudget() async throws {
        try models.embedding("third", seed: 13)
        let bytes = try Model(folder: models.root.appendingPathComponent("embed")).parameterBytes
        let server = try models.server { $0.inference.limits.memoryBudget = bytes * 5 / 2 }
        try await server.application(services: [server.inference]).test(.live) { client in
            for name in ["embed", "classify", "third", "embed"] {
                #expect(try await client.post("/predictions/\(name)", json: #"{"inputs":["good"]}"#).status == .ok, "\(name)")
            }
            let index = try await client.post("/v2/repository/index", json: "").array()
            let states = Dictionary(uniqueKeysWithValues: index.compactMap { entry in
                (entry["name"] as? String).map { ($0, entry["state"] as? String ?? "") }
            })
            #expect(states.values.filter { $0 == "READY" }.count == 2)
            #expect(states["embed"] == "READY" && states["third"] == "READY")
            #expect(index.first { $0["name"] as? String == "classify" }?["reason"] as? String == "evicted")
            let samples = prometheusSamples(try await client.get("/metrics").text)
            #expect(samples[#"shoal_model_evictions_total{model="classify"}"#] == 1)
            #expect(samples[#"shoal_model_evictions_total{model="embed"}"#] == 1)
            #expect(samples["shoal_models_loaded"] == 2)
            #expect((samples["shoal_memory_used_bytes"] ?? .infinity) <= Double(bytes * 5 / 2))
        }
    }

    @Test func modelThatCannotFitAnswers507() async throws {
        let server = try models.server { $0.inference.limits.memoryBudget = 1_000 }
        try await server.application(services: [server.inference]).test(.live) { client in
            let response = try await client.post("/v2/models/embed/infer", json: inferBody(["a"]))
            #expect(response.status.code == 507)
            #expect(try response.errorMessage().contains("--memory-budget"))
        }
    }

    @Test func fullQueueAnswers429WithRetryAfter() async throws {
        let server = try models.server {
            $0.inference.limits.maxQueuedInputs = 2
            $0.inference.limits.maxInputsPerRequest = 2
            // The first request waits for a fuller batch, long enough for the queue to be seen full even on a
            // machine loaded far past its cores.
            $0.inference.limits.maxQueueDelay = .seconds(10)
        }
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            #expect(try await client.post("/v2/repository/models/embed/load", json: "").status == .ok)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let queued = try await TestClient.withClient(host: "127.0.0.1", port: port) { connection in
                        try await connection.post("/v2/models/embed/infer", json: inferBody(["a", "b"])).status
                    }
                    #expect(queued == .ok)
                }
                while prometheusSamples(try await client.get("/metrics").text)[#"shoal_queued_inputs"#] != 2 {
                    try await Task.sleep(for: .milliseconds(10))
                }
                let refused = try await client.post("/v2/models/embed/infer", json: inferBody(["c"]))
                #expect(refused.status == .tooManyRequests)
                #expect(Int(refused.headers[.retryAfter] ?? "") ?? 0 >= 1)
                #expect(try refused.errorMessage().contains("overloaded"))
                try await group.next()
            }
        }
    }

    @Test func requestOfClientThatLeftIsDroppedBeforeCompute() async throws {
        // The request waits in its queue for a fuller batch while the client leaves (long enough for the server
        // to learn of the close on a machine busy with other tests).
        let server = try models.server { $0.inference.limits.maxQueueDelay = .seconds(5) }
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            #expect(try await client.post("/v2/repository/models/embed/load", json: "").status == .ok)
            let leaving = TestClient(host: "127.0.0.1", port: port)
            leaving.connect()
            try await leaving.executeAndDontWaitForResponse(.init(
                "/v2/models/embed/infer", method: .post, authority: "localhost",
                headers: [.contentType: "application/json"], body: ByteBuffer(string: inferBody(["bye"]))))
            while prometheusSamples(try await client.get("/metrics").text)[#"shoal_queued_inputs"#] != 1 {
                try await Task.sleep(for: .milliseconds(5))
            }
            try await leaving.shutdown()
            var dropped: Double?
            var computed: Double?
            let deadline = ContinuousClock.now + .seconds(30)
            while dropped == nil, computed ?? 0 == 0, ContinuousClock.now < deadline {
                let samples = prometheusSamples(try await client.get("/metrics").text)
                dropped = samples[#"shoal_dropped_inputs_total{reason="cancelled"}"#]
                computed = samples[#"shoal_infer_duration_seconds_count{family="embed",task="embedding"}"#]
                try await Task.sleep(for: .milliseconds(5))
            }
            #expect(dropped == 1, "the input of the client that left was computed (\(computed ?? 0)) or never dropped")
            let samples = prometheusSamples(try await client.get("/metrics").text)
            #expect(samples[#"shoal_infer_duration_seconds_count{family="embed",task="embedding"}"#] ?? 0 == 0)
        }
    }

    @Test func requestPastItsTimeoutAnswers503() async throws {
        // The request waits for a fuller batch past its deadline.
        let server = try models.server {
            $0.inference.limits.requestTimeout = .milliseconds(20)
            $0.inference.limits.maxQueueDelay = .milliseconds(200)
        }
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            #expect(try await client.post("/v2/repository/models/embed/load", json: "").status == .ok)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    let response = try await TestClient.withClient(host: "127.0.0.1", port: port) { connection in
                        try await connection.post("/v2/models/embed/infer", json: inferBody(["late"]))
                    }
                    #expect(response.status == .serviceUnavailable)
                    #expect(String(buffer: response.body ?? ByteBuffer()).contains("request timeout"))
                }
                try await group.next()
            }
            let samples = prometheusSamples(try await client.get("/metrics").text)
            #expect(samples[#"shoal_dropped_inputs_total{reason="timed_out"}"#] == 1)
            #expect(samples[#"shoal_requests_total{outcome="unavailable"}"#] == 1)
        }
    }

    @Test func corruptModelFailsAloneUnderLoad() async throws {
        try models.corrupt("broken")
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            let statuses = try await withClients(port: port, count: 8) { index, connection in
                let name = index.isMultiple(of: 2) ? "broken" : "embed"
                return (name, try await connection.post("/v2/models/\(name)/infer", json: inferBody(["a"])).status)
            }
            for (name, status) in statuses {
                #expect(status == (name == "broken" ? .serviceUnavailable : .ok))
            }
            let samples = prometheusSamples(try await client.get("/metrics").text)
            #expect(samples[#"shoal_loads_total{outcome="failed"}"#] == 1)
        }
    }
}
