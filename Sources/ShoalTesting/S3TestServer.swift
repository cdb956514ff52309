import Foundation
import ShoalStore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// An S3-compatible server on 127.0.0.1 that a test starts and stops itself: `moto_server` (in memory) or
/// SeaweedFS (`weed`, on disk, checks credentials).
public final class S3TestServer: @unchecked Sendable {
    // @unchecked: `process` is replaced only by `restart()`, which tests call from one task.

    /// Which server.
    public enum Kind: Sendable {
        case moto
        case seaweed
    }

    /// Keys SeaweedFS accepts; moto accepts any.
    public static let accessKey = "shoalaccess"
    /// The secret of `accessKey`.
    public static let secretKey = "shoalsecret"

    public let kind: Kind
    public let port: Int
    /// The server's data and log, removed with the server.
    public let folder: URL
    /// SeaweedFS's master, volume and filer ports (each gRPC port is the HTTP port + 10000), kept across restarts.
    private let seaweedPorts: [Int]
    private var process: Process?

    /// The server's URL.
    public var endpoint: String { "http://127.0.0.1:\(port)" }

    /// The environment a client of this server needs.
    public var environment: [String: String] {
        ["AWS_ACCESS_KEY_ID": Self.accessKey, "AWS_SECRET_ACCESS_KEY": Self.secretKey, "AWS_REGION": "us-east-1",
         "HOME": folder.path]
    }

    /// Whether the server's program is installed (`scripts/setup.sh` installs both).
    public static func isInstalled(_ kind: Kind) -> Bool {
        executable(kind) != nil
    }

    /// Starts the server and waits until it accepts connections (at most `timeout`). The wait suspends
    /// rather than blocks: SeaweedFS takes many seconds to start, and a blocked thread of the cooperative
    /// pool (2 on a 2-core machine) would stall every other suite running meanwhile.
    public init(_ kind: Kind, timeout: Duration = .seconds(30)) async throws {
        self.kind = kind
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-s3-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let ports = try LoopbackPorts.free(kind == .seaweed ? 4 : 1, with: [0, 10_000])
        port = ports[0]
        seaweedPorts = Array(ports.dropFirst())
        try await start(timeout: timeout)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Kills the server at once (SeaweedFS takes 15-25 s to stop on SIGTERM); its data folder stays.
    public func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
        // SeaweedFS puts its gRPC sockets in /tmp whatever TMPDIR says, and only a clean exit removes them.
        if kind == .seaweed {
            let grpc = zip(["master", "volume", "filer", "s3"], seaweedPorts + [port])
            for (server, port) in grpc { unlink("/tmp/seaweedfs-\(server)-grpc-\(port + 10_000).sock") }
        }
    }

    /// The end of the server's log, for a failure message.
    public var logTail: String {
        String(((try? String(contentsOf: folder.appendingPathComponent("server.log"), encoding: .utf8)) ?? "").suffix(3_000))
    }

    /// Stops and starts the server on the same port and data folder.
    public func restart(timeout: Duration = .seconds(30)) async throws {
        stop()
        try await start(timeout: timeout)
    }

    private func start(timeout: Duration) async throws {
        guard let program = Self.executable(kind) else { throw Failure("\(kind) is not installed; run scripts/setup.sh") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        switch kind {
        case .moto:
            process.arguments = ["-H", "127.0.0.1", "-p", "\(port)"]
        case .seaweed:
            let config = folder.appendingPathComponent("s3.json")
            let identities = """
                {"identities":[{"name":"shoal","credentials":[{"accessKey":"\(Self.accessKey)","secretKey":"\(Self.secretKey)"}],\
                "actions":["Admin","Read","Write","List","Tagging"]}]}
                """
            try Data(identities.utf8).write(to: config)
            let data = folder.appendingPathComponent("data")
            try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
            let ports = seaweedPorts
            // Logs to the server's standard error (server.log), local sockets in the test's folder.
            process.arguments = [
                "-logtostderr", "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-dir=\(data.path)",
                "-master.port=\(ports[0])", "-volume.port=\(ports[1])", "-filer", "-filer.port=\(ports[2])",
                "-s3", "-s3.port=\(port)", "-s3.config=\(config.path)", "-master.volumeSizeLimitMB=64", "-volume.max=8",
                "-filer.localSocket=\(folder.appendingPathComponent("filer.sock").path)", "-s3.localSocket=\(folder.appendingPathComponent("s3.sock").path)",
            ] + Self.seaweedFixedListenersOff
        }
        let log = folder.appendingPathComponent("server.log")
        _ = FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        handle.seekToEndOfFile()
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
        let deadline = ContinuousClock.now + timeout
        while !LoopbackPorts.accepts(port: port) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                stop()
                throw Failure("\(kind) did not start on port \(port): \(logTail)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// Options that turn off the listeners newer SeaweedFS releases open on fixed ports (Iceberg on 8181, Lance
    /// on 9101), which two servers at once, or a restart, would fight over; each only where `weed` has it. Asked
    /// of `weed` once per process.
    private static let seaweedFixedListenersOff: [String] = {
        guard let program = executable(.seaweed) else { return [] }
        let help = Process()
        help.executableURL = URL(fileURLWithPath: program)
        help.arguments = ["server", "-h"]
        let output = Pipe()
        help.standardOutput = output
        help.standardError = output
        guard (try? help.run()) != nil else { return [] }
        let usage = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        help.waitUntilExit()
        return ["-s3.port.iceberg", "-s3.port.lance"].filter { usage.contains("\($0) ") }.map { "\($0)=0" }
    }()

    private static func executable(_ kind: Kind) -> String? {
        let name = kind == .moto ? "moto_server" : "weed"
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// The server did not start.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(_ description: String) { self.description = description }
    }

    /// Creates a bucket, retrying while the server is still coming up (SeaweedFS needs a few seconds).
    public func createBucket(_ bucket: String = "models", timeout: Duration = .seconds(60)) async throws {
        let backend = try S3Backend(
            bucket: bucket, prefix: "",
            configuration: StoreConfiguration(url: "s3://\(bucket)", endpoint: endpoint, environment: environment))
        let deadline = ContinuousClock.now + timeout
        while true {
            do {
                try await backend.createBucket()
                return
            } catch where ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(500))
            }
        }
    }
}
