import Foundation
import ShoalTesting
import Testing

/// `shoal serve` as a separate process, with its own open-file limit, against clients that hold connections or
/// flood it: real requests must keep being answered.
@Suite(.serialized, .timeLimit(.minutes(2))) struct HostileClientTests {
    static let sentence = #"{"inputs":[{"name":"text","datatype":"BYTES","shape":[1],"data":["A man is eating food."]}]}"#

    /// 1,100 clients each send half a request head and hold the connection, more than the server's 1,024 open
    /// files allow: the server closes the stalled ones to make room, real requests are answered within 1 s, and
    /// no core spins while the clients hold on.
    @Test func halfOpenConnectionsBeyondTheFileLimitDoNotStarveRealRequests() async throws {
        let server = try await ServeProcess.start(fileLimit: 1_024)
        defer { server.stop() }
        // The model loads on its first request, before the clients come.
        #expect(try await Self.timedRequest(port: server.port, wait: .seconds(60)).0.received.hasPrefix("HTTP/1.1 200"))
        let started = ContinuousClock.now

        let holders = try await HalfOpenClients.start(1_100, port: server.port)
        defer { holders.stop() }
        #expect(holders.connected >= 1_024, "only \(holders.connected) of 1,100 clients connected")

        // The held connections cost nothing while they wait: the server process is idle.
        let cpuBefore = try server.cpuSeconds()
        try await Task.sleep(for: .seconds(2))
        let cpu = try server.cpuSeconds() - cpuBefore
        #expect(cpu < 0.5, "the server used \(cpu) s of CPU in 2 s while the clients held their connections")

        for _ in 0..<10 {
            let (answer, elapsed) = try await Self.timedRequest(port: server.port)
            #expect(answer.received.hasPrefix("HTTP/1.1 200"), "\(answer.received.prefix(200))")
            #expect(elapsed < .seconds(1), "a real request took \(elapsed) while clients held half-open connections")
        }
        #expect(server.isRunning)
        #expect(ContinuousClock.now - started < .seconds(30))
    }

    /// 256 connections flood a server whose queue holds 16 inputs (8× overload): every request is answered 200 or
    /// 429, the resident size stays bounded, and a request right after the flood is served normally.
    @Test func floodOfTwoHundredFiftySixConnectionsIsAnsweredWith200Or429() async throws {
        let server = try await ServeProcess.start(arguments: ["--max-inputs", "8", "--max-queue-size", "16"])
        defer { server.stop() }
        _ = try await Self.timedRequest(port: server.port, wait: .seconds(60))
        let baseline = try server.residentBytes()

        let peak = Peak()
        let sampler = Task {
            while !Task.isCancelled {
                if let rss = try? server.residentBytes() { peak.record(rss) }
                try? await Task.sleep(for: .milliseconds(100))
            }
        }
        let counts = try await Wrk.run(port: server.port, body: Self.sentence, connections: 256, seconds: 5)
        sampler.cancel()

        #expect(counts.statuses.keys.allSatisfy { $0 == 200 || $0 == 429 }, "statuses: \(counts.statuses)")
        #expect((counts.statuses[200] ?? 0) > 0 && (counts.statuses[429] ?? 0) > 0, "statuses: \(counts.statuses)")
        #expect(counts.socketErrors == 0, "wrk: \(counts.summary)")
        let growth = peak.value - baseline
        #expect(growth < 256 << 20, "resident size grew by \(growth >> 20) MiB during the flood")

        let (answer, elapsed) = try await Self.timedRequest(port: server.port)
        #expect(answer.received.hasPrefix("HTTP/1.1 200"), "\(answer.received.prefix(200))")
        #expect(elapsed < .seconds(1))
        #expect(server.isRunning)
    }

    /// One inference on a fresh connection, and how long it took; the answer must come within `wait`.
    static func timedRequest(port: Int, wait: Duration = .seconds(5)) async throws -> (RawExchange, Duration) {
        let request = "POST /v2/models/minilm/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            + "Content-Length: \(sentence.utf8.count)\r\nConnection: close\r\n\r\n" + sentence
        let clock = ContinuousClock()
        let start = clock.now
        let answer = try await RawExchange.run(port: port, sending: request, wait: wait)
        return (answer, clock.now - start)
    }

}

/// Clients that each send half a request head and hold the connection, in a python3 process of their own: this
/// test process starts other processes, and Foundation's `Process.run` lists /proc/self/fd with a read that can
/// run past glibc's buffer (and crash) once over a thousand descriptors are open.
private final class HalfOpenClients: Sendable {
    private let process: Process
    private let input: Pipe
    /// How many of the clients connected.
    let connected: Int

    private static let script = """
        from resource import RLIM_INFINITY, RLIMIT_NOFILE, getrlimit, setrlimit
        from socket import create_connection
        from sys import argv, stdin
        from time import monotonic
        count, port = int(argv[1]), int(argv[2])
        soft, hard = getrlimit(RLIMIT_NOFILE)
        wanted = count + 64
        if soft != RLIM_INFINITY and soft < wanted:
            setrlimit(RLIMIT_NOFILE, (wanted if hard == RLIM_INFINITY else min(hard, wanted), hard))
        held, deadline = [], monotonic() + 20
        while len(held) < count and monotonic() < deadline:
            try:
                client = create_connection(("127.0.0.1", port), timeout=2)
                client.sendall(b"POST /v2/models/minilm/infer HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-")
                held.append(client)
            except OSError:
                pass
        print(len(held), flush=True)
        stdin.read()
        """

    /// Starts `count` clients of 127.0.0.1:`port` and returns once they have connected (or 20 s have passed).
    static func start(_ count: Int, port: Int) async throws -> HalfOpenClients {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { continuation.resume(with: Result { try HalfOpenClients(count, port: port) }) }
        }
    }

    private init(_ count: Int, port: Int) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, String(count), String(port)]
        input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        var line: [UInt8] = []
        while line.last != UInt8(ascii: "\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += chunk
        }
        connected = Int(String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }

    /// Closes every client: the process exits when its input ends.
    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}

/// The largest value recorded, from any thread.
private final class Peak: @unchecked Sendable {
    private let lock = NSLock()
    private var largest = 0

    var value: Int { lock.withLock { largest } }

    func record(_ value: Int) { lock.withLock { largest = max(largest, value) } }
}

/// A `wrk` run that counts responses by status (with a Lua script, since wrk itself only counts non-2xx).
struct Wrk {
    var statuses: [Int: Int]
    var socketErrors: Int
    var summary: String

    static let script = """
        wrk.method = "POST"
        wrk.headers["Content-Type"] = "application/json"
        local threads = {}
        function setup(thread) table.insert(threads, thread) end
        function init(args) counts = {} end
        function response(status, headers, body) counts[status] = (counts[status] or 0) + 1 end
        function done(summary, latency, requests)
          local total = {}
          for _, thread in ipairs(threads) do
            for status, n in pairs(thread:get("counts")) do total[status] = (total[status] or 0) + n end
          end
          for status, n in pairs(total) do io.write(string.format("status %d %d\\n", status, n)) end
          local e = summary.errors
          io.write(string.format("errors %d\\n", e.connect + e.read + e.write + e.timeout))
        end
        """

    /// `connections` connections POSTing `body` to /v2/models/minilm/infer for `seconds`. A request unanswered
    /// for 25 s (within the server's 30 s request timeout, beyond any wait of a machine busy with other tests)
    /// counts as a socket error.
    static func run(port: Int, body: String, connections: Int, seconds: Int) async throws -> Wrk {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-wrk-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let scriptFile = folder.appendingPathComponent("count.lua")
        let escaped = body.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        try (script + "\nwrk.body = \"\(escaped)\"\n").write(to: scriptFile, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "wrk", "-t", "2", "-c", String(connections), "-d", "\(seconds)s", "--timeout", "25s", "-s", scriptFile.path,
            "http://127.0.0.1:\(port)/v2/models/minilm/infer",
        ]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: output.fileHandleForReading.readDataToEndOfFile()) }
        }
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        try #require(process.terminationStatus == 0, "wrk failed: \(text)")
        var result = Wrk(statuses: [:], socketErrors: -1, summary: text)
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.first == "status", fields.count == 3, let status = Int(fields[1]), let count = Int(fields[2]) {
                result.statuses[status] = count
            } else if fields.first == "errors", fields.count == 2, let count = Int(fields[1]) {
                result.socketErrors = count
            }
        }
        return result
    }
}
