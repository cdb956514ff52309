import AsyncHTTPClient
import Foundation
import NIOCore
import ShoalStore
#if canImport(Glibc)
import Glibc
#endif

/// Measures cold starts of a real model as a distribution: each run starts a `shoal serve` process (or lets the
/// gateway start a stopped serverless group) and sends the first request as soon as the server listens;
/// the time counted is from the process's start (the request's arrival at the gateway) to the first answer.
public struct ColdStartBenchmark: Sendable {
    /// The `shoal` executable that runs the servers.
    public var executable: String
    /// The model's folder and the name it is served under.
    public var model: URL
    public var name: String
    /// Compute threads of each server.
    public var threads: Int
    public var runs: Int
    /// The text of the first request.
    public var text = "a short sentence to embed"

    public init(executable: String, model: URL, name: String, threads: Int, runs: Int) {
        self.executable = executable
        self.model = model
        self.name = name
        self.threads = threads
        self.runs = runs
    }

    /// One cold start: when the server listened (bare server only) and when the first answer came, both in
    /// milliseconds from the start; through the gateway, also what its cold-start header said.
    public struct Run: Codable, Sendable {
        public var listeningMs: Double?
        public var firstResponseMs: Double
        public var headerMs: Double?
    }

    /// Percentiles of the first-response times, with every run.
    public struct Report: Codable, Sendable {
        public var mode: String
        public var model: String
        public var threads: Int
        public var runs: [Run]
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var minMs: Double
        /// The median time until the server listened: the process's start, before the model is loaded.
        public var listeningP50Ms: Double?

        init(mode: String, model: String, threads: Int, runs: [Run]) {
            self.mode = mode
            self.model = model
            self.threads = threads
            self.runs = runs
            let times = runs.map(\.firstResponseMs).sorted()
            p50Ms = Self.percentile(times, 0.5)
            p90Ms = Self.percentile(times, 0.9)
            p99Ms = Self.percentile(times, 0.99)
            maxMs = times.last ?? 0
            minMs = times.first ?? 0
            let listening = runs.compactMap(\.listeningMs).sorted()
            listeningP50Ms = listening.isEmpty ? nil : Self.percentile(listening, 0.5)
        }

        /// The nearest-rank percentile of sorted `values`.
        static func percentile(_ values: [Double], _ fraction: Double) -> Double {
            guard !values.isEmpty else { return 0 }
            return values[max(0, min(values.count - 1, Int((fraction * Double(values.count)).rounded(.up)) - 1))]
        }
    }

    /// `runs` cold starts of a bare server process.
    public func measureServer(progress: @Sendable (Int, Run) -> Void = { _, _ in }) async throws -> Report {
        let folder = try temporaryModels()
        defer { try? FileManager.default.removeItem(at: folder.deletingLastPathComponent()) }
        var results: [Run] = []
        for index in 0..<runs {
            let port = try Self.freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = ["serve", "--models", folder.path, "--host", "127.0.0.1", "--port", String(port), "--pin", name,
                                 "--threads", String(threads), "--log-level", "warning"]
            process.standardInput = FileHandle.nullDevice
            process.standardOutput = FileHandle.nullDevice
            let began = ContinuousClock.now
            try process.run()
            defer {
                process.terminate()
                process.waitUntilExit()
            }
            var listening: ContinuousClock.Instant?
            while listening == nil, process.isRunning, ContinuousClock.now < began + .seconds(60) {
                if ProcessLiveness.somethingListens(host: "127.0.0.1", port: port) { listening = .now } else { try await Task.sleep(for: .milliseconds(1)) }
            }
            var run = try await firstAnswer(url: "http://127.0.0.1:\(port)/v1/embeddings", since: began, alive: { process.isRunning })
            run.listeningMs = listening.map { Self.milliseconds($0 - began) }
            results.append(run)
            progress(index, run)
        }
        return Report(mode: "server", model: name, threads: threads, runs: results)
    }

    /// `runs` cold starts through a local deployment's gateway: the model is a serverless group stopped after
    /// `idleSeconds`, and each run waits until it is cold before its request.
    public func measureGateway(idleSeconds: Double, progress: @Sendable (Int, Run) -> Void = { _, _ in }) async throws -> Report {
        let folder = try temporaryModels()
        let root = folder.deletingLastPathComponent()
        defer { try? FileManager.default.removeItem(at: root) }
        var configuration = ShoalConfiguration()
        var spec = ShoalConfiguration.ModelSpec(name: name, traffic: 1, memory: ByteCount(256 << 20), throughput: 100)
        spec.serverless = .init(idleSeconds: idleSeconds, maxQueued: 64)
        configuration.models = [spec]
        configuration.pack.target = KubernetesManifests.machineTarget
        configuration.server.threads = threads
        configuration.server.port = try Self.freePort()
        configuration.server.gatewayPort = try Self.freePort()
        let plan = try Packer(configuration: configuration).plan([
            PackingModel(spec: spec, manifest: nil, settings: configuration.pack),
        ])
        let planFile = root.appendingPathComponent("plan.json")
        try plan.encoded().write(to: planFile)
        let directory = DeployDirectory(root: root.appendingPathComponent("deploy"))
        let deployment = LocalDeployment(directory: directory)
        let deploymentSpec = try DeploymentSpec.local(
            configuration: configuration, plan: plan, source: .directory(folder), executable: executable, directory: directory,
            gatewayPlan: planFile.path)
        try await deployment.start(deploymentSpec, timeout: .seconds(60))
        do {
            let gateway = "http://127.0.0.1:\(configuration.server.gatewayPort)"
            let group = plan.groups[0].name
            var results: [Run] = []
            for index in 0..<runs {
                try await waitUntilCold(group, gateway: gateway, timeout: .seconds(idleSeconds + 30))
                let run = try await firstAnswer(url: "\(gateway)/v1/embeddings", since: .now, alive: { true })
                results.append(run)
                progress(index, run)
            }
            try await deployment.stop()
            return Report(mode: "gateway", model: name, threads: threads, runs: results)
        } catch {
            try await deployment.stop()
            throw error
        }
    }

    /// A folder holding one link, `name`, to the model's folder: what a group of the model serves.
    private func temporaryModels() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-cold-start-\(UUID().uuidString)")
            .appendingPathComponent("models")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(at: folder.appendingPathComponent(name), withDestinationURL: model.standardizedFileURL)
        return folder
    }

    /// Sends the embedding request until it is answered 200, retrying at once while nothing accepts the
    /// connection or the server is not ready; throws when the process ends or 60 s pass.
    private func firstAnswer(url: String, since began: ContinuousClock.Instant, alive: () -> Bool) async throws -> Run {
        let deadline = began + .seconds(60)
        while ContinuousClock.now < deadline {
            guard alive() else { throw ControlError.loadTest("the server exited before it answered; run `shoal serve` on the model to see why") }
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: #"{"model":"\#(name)","input":"\#(text)"}"#))
            do {
                let response = try await Self.client.execute(request, timeout: .seconds(60))
                let body = try await response.body.collect(upTo: 16 << 20)
                if response.status == .ok {
                    let header = response.headers.first(name: Gateway.coldStartHeader).flatMap(Double.init)
                    return Run(listeningMs: nil, firstResponseMs: Self.milliseconds(.now - began), headerMs: header)
                }
                guard response.status == .serviceUnavailable else {
                    throw ControlError.loadTest("the server answered \(response.status.code): \(String(buffer: body).prefix(300))")
                }
            } catch let error where TransportFailure(error).isUnreachable {
                // Not listening yet.
            }
            try await Task.sleep(for: .milliseconds(1))
        }
        throw ControlError.loadTest("no answer within 60 s")
    }

    private func waitUntilCold(_ group: String, gateway: String, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let response = try await Self.client.execute(HTTPClientRequest(url: "\(gateway)/gateway/serverless"), timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            let status = try ShoalJSON.decoder().decode([String: ServerlessGroups.Status].self, from: Data(buffer: body))
            if status[group]?.state == "cold" { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        throw ControlError.loadTest("the serverless group \(group) was not stopped within \(timeout)")
    }

    /// A client that fails a refused connection at once instead of retrying it.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(1)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    static func milliseconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) * 1e3 + Double(duration.components.attoseconds) / 1e15
    }

    /// A TCP port on 127.0.0.1 that the kernel reports free.
    static func freePort() throws -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw ControlError.loadTest("cannot open a socket to find a free port") }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard bound else { throw ControlError.loadTest("no free port on 127.0.0.1") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
