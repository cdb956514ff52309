import Foundation
import HTTPTypes
import HummingbirdTesting
import ShoalServer
import Testing

@Suite struct KServeRouteTests {
    let models: TestModels

    init() throws {
        models = try TestModels()
    }

    @Test func serverMetadataAndHealth() async throws {
        try await models.withLiveServer { client in
            let metadata = try await client.get("/v2")
            #expect(metadata.status == .ok)
            #expect(try metadata.object()["name"] as? String == "shoal")
            #expect(try metadata.object()["extensions"] as? [String] == ["binary_tensor_data", "model_repository"])
            #expect(try await client.get("/v2/health/live").status == .ok)
            #expect(try await client.get("/v2/health/ready").status == .ok)
        }
    }

    @Test func modelMetadataAndReadiness() async throws {
        try await models.withLiveServer { client in
            let notReady = try await client.get("/v2/models/embed/ready")
            #expect(notReady.status == .serviceUnavailable)
            #expect(try notReady.object()["ready"] as? Bool == false)
            let metadata = try await client.get("/v2/models/embed")
            #expect(metadata.status == .ok)
            let outputs = try #require(try metadata.object()["outputs"] as? [[String: Any]])
            #expect(outputs.first?["name"] as? String == "embedding")
            #expect(outputs.first?["shape"] as? [Int] == [-1, 32])
            #expect((try metadata.object()["inputs"] as? [[String: Any]])?.first?["datatype"] as? String == "BYTES")
            #expect(try await client.get("/v2/models/embed/ready").status == .ok)
            #expect(try await client.get("/v2/models/embed/versions/1/ready").status == .ok)
            #expect(try await client.get("/v2/models/embed/versions/1").status == .ok)
            #expect(try await client.get("/v2/models/embed/versions/2").status == .notFound)
            let classifier = try await client.get("/v2/models/classify")
            let names = (try classifier.object()["outputs"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
            #expect(names == ["probabilities", "label"])
            for uri in ["/v2/models/nope", "/v2/models/nope/ready"] {
                let missing = try await client.get(uri)
                #expect(missing.status == .notFound)
                #expect(try missing.errorMessage().contains("nope"))
            }
        }
    }

    @Test func inferEmbeddings() async throws {
        try await models.withLiveServer { client in
            let response = try await client.post("/v2/models/embed/infer", json: inferBody(["hello world", "good day"]))
            #expect(response.status == .ok)
            let body = try response.object()
            #expect(body["model_name"] as? String == "embed")
            #expect(body["model_version"] as? String == "1")
            #expect(body["id"] as? String == "req-1")
            let output = try #require((body["outputs"] as? [[String: Any]])?.first)
            #expect(output["datatype"] as? String == "FP32")
            #expect(output["shape"] as? [Int] == [2, 32])
            let data = try #require(output["data"] as? [Double])
            #expect(data.count == 64)
            // The tiny embedding model normalizes: each row has unit length (float32 rounding tolerance).
            let norm = data.prefix(32).reduce(0) { $0 + $1 * $1 }.squareRoot()
            #expect(abs(norm - 1) < 1e-4)
            let versioned = try await client.post("/v2/models/embed/versions/1/infer", json: inferBody(["hello world"]))
            #expect(versioned.status == .ok)
        }
    }

    @Test func inferClassesWithLabels() async throws {
        try await models.withLiveServer { client in
            let response = try await client.post("/v2/models/classify/infer", json: inferBody(["good", "bad", "fine"]))
            #expect(response.status == .ok)
            let outputs = try #require(try response.object()["outputs"] as? [[String: Any]])
            #expect(outputs.count == 2)
            #expect(outputs[0]["shape"] as? [Int] == [3, 2])
            let labels = try #require(outputs[1]["data"] as? [String])
            #expect(labels.count == 3 && labels.allSatisfy { ["NEGATIVE", "POSITIVE"].contains($0) })
            let onlyLabels = try await client.post(
                "/v2/models/classify/infer", json: inferBody(["good"], extra: #","outputs":[{"name":"label"}]"#))
            #expect((try onlyLabels.object()["outputs"] as? [[String: Any]])?.count == 1)
            let unknownOutput = try await client.post(
                "/v2/models/classify/infer", json: inferBody(["good"], extra: #","outputs":[{"name":"logits"}]"#))
            #expect(unknownOutput.status == .badRequest)
        }
    }

    @Test func inferRefusesMalformedRequests() async throws {
        try await models.withLiveServer { client in
            let cases: [(String, Int)] = [
                ("not json", 400),
                (#"{"inputs":[]}"#, 400),
                (#"{"inputs":[{"name":"text","shape":[1],"datatype":"FP32","data":[1.0]}]}"#, 400),
                (#"{"inputs":[{"name":"text","shape":[3],"datatype":"BYTES","data":["a","b"]}]}"#, 400),
                (#"{"inputs":[{"name":"text","shape":[0],"datatype":"BYTES","data":[]}]}"#, 422),
                (#"{"inputs":[{"name":"text","datatype":"BYTES","data":["a"]}]}"#, 400),
            ]
            for (body, status) in cases {
                let response = try await client.post("/v2/models/embed/infer", json: body)
                #expect(response.status.code == status, "\(body)")
                #expect(try !response.errorMessage().isEmpty)
            }
            let nested = #"{"inputs":[{"name":"text","shape":[2,1],"datatype":"BYTES","data":[["a"],["b"]]}]}"#
            #expect(try await client.post("/v2/models/embed/infer", json: nested).status == .ok)
            #expect(try await client.post("/v2/models/nope/infer", json: inferBody(["a"])).status == .notFound)
        }
    }

    @Test func shapesThatOverflowAreRefusedBeforeTheModelIsLookedUp() async throws {
        try await models.withLiveServer { client in
            let overflowing = #"{"inputs":[{"name":"text","datatype":"BYTES","shape":[4294967296,4294967296],"data":[]}]}"#
            for model in ["x", "embed"] {
                let response = try await client.post("/v2/models/\(model)/infer", json: overflowing)
                #expect(response.status == .badRequest, "\(model)")
                #expect(try response.errorMessage().contains(#""inputs[0].shape" [4294967296, 4294967296] holds more than"#))
            }
            let cases: [(shape: String, message: String)] = [
                ("[3037000500,3037000500,2]", "holds more than"),
                ("[-1]", #""inputs[0].shape[0]" must be a non-negative integer, not -1"#),
                ("[1,2.5]", #""inputs[0].shape[1]" must be a non-negative integer, not 2.5"#),
                ("[1e30]", #""inputs[0].shape[0]" must be a non-negative integer, not 1e+30"#),
                ("[99999999999999999999]", #""inputs[0].shape[0]" must be a non-negative integer"#),
                (#"["2"]"#, #""inputs[0].shape[0]" must be a non-negative integer"#),
            ]
            for (shape, message) in cases {
                let body = #"{"inputs":[{"name":"text","datatype":"BYTES","shape":\#(shape),"data":["a"]}]}"#
                let response = try await client.post("/v2/models/x/infer", json: body)
                #expect(response.status == .badRequest, "\(shape)")
                let error = try response.errorMessage()
                #expect(error.contains(message), "\(shape): \(error)")
            }
            // A zero dimension holds no elements, whatever the others: this shape is well-formed, and the engine
            // refuses the empty request.
            let empty = #"{"inputs":[{"name":"text","datatype":"BYTES","shape":[4294967296,4294967296,0],"data":[]}]}"#
            #expect(try await client.post("/v2/models/embed/infer", json: empty).status == .unprocessableContent)
            #expect(try await client.get("/v2/health/live").status == .ok)
        }
    }

    @Test func malformedInferRequestsNameTheField() async throws {
        try await models.withLiveServer { client in
            let cases: [(body: String, message: String)] = [
                (#"{"inputs":[{"name":"text","shape":[1],"data":["a"]}]}"#, #"missing field "inputs[0].datatype""#),
                (#"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":[7]}]}"#, #""inputs[0].data[0]" must be BYTES data"#),
                (#"{"inputs":[{"name":"text","shape":1,"datatype":"BYTES","data":["a"]}]}"#, #""inputs[0].shape" must be an array"#),
                (#"{"inputs":[{"name":7,"shape":[1],"datatype":"BYTES","data":["a"]}]}"#, #""inputs[0].name" must be a string"#),
                (#"{"inputs":{}}"#, #""inputs" must be an array"#),
                (#"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["a"]}"#, "not valid JSON"),
            ]
            for (body, message) in cases {
                let response = try await client.post("/v2/models/embed/infer", json: body)
                #expect(response.status == .badRequest, "\(body)")
                let error = try response.errorMessage()
                #expect(error.contains(message), "\(body): \(error)")
            }
            let prefix = Array(#"{"inputs":[{"name":"text","shape":[1],"datatype":"BYTES","data":["a"#.utf8)
            let invalid = try await client.post("/v2/models/embed/infer", bytes: prefix + [0xC3, 0x28] + Array(#""]}]}"#.utf8))
            #expect(invalid.status == .badRequest)
            #expect(try invalid.errorMessage().contains(#""inputs[0].data[0]" is not valid UTF-8 text: byte 67 of the body is 0xC3"#))
        }
    }

    @Test func indexAndReadinessAgreeBeforeAndAfterTheFirstRequest() async throws {
        try await models.withLiveServer { client in
            /// Each model's index entry, after checking that READY there is exactly a 200 from its ready route.
            func agreeingIndex() async throws -> [String: [String: Any]] {
                let index = try await client.post("/v2/repository/index", json: "").array()
                var entries: [String: [String: Any]] = [:]
                for entry in index {
                    let name = try #require(entry["name"] as? String)
                    let ready = try await client.get("/v2/models/\(name)/ready")
                    #expect((entry["state"] as? String == "READY") == (ready.status == .ok), "\(name): \(entry)")
                    #expect(try ready.object()["ready"] as? Bool == (ready.status == .ok), "\(name)")
                    entries[name] = entry
                }
                return entries
            }
            // Models load lazily: before its first request a model is not ready, and the index says why.
            var index = try await agreeingIndex()
            #expect(index["embed"]?["state"] as? String == "UNAVAILABLE")
            #expect(index["embed"]?["reason"] as? String == "not loaded; loads on first request")
            #expect(try await client.get("/v2/models/embed/ready").status == .serviceUnavailable)
            #expect(try await client.post("/v2/repository/index", json: #"{"ready":true}"#).array().isEmpty)
            // The server is ready to take requests with no model loaded: the first one loads its model.
            #expect(try await client.get("/v2/health/ready").status == .ok)

            #expect(try await client.post("/v2/models/embed/infer", json: inferBody(["a"])).status == .ok)
            index = try await agreeingIndex()
            #expect(index["embed"]?["state"] as? String == "READY")
            #expect(index["embed"]?["reason"] as? String == "")
            #expect(index["classify"]?["state"] as? String == "UNAVAILABLE")
            #expect(try await client.get("/v2/models/embed/ready").status == .ok)
            let ready = try await client.post("/v2/repository/index", json: #"{"ready":true}"#).array()
            #expect(ready.compactMap { $0["name"] as? String } == ["embed"])
        }
    }

    @Test func repositoryIndexLoadAndUnload() async throws {
        try models.corrupt("broken")
        try await models.withLiveServer { client in
            var index = try await client.post("/v2/repository/index", json: "").array()
            #expect(index.compactMap { $0["name"] as? String } == ["broken", "classify", "embed"])
            #expect(index.allSatisfy { $0["state"] as? String == "UNAVAILABLE" && $0["reason"] as? String == "not loaded; loads on first request" })

            #expect(try await client.post("/v2/repository/models/embed/load", json: "").status == .ok)
            let broken = try await client.post("/v2/repository/models/broken/load", json: "")
            #expect(broken.status == .serviceUnavailable)
            #expect(try broken.errorMessage().contains("safetensors"))
            index = try await client.post("/v2/repository/index", json: "").array()
            let states = Dictionary(uniqueKeysWithValues: index.map { ($0["name"] as? String ?? "", $0) })
            #expect(states["embed"]?["state"] as? String == "READY")
            #expect(states["broken"]?["state"] as? String == "UNAVAILABLE")
            #expect((states["broken"]?["reason"] as? String)?.contains("safetensors") == true)
            let ready = try await client.post("/v2/repository/index", json: #"{"ready":true}"#).array()
            #expect(ready.compactMap { $0["name"] as? String } == ["embed"])

            #expect(try await client.post("/v2/repository/models/embed/unload", json: "").status == .ok)
            index = try await client.post("/v2/repository/index", json: #"{"ready":false}"#).array()
            #expect(index.first { $0["name"] as? String == "embed" }?["reason"] as? String == "unloaded")
            #expect(try await client.post("/v2/repository/models/nope/load", json: "").status == .notFound)
            #expect(try await client.post("/v2/repository/models/nope/unload", json: "").status == .notFound)
            // A model that failed alone: the others still serve.
            #expect(try await client.post("/v2/models/embed/infer", json: inferBody(["a"])).status == .ok)
            #expect(try await client.post("/v2/models/broken/infer", json: inferBody(["a"])).status == .serviceUnavailable)
        }
    }
}
