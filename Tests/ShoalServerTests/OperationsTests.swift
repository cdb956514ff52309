import Foundation
import HTTPTypes
import HummingbirdTesting
import ShoalServer
import Testing

@Suite struct OperationsTests {
    let models: TestModels

    init() throws {
        models = try TestModels()
    }

    @Test func metricsAreParsablePrometheusText() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            for _ in 0..<3 { #expect(try await client.post("/v2/models/embed/infer", json: inferBody(["a", "b"])).status == .ok) }
            #expect(try await client.post("/v2/models/embed/infer", json: inferBody([])).status == .unprocessableContent)
            #expect(try await client.post("/v2/models/nope/infer", json: inferBody(["a"])).status == .notFound)
            let response = try await client.get("/metrics")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("text/plain") == true)
            let samples = prometheusSamples(response.text)
            // The HTTP layer's counter and the engine's metrics come through the one swift-metrics factory.
            #expect(response.text.contains("# TYPE shoal_requests_total counter"))
            #expect(response.text.contains("# TYPE shoal_loads_total counter"))
            #expect(response.text.contains("# TYPE shoal_model_requests_total counter"))
            #expect(samples[#"shoal_requests_total{outcome="success"}"#] == 3)
            #expect(samples[#"shoal_requests_total{outcome="bad_input"}"#] == 1)
            #expect(samples[#"shoal_requests_total{outcome="not_found"}"#] == 1)
            #expect(samples[#"shoal_loads_total{outcome="loaded"}"#] == 1)
            #expect(samples[#"shoal_cache_misses_total"#] == 1)
            #expect(samples[#"shoal_cache_hits_total"#] == 2)
            #expect(samples[#"shoal_models_loaded"#] == 1)
            #expect((samples[#"shoal_memory_used_bytes"#] ?? 0) > 0)
            // Histograms are labelled by workload: the encoder's model and the task.
            let embed = #"family="embed",task="embedding""#
            #expect(samples["shoal_queue_duration_seconds_count{\(embed)}"] == 6)
            #expect((samples["shoal_infer_duration_seconds_count{\(embed)}"] ?? 0) >= 3)
            #expect((samples["shoal_tokenize_duration_seconds_count{\(embed)}"] ?? 0) >= 3)
            #expect(samples["shoal_batch_size_bucket{\(embed),le=\"+Inf\"}"] != nil)
            #expect(samples["shoal_batch_tokens_sum{\(embed)}"] != nil)
            #expect(samples["shoal_load_duration_seconds_count{\(embed)}"] == 1)
            #expect(samples[#"shoal_queued_inputs"#] == 0)
            // The model's own series; an unknown name makes none.
            #expect(samples[#"shoal_model_requests_total{model="embed"}"#] == 3)
            #expect(samples[#"shoal_model_failures_total{model="embed"}"#] == 0)
            #expect(samples[#"shoal_model_inputs_total{model="embed"}"#] == 6)
            #expect(samples[#"shoal_model_loads_total{model="embed"}"#] == 1)
            #expect(samples[#"shoal_model_cache_misses_total{model="embed"}"#] == 1)
            #expect(samples[#"shoal_model_cache_hits_total{model="embed"}"#] == 2)
            #expect(!response.text.contains("nope"))
        }
    }

    @Test func metricsShowTheBusiestAndPinnedModelsAndStatsAnswerForAnyOne() async throws {
        try models.embedding("third", seed: 13)
        let server = try models.server {
            $0.metricsModels = 1
            $0.inference.pinned = ["third"]
        }
        try await server.application(services: [server.inference]).test(.live) { client in
            for name in ["embed", "embed", "classify"] {
                #expect(try await client.post("/predictions/\(name)", json: #"{"inputs":["good"]}"#).status == .ok, "\(name)")
            }
            let text = try await client.get("/metrics").text
            let samples = prometheusSamples(text)
            // One busiest model (embed) and the pinned one; classify's requests are in the totals only.
            #expect(samples[#"shoal_model_requests_total{model="embed"}"#] == 2)
            #expect(samples[#"shoal_model_requests_total{model="third"}"#] == 0)
            #expect(!text.contains(#"model="classify""#))
            #expect(samples[#"shoal_requests_total{outcome="success"}"#] == 3)

            let stats = try await client.get("/v2/models/classify/stats")
            #expect(stats.status == .ok)
            let model = try #require((try stats.object()["model_stats"] as? [[String: Any]])?.first)
            #expect(model["name"] as? String == "classify")
            #expect(model["execution_count"] as? Int == 1)
            #expect(model["inference_count"] as? Int == 1)
            #expect((model["last_inference"] as? Int ?? 0) > 0)
            let phases = try #require(model["inference_stats"] as? [String: [String: Int]])
            #expect(phases["success"]?["count"] == 1 && (phases["success"]?["ns"] ?? 0) > 0)
            #expect(phases["compute_infer"]?["count"] == 1 && (phases["compute_infer"]?["ns"] ?? 0) > 0)
            let shoal = try #require(model["shoal"] as? [String: Any])
            #expect((shoal["loads"] as? [String: Int])?["count"] == 1)
            #expect(shoal["cache_misses"] as? Int == 1)

            // A model of the source not asked for yet has zeros; an unknown one is 404. Neither loads anything.
            let idle = try await client.get("/v2/models/nope/stats")
            #expect(idle.status == .notFound)
            #expect(try await client.get("/v2/models/embed/stats").status == .ok)
            #expect(samples["shoal_models_loaded"] == 3)
        }
    }

    @Test func openAPIDocumentListsEveryRoute() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let response = try await client.get("/openapi.json")
            #expect(response.status == .ok)
            let paths = try #require(try response.object()["paths"] as? [String: Any])
            for path in [
                "/v2", "/v2/health/live", "/v2/health/ready", "/v2/models/{model}", "/v2/models/{model}/ready",
                "/v2/models/{model}/infer", "/v2/models/{model}/versions/{version}",
                "/v2/models/{model}/versions/{version}/ready", "/v2/models/{model}/versions/{version}/infer",
                "/v2/repository/index", "/v2/repository/models/{model}/load", "/v2/repository/models/{model}/unload",
                "/v1/embeddings", "/predictions/{model}", "/metrics", "/openapi.json",
            ] {
                #expect(paths[path] != nil, "\(path)")
            }
        }
    }

    @Test func wrongMethodAnswers405WithAllow() async throws {
        try await models.withLiveServer { client in
            let cases: [(method: HTTPRequest.Method, uri: String, allow: String)] = [
                (.get, "/v1/embeddings", "POST"),
                (.delete, "/v2/models/embed", "GET, HEAD"),
                (.post, "/v2/health/live", "GET, HEAD"),
                (.put, "/v2/models/embed/versions/1/infer", "POST"),
                (.get, "/v2/repository/models/embed/load", "POST"),
                (.patch, "/predictions/embed", "GET, HEAD, POST"),
                (.options, "/metrics", "GET, HEAD"),
            ]
            for (method, uri, allow) in cases {
                let response = try await client.execute(uri: uri, method: method)
                #expect(response.status == .methodNotAllowed, "\(method) \(uri)")
                #expect(response.headers[.allow] == allow, "\(method) \(uri)")
                #expect(try response.errorMessage().contains("serves \(allow)"), "\(method) \(uri)")
            }
            let head = try await client.execute(uri: "/v2/health/ready", method: .head)
            #expect(head.status == .ok)
            #expect(head.body.readableBytes == 0)
            let headNotAllowed = try await client.execute(uri: "/v1/embeddings", method: .head)
            #expect(headNotAllowed.status == .methodNotAllowed)
            #expect(headNotAllowed.body.readableBytes == 0)
            #expect(try await client.get("/v2/nope").status == .notFound)
            #expect(try await client.execute(uri: "/nope", method: .delete).status == .notFound)
            let components = try #require(try await client.get("/openapi.json").object()["components"] as? [String: Any])
            #expect((components["responses"] as? [String: Any])?["MethodNotAllowed"] != nil)
        }
        let guarded = try models.server { $0.apiKeys = ["secret"] }
        try await guarded.application(services: [guarded.inference]).test(.live) { client in
            #expect(try await client.get("/v1/embeddings").status == .unauthorized)
            let authorized = try await client.get("/v1/embeddings", headers: [.authorization: "Bearer secret"])
            #expect(authorized.status == .methodNotAllowed)
        }
    }

    @Test func apiKeysGuardAllButHealth() async throws {
        let server = try models.server { $0.apiKeys = ["secret", "other"] }
        try await server.application(services: [server.inference]).test(.live) { client in
            #expect(try await client.get("/v2/health/ready").status == .ok)
            #expect(try await client.get("/v2/health/live").status == .ok)
            let missing = try await client.get("/v2")
            #expect(missing.status == .unauthorized)
            #expect(missing.headers[.wwwAuthenticate] == "Bearer")
            #expect(try !missing.errorMessage().isEmpty)
            #expect(try await client.get("/v2", headers: [.authorization: "Bearer wrong"]).status == .unauthorized)
            #expect(try await client.get("/metrics").status == .unauthorized)
            #expect(try await client.get("/v2", headers: [.authorization: "Bearer secret"]).status == .ok)
            #expect(try await client.get("/v2", headers: [.authorization: "Bearer other"]).status == .ok)
        }
    }

    @Test func requestIDIsEchoedOrGenerated() async throws {
        let server = try models.server()
        try await server.application(services: [server.inference]).test(.live) { client in
            let requestID = HTTPField.Name("X-Request-ID")!
            let given = try await client.get("/v2", headers: [requestID: "abc-123"])
            #expect(given.headers[requestID] == "abc-123")
            let generated = try await client.get("/v2")
            let first = try #require(generated.headers[requestID])
            #expect(try await client.get("/v2").headers[requestID] != first)
            let unusable = try await client.get("/v2", headers: [requestID: String(repeating: "x", count: 300)])
            #expect(unusable.headers[requestID]?.count ?? 0 < 300)
            let failed = try await client.get("/nope", headers: [requestID: "err-1"])
            #expect(failed.status == .notFound)
            #expect(failed.headers[requestID] == "err-1")
            #expect(try !failed.errorMessage().isEmpty)
        }
    }

    @Test func limitsAnswer413And422() async throws {
        let server = try models.server {
            $0.maxBodyBytes = 2_000
            $0.inference.limits.maxInputsPerRequest = 4
            $0.inference.limits.maxTextBytes = 100
            $0.inference.truncate = false
        }
        try await server.application(services: [server.inference]).test(.live) { client in
            let huge = inferBody([String(repeating: "a", count: 3_000)])
            #expect(try await client.post("/v2/models/embed/infer", json: huge).status == .contentTooLarge)
            let many = inferBody(Array(repeating: "a", count: 5))
            #expect(try await client.post("/v2/models/embed/infer", json: many).status == .contentTooLarge)
            let long = inferBody([String(repeating: "a ", count: 60)])
            #expect(try await client.post("/v2/models/embed/infer", json: long).status == .contentTooLarge)
            // 49 words (97 bytes) fit the byte limit, but 51 tokens exceed the model's 48: with truncation off, 422.
            let overLength = inferBody([Array(repeating: "a", count: 49).joined(separator: " ")])
            let refused = try await client.post("/v2/models/embed/infer", json: overLength)
            #expect(refused.status == .unprocessableContent)
            #expect(try refused.errorMessage().contains("tokens"))
        }
    }
}
