import AsyncHTTPClient
import Foundation
import Hummingbird
import HummingbirdTesting
import NIOCore
import ShoalTesting
import Synchronization
import Testing

/// Asynchronous requests against a real `shoal serve` process on all-MiniLM-L6-v2, killed with SIGKILL while it
/// works through its queue.
@Suite(.serialized, .timeLimit(.minutes(5))) struct AsyncRequestTests {
    /// 200 requests over the three inference APIs, 100 of them before a SIGKILL and 100 after the restart:
    /// every accepted request ends with exactly one stored result, equal to the synchronous answer, and the
    /// callback receiver on loopback gets each, once but for at most the one request whose callback was under
    /// way at the kill (one runs at a time): nothing records that a receiver got a callback before its answer
    /// comes back, so that one is called again after the restart, with the same `Shoal-Async-Id`.
    @Test func everyAcceptedRequestGetsOneResultAndOneCallbackAcrossAKill() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-async-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let results = folder.appendingPathComponent("async-results")
        let queue = folder.appendingPathComponent("queue")
        let receiver = CallbackReceiver()
        try await receiver.serve { callback in
            var server = try await ServeProcess.start(arguments: ["--async-dir", folder.path, "--async-callback-hosts", "127.0.0.1"])
            defer { server.stop() }
            var submitted: [String: Int] = [:]
            for index in 0..<100 {
                submitted[try await Self.submit(index, port: server.port, callback: callback)] = index
            }
            // Killed with work done and work left: a crash after the 202 must lose nothing.
            try await Self.waitUntil("10 results are stored") { Self.count(".json", in: results) >= 10 }
            server.kill()
            let left = Self.count(".json", in: queue)
            #expect(left > 0, "the server was killed after it had finished its queue; the test proves nothing")

            server = try await server.restart()
            for index in 100..<200 {
                submitted[try await Self.submit(index, port: server.port, callback: callback)] = index
            }
            try await Self.waitUntil("every request is finished and called back", timeout: .seconds(180)) {
                Self.count(".json", in: results) == 200 && Self.count(".json", in: queue) == 0
            }

            // One stored result per accepted request, and one callback each.
            let stored = Set(try FileManager.default.contentsOfDirectory(atPath: results.path)
                .filter { $0.hasSuffix(".json") }.map { String($0.dropLast(5)) })
            #expect(stored == Set(submitted.keys))
            let calls = receiver.calls
            #expect(Set(calls.keys) == Set(submitted.keys))
            let repeated = calls.filter { $0.value != 1 }
            #expect(repeated.count <= 1 && repeated.values.allSatisfy { $0 == 2 }, "repeated callbacks: \(repeated)")

            // The stored answers are the synchronous ones.
            for (id, index) in submitted.sorted(by: { $0.value < $1.value }).filter({ $0.value % 40 < 3 }) {
                let status = try await Self.json("/v2/async/\(id)", port: server.port)
                #expect(status["status"] as? String == "succeeded" && status["http_status"] as? Int == 200)
                let result = try #require(status["result"] as? [String: Any])
                let direct = try await Self.json(Self.route(index), port: server.port, body: Self.body(index))
                let (asynchronous, synchronous) = (try Self.vector(result, index), try Self.vector(direct, index))
                #expect(asynchronous.count == 384 && zip(asynchronous, synchronous).allSatisfy { abs($0 - $1) < 1e-4 })
            }
        }
    }

    /// What the server refuses before queueing, and an input read from the store instead of the body.
    @Test func badSubmissionsAreRefusedAndInputLocationsAreRead() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-async-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let server = try await ServeProcess.start(arguments: ["--async-dir", folder.path])
        defer { server.stop() }
        let text = Self.body(0)
        for (path, headers, body, status) in [
            ("/predictions/nope", [:], text, 404),
            ("/v1/embeddings", ["Shoal-Callback-URL": "ftp://x/y"], text, 400),
            // No --async-callback-hosts: no callback at all, not even to loopback.
            ("/v1/embeddings", ["Shoal-Callback-URL": "http://127.0.0.1:9/hook"], text, 400),
            ("/v1/embeddings", ["Shoal-Deadline-Seconds": "-3"], text, 400),
            ("/v1/embeddings", ["Shoal-Input-Location": "../../etc/passwd"], Data(), 400),
            ("/v1/embeddings", ["Shoal-Input-Location": "inputs/a.json"], text, 400),
        ] as [(String, [String: String], Data, Int)] {
            let response = try await Self.post(path, port: server.port, body: body, headers: headers.merging(["Prefer": "respond-async"]) { a, _ in a })
            #expect(response.status.code == status, "\(path) \(headers)")
        }
        #expect(try await Self.json("/v2/async/not-an-id", port: server.port, expect: 404)["error"] != nil)
        #expect(try await Self.json("/v2/async/\(UUID().uuidString.lowercased())", port: server.port, expect: 404)["error"] != nil)

        // An input location inside the server's store (here its async folder), and one that does not exist.
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("inputs"), withIntermediateDirectories: true)
        try text.write(to: folder.appendingPathComponent("inputs/a.json"))
        var ids: [String] = []
        for location in ["inputs/a.json", "\(folder.path)/inputs/a.json", "inputs/missing.json"] {
            let response = try await Self.post("/v1/embeddings", port: server.port, body: Data(),
                                               headers: ["Prefer": "respond-async", "Shoal-Input-Location": location])
            #expect(response.status.code == 202)
            ids.append(try #require(try JSONSerialization.jsonObject(with: Data(buffer: try await response.body.collect(upTo: 1 << 20))) as? [String: Any])["id"] as? String ?? "")
        }
        try await Self.waitUntil("three results are stored") { Self.count(".json", in: folder.appendingPathComponent("async-results")) == 3 }
        for id in ids.prefix(2) {
            let status = try await Self.json("/v2/async/\(id)", port: server.port)
            #expect(status["status"] as? String == "succeeded")
            #expect(try Self.vector(try #require(status["result"] as? [String: Any]), 0).count == 384)
        }
        let missing = try await Self.json("/v2/async/\(ids[2])", port: server.port)
        #expect(missing["status"] as? String == "failed" && missing["http_status"] as? Int == 404)
        let raw = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(server.port)/v2/async/\(ids[0])/result"), timeout: .seconds(30))
        #expect(raw.status.code == 200 && raw.headers.first(name: "Content-Type") == "application/json")
    }

    // MARK: Requests

    /// Route and body of request `index`: the OpenAI, reference and KServe APIs in turn.
    static func route(_ index: Int) -> String {
        ["/v1/embeddings", "/predictions/minilm", "/v2/models/minilm/infer"][index % 3]
    }

    /// Eight texts of about 60 words each: enough work per request that the queue is still long when the
    /// server is killed.
    static func body(_ index: Int) -> Data {
        let words = "the weather over the harbour turned while the boats came in and the market opened late"
        let texts = (0..<8).map { "\"request \(index) text \($0): \(String(repeating: words + " ", count: 4))\"" }.joined(separator: ",")
        switch index % 3 {
        case 0: return Data(#"{"model":"minilm","input":[\#(texts)]}"#.utf8)
        case 1: return Data(#"{"inputs":[\#(texts)]}"#.utf8)
        default: return Data(#"{"inputs":[{"name":"text","shape":[8],"datatype":"BYTES","data":[\#(texts)]}]}"#.utf8)
        }
    }

    /// The first text's embedding in an answer of request `index`'s API.
    static func vector(_ answer: [String: Any], _ index: Int) throws -> [Double] {
        let values: Any?
        switch index % 3 {
        case 0: values = (answer["data"] as? [[String: Any]])?.first?["embedding"]
        case 1: values = (answer["predictions"] as? [Any])?.first
        default: values = ((answer["outputs"] as? [[String: Any]])?.first?["data"] as? [Any])?.prefix(384).map { $0 }
        }
        return try #require((values as? [NSNumber])?.map(\.doubleValue), "no embedding in \(answer)")
    }

    /// Submits request `index` asynchronously with `callback`; returns its id.
    static func submit(_ index: Int, port: Int, callback: String) async throws -> String {
        let response = try await post(route(index), port: port, body: body(index),
                                      headers: ["Prefer": "respond-async", "Shoal-Callback-URL": callback])
        let answer = try JSONSerialization.jsonObject(with: Data(buffer: try await response.body.collect(upTo: 1 << 20))) as? [String: Any]
        try #require(response.status.code == 202, "\(String(describing: answer))")
        let id = try #require(answer?["id"] as? String)
        #expect(response.headers.first(name: "Location") == "/v2/async/\(id)")
        return id
    }

    static func post(_ path: String, port: Int, body: Data, headers: [String: String]) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(data: body))
        return try await HTTPClient.shared.execute(request, timeout: .seconds(60))
    }

    /// The JSON answer to a GET of `path` (a POST of `body` when given), which must have status `expect`.
    static func json(_ path: String, port: Int, body: Data? = nil, expect: Int = 200) async throws -> [String: Any] {
        let response: HTTPClientResponse
        if let body {
            response = try await post(path, port: port, body: body, headers: [:])
        } else {
            response = try await HTTPClient.shared.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)"), timeout: .seconds(30))
        }
        let data = Data(buffer: try await response.body.collect(upTo: 16 << 20))
        #expect(Int(response.status.code) == expect, "\(path): \(String(decoding: data, as: UTF8.self))")
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func count(_ suffix: String, in folder: URL) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(suffix) }.count
    }

    static func waitUntil(_ what: String, timeout: Duration = .seconds(120), _ condition: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !condition() {
            try #require(ContinuousClock.now < deadline, "timed out waiting until \(what)")
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}

/// An HTTP server on loopback that counts the callbacks it gets by `Shoal-Async-Id`.
final class CallbackReceiver: Sendable {
    private let received = Mutex<[String: Int]>([:])

    /// Callbacks so far, by request id.
    var calls: [String: Int] { received.withLock { $0 } }

    /// Runs `body` with the receiver's URL while it listens.
    func serve(_ body: @escaping @Sendable (String) async throws -> Void) async throws {
        let router = Router()
        router.post("/done") { request, _ -> HTTPResponse.Status in
            if let id = request.headers[.init("Shoal-Async-Id")!] {
                self.received.withLock { $0[id, default: 0] += 1 }
            }
            return .noContent
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            try await body("http://127.0.0.1:\(try #require(client.port))/done")
        }
    }
}
