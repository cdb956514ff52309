import Foundation
import HTTPTypes
import HummingbirdTesting
import ShoalModels
import ShoalServer
import Testing

@Suite struct OpenAIRouteTests {
    let models: TestModels

    init() throws {
        models = try TestModels()
    }

    @Test func embeddingsOfOneAndManyTexts() async throws {
        let model = try Model(folder: models.root.appendingPathComponent("embed"))
        let texts = ["hello world", "the quick brown fox"]
        let tokens = texts.map { model.tokenize($0).ids.count }.reduce(0, +)
        try await models.withLiveServer { client in
            let one = try await client.post("/v1/embeddings", json: #"{"model":"embed","input":"hello world"}"#)
            #expect(one.status == .ok)
            let body = try one.object()
            #expect(body["object"] as? String == "list")
            #expect(body["model"] as? String == "embed")
            let data = try #require(body["data"] as? [[String: Any]])
            #expect(data.count == 1)
            #expect(data[0]["object"] as? String == "embedding")
            #expect((data[0]["embedding"] as? [Double])?.count == 32)

            let many = try await client.post(
                "/v1/embeddings", json: #"{"model":"embed","input":["hello world","the quick brown fox"]}"#)
            let usage = try #require(try many.object()["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == tokens)
            #expect(usage["total_tokens"] == tokens)
            #expect((try many.object()["data"] as? [[String: Any]])?.map { $0["index"] as? Int } == [0, 1])
        }
    }

    @Test func base64AndShortenedEmbeddings() async throws {
        try await models.withLiveServer { client in
            let floats = try await client.post("/v1/embeddings", json: #"{"model":"embed","input":"good day"}"#)
            let vector = try #require((try floats.object()["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])
            let base64 = try await client.post(
                "/v1/embeddings", json: #"{"model":"embed","input":"good day","encoding_format":"base64"}"#)
            let text = try #require((try base64.object()["data"] as? [[String: Any]])?.first?["embedding"] as? String)
            let bytes = try #require(Data(base64Encoded: text))
            let decoded = stride(from: 0, to: bytes.count, by: 4).map { offset in
                Float(bitPattern: bytes[offset..<offset + 4].enumerated().reduce(UInt32(0)) { $0 | UInt32($1.element) << (8 * $1.offset) })
            }
            #expect(decoded.count == 32)
            // JSON carries each float's shortest decimal form, which reads back to the same float32.
            #expect(zip(decoded, vector).allSatisfy { $0 == Float($1) })

            let short = try await client.post("/v1/embeddings", json: #"{"model":"embed","input":"good day","dimensions":8}"#)
            let shortened = try #require((try short.object()["data"] as? [[String: Any]])?.first?["embedding"] as? [Double])
            #expect(shortened.count == 8)
            #expect(abs(shortened.reduce(0) { $0 + $1 * $1 }.squareRoot() - 1) < 1e-5)
        }
    }

    @Test func embeddingsRefuseBadRequests() async throws {
        try await models.withLiveServer { client in
            let cases: [(String, Int)] = [
                (#"{"model":"classify","input":"good"}"#, 422),
                (#"{"model":"embed","input":"good","encoding_format":"int8"}"#, 422),
                (#"{"model":"embed","input":[1,2,3]}"#, 422),
                (#"{"model":"embed","input":"good","dimensions":64}"#, 422),
                (#"{"model":"embed","input":"good","dimensions":0}"#, 422),
                (#"{"model":"embed","input":[]}"#, 422),
                (#"{"input":"good"}"#, 400),
                (#"{"model":"nope","input":"good"}"#, 404),
            ]
            for (body, status) in cases {
                let response = try await client.post("/v1/embeddings", json: body)
                #expect(response.status.code == status, "\(body)")
                #expect(try !response.errorMessage().isEmpty)
            }
            // What the model cannot answer (a classifier, more dimensions than it has) is refused from what the
            // model is, before anything is queued: nothing waited in a queue, nothing was tokenized.
            let samples = prometheusSamples(try await client.get("/metrics").text)
            for model in ["classify", "embed"] {
                #expect((samples[#"shoal_model_inputs_total{model="\#(model)"}"#] ?? 0) == 0, "\(model)")
            }
            let queuedOrTokenized = samples.filter { key, value in
                value > 0 && (key.hasPrefix("shoal_queue_duration_seconds_count") || key.hasPrefix("shoal_tokenize_duration_seconds_count"))
            }
            #expect(queuedOrTokenized.isEmpty)
        }
    }

    @Test func decodingErrorsNameTheFieldAndTheProblem() async throws {
        try await models.withLiveServer { client in
            let cases: [(body: String, status: Int, message: String)] = [
                (#"{"model":"embed","input":"a","dimensions":2.5}"#, 400, #""dimensions" must be a positive integer, not 2.5"#),
                (#"{"model":"embed","input":"a","dimensions":1e20}"#, 400, #""dimensions" must be a positive integer, not 1e+20"#),
                (#"{"model":"embed","input":"a","dimensions":"8"}"#, 400, #""dimensions" must be a positive integer"#),
                (#"{"model":"embed","input":"a","dimensions":-3}"#, 422, #""dimensions" must be a positive integer, not -3"#),
                (#"{"model":7,"input":"a"}"#, 400, #""model" must be a string"#),
                (#"{"model":null,"input":"a"}"#, 400, #""model" must be a string, not null"#),
                (#"{"input":"a"}"#, 400, #"missing field "model""#),
                (#"{"model":"embed","input":["a",[1,2]]}"#, 422, #""input[1]" is not text"#),
                (#"["embed"]"#, 400, "the request body must be an object"),
                (#"{"model":"embed","input":"a",,}"#, 400, "the request body is not valid JSON"),
            ]
            for (body, status, message) in cases {
                let response = try await client.post("/v1/embeddings", json: body)
                #expect(response.status.code == status, "\(body)")
                let error = try response.errorMessage()
                #expect(error.contains(message), "\(body): \(error)")
            }
        }
    }

    @Test func textThatIsNotUTF8OrHoldsNULIsNamedSo() async throws {
        try await models.withLiveServer { client in
            let prefix = Array(#"{"model":"embed","input":"#.utf8)
            let cases: [(input: [UInt8], message: String)] = [
                (Array(#""caf"#.utf8) + [0xFF] + Array(#"""#.utf8), #""input" is not valid UTF-8 text: byte 29 of the body is 0xFF"#),
                (Array(#"["ok","caf"#.utf8) + [0xE9] + Array(#""]"#.utf8), #""input[1]" is not valid UTF-8 text"#),
                (Array(#""a"#.utf8) + [0] + Array(#"b""#.utf8), #""input" contains a NUL byte (byte 27 of the body)"#),
            ]
            for (input, message) in cases {
                let response = try await client.post("/v1/embeddings", bytes: prefix + input + Array("}".utf8))
                #expect(response.status == .badRequest)
                let error = try response.errorMessage()
                #expect(error.contains(message), "\(error)")
                #expect(!error.contains("token arrays"))
            }
            let predictions = try await client.post("/predictions/embed", bytes: Array(#"{"inputs":["a"#.utf8) + [0xFF] + Array(#""]}"#.utf8))
            #expect(try predictions.errorMessage().contains(#""inputs[0]" is not valid UTF-8 text"#))
            // An escaped NUL is valid JSON and valid text.
            #expect(try await client.post("/v1/embeddings", json: #"{"model":"embed","input":"a\u0000b"}"#).status == .ok)
        }
    }

    @Test func referencePredictions() async throws {
        try await models.withLiveServer { client in
            let single = try await client.get("/predictions/embed?seq_0=hello%20world")
            #expect(single.status == .ok)
            let rows = try #require(try single.object()["predictions"] as? [[Double]])
            #expect(rows.count == 1 && rows[0].count == 32)

            let batch = try await client.post("/predictions/classify", json: #"{"inputs":["good","bad"]}"#)
            let classes = try #require(try batch.object()["predictions"] as? [[Double]])
            #expect(classes.count == 2 && classes.allSatisfy { $0.count == 2 })

            #expect(try await client.get("/predictions/embed").status == .badRequest)
            #expect(try await client.get("/predictions/embed?seq_0=a&seq_1=b").status == .unprocessableContent)
            #expect(try await client.get("/predictions/nope?seq_0=a").status == .notFound)
            #expect(try await client.post("/predictions/embed", json: #"{"inputs":"a"}"#).status == .badRequest)

            // The same text however it is encoded; bytes that are not UTF-8 are refused, not replaced.
            let plus = try await client.get("/predictions/embed?seq_0=hello+world")
            #expect(try plus.object()["predictions"] as? [[Double]] == rows)
            let invalid = try await client.get("/predictions/embed?seq_0=a%FFb")
            #expect(invalid.status == .badRequest)
            #expect(try invalid.errorMessage().contains("seq_0 is not valid percent-encoded UTF-8"))
            // A percent-encoded model name is the name it encodes.
            let encoded = try await client.get("/predictions/%65mbed?seq_0=hello%20world")
            #expect(try encoded.object()["predictions"] as? [[Double]] == rows)
            #expect(try await client.get("/v2/models/%65mbed").status == .ok)
            #expect(try await client.get("/v2/models/%FFmbed").status == .badRequest)
            let empty = try await client.post("/v2/models//infer", json: "{}")
            #expect(empty.status == .badRequest)
            #expect(try empty.errorMessage().contains("empty segment"))
        }
    }
}
