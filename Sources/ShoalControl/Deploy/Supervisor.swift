import AsyncHTTPClient
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle

/// Runs every member of a deployment spec as a child process, restarts one that exits with exponential
/// back-off, and records pids and restarts in `state.json`. `stop()` ends the members and `run()` returns.
/// A member started on demand (a serverless group) runs only between `start(member:)` and `stop(member:)`,
/// which the gateway asks for through the control endpoint on loopback (`SupervisorControl`).
public actor Supervisor {
    private let spec: DeploymentSpec
    private let directory: DeployDirectory
    private var state: DeploymentState
    /// The running child of each member, to signal on stop.
    private var running: [String: Process] = [:]
    private var stopping = false
    private var wakeUps: [String: CheckedContinuation<Void, Never>] = [:]

    public init(spec: DeploymentSpec, directory: DeployDirectory, pid: Int32 = ProcessInfo.processInfo.processIdentifier) {
        self.spec = spec
        self.directory = directory
        state = DeploymentState(supervisorPid: pid, started: Date(), members: spec.members.map {
            DeploymentState.Member(name: $0.name, host: $0.host, port: $0.port, models: $0.models, pid: nil,
                                   restarts: 0, log: directory.log(of: $0.name).path, lastExit: nil, onDemand: $0.onDemand)
        })
    }

    /// Supervises until `stop()`; the state file is removed when every member has ended.
    public func run() async throws {
        try directory.write(state, to: directory.state)
        let control = spec.members.contains(where: \.onDemand) ? controlService() : nil
        await withTaskGroup(of: Void.self) { tasks in
            if let control { tasks.addTask { try? await control.run() } }
            await withTaskGroup(of: Void.self) { members in
                for member in spec.members {
                    members.addTask { member.onDemand ? await self.sleep(member.name, for: .seconds(1e9)) : await self.supervise(member) }
                }
            }
            await control?.triggerGracefulShutdown()
        }
        try? FileManager.default.removeItem(at: directory.state)
    }

    /// The control endpoint on a free loopback port, recorded in the state once it listens.
    private func controlService() -> ServiceGroup {
        let application = Application(
            responder: SupervisorControl(supervisor: self),
            configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "shoal-supervisor"),
            onServerRunning: { channel in await self.recordControlPort(channel.localAddress?.port ?? 0) })
        var logger = Logger(label: "shoal.supervisor")
        logger.logLevel = .warning
        return ServiceGroup(services: [application], gracefulShutdownSignals: [], logger: logger)
    }

    private func recordControlPort(_ port: Int) {
        state.controlPort = port
        try? directory.write(state, to: directory.state)
    }

    /// Ends every member (SIGTERM, then SIGKILL after `grace`) and lets `run()` return.
    public func stop(grace: Duration = .seconds(10)) async {
        stopping = true
        for continuation in wakeUps.values { continuation.resume() }
        wakeUps = [:]
        let processes = Array(running.values)
        for process in processes where process.isRunning { process.terminate() }
        for process in processes where !(await ProcessLiveness.waitForExit(process.processIdentifier, timeout: grace)) {
            ProcessLiveness.send(SIGKILL, to: process.processIdentifier)
        }
    }

    private func supervise(_ member: DeploymentSpec.Member) async {
        var crashes = 0
        while !stopping {
            let began = ContinuousClock.now
            let status: Int32
            do {
                status = try await runOnce(member)
            } catch {
                status = -1
                appendToLog(member, "cannot start: \(error)")
            }
            if stopping { break }
            let ranFor = ContinuousClock.now - began
            crashes = ranFor >= .milliseconds(spec.restart.resetAfterMs) ? 1 : crashes + 1
            let delay = spec.restart.delay(afterCrashes: crashes)
            appendToLog(member, "exited with status \(status); restarting in \(delay)")
            update(member.name) { $0.pid = nil; $0.lastExit = status; $0.restarts += 1 }
            await sleep(member.name, for: delay)
        }
    }

    /// Starts the member's process and waits for it to end; returns its exit status.
    private func runOnce(_ member: DeploymentSpec.Member) async throws -> Int32 {
        let exits = try launch(member)
        var status: Int32 = -1
        for await code in exits { status = code }
        running[member.name] = nil
        return status
    }

    /// Starts the member's process, records it, and returns the stream of its exit status.
    private func launch(_ member: DeploymentSpec.Member) throws -> AsyncStream<Int32> {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: spec.executable)
        process.arguments = member.arguments
        process.standardInput = FileHandle.nullDevice
        let log = try openLog(member.name)
        process.standardOutput = log
        process.standardError = log
        let (exits, exited) = AsyncStream.makeStream(of: Int32.self)
        process.terminationHandler = { exited.yield($0.terminationStatus); exited.finish() }
        try process.run()
        try? log.close()
        running[member.name] = process
        update(member.name) { $0.pid = process.processIdentifier }
        return exits
    }

    /// Starts an on-demand member unless it runs, and waits until its server answers ready; throws the reason
    /// (its exit status and the end of its log, or the timeout) when it does not.
    public func start(member name: String, timeout: Duration = .seconds(60)) async throws -> Int32 {
        guard !stopping else { throw ControlError.serverless("the deployment is stopping") }
        guard let member = spec.members.first(where: { $0.name == name && $0.onDemand }) else {
            throw ControlError.unknownName(key: "member", name: name, valid: spec.members.filter(\.onDemand).map(\.name))
        }
        if running[name] == nil {
            do {
                let exits = try launch(member)
                let pid = running[name]?.processIdentifier ?? 0
                Task {
                    let status = await exits.first { _ in true } ?? -1
                    ended(member, pid: pid, status: status)
                }
            } catch {
                appendToLog(member, "cannot start: \(error)")
                throw ControlError.serverless("cannot start \(name) (\(spec.executable)): \(error.localizedDescription)")
            }
        }
        let pid = running[name]?.processIdentifier ?? 0
        let url = "http://\(member.host == "0.0.0.0" ? "127.0.0.1" : member.host):\(member.port)/v2/health/ready"
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if await Self.answersReady(url) { return pid }
            guard running[name]?.processIdentifier == pid else {
                let exit = state.members.first { $0.name == name }?.lastExit.map { "exited with status \($0)" } ?? "exited"
                throw ControlError.serverless("\(name) \(exit) before it was ready; the end of \(directory.log(of: name).path): \(logTail(name))")
            }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw ControlError.serverless("\(name) was not ready within \(timeout); see \(directory.log(of: name).path)")
    }

    /// Ends an on-demand member's process (SIGTERM, then SIGKILL after `grace`); nothing when it is not running.
    public func stop(member name: String, grace: Duration = .seconds(10)) async {
        guard let process = running[name] else { return }
        let pid = process.processIdentifier
        process.terminate()
        if !(await ProcessLiveness.waitForExit(pid, timeout: grace)) { ProcessLiveness.send(SIGKILL, to: pid) }
        _ = await ProcessLiveness.waitForExit(pid, timeout: .seconds(2))
    }

    /// Records that an on-demand member's process ended: it is cold until the next start.
    private func ended(_ member: DeploymentSpec.Member, pid: Int32, status: Int32) {
        if running[member.name]?.processIdentifier == pid { running[member.name] = nil }
        guard !stopping else { return }  // the state file goes with the deployment
        appendToLog(member, "exited with status \(status); cold until the next request")
        update(member.name) { $0.pid = nil; $0.lastExit = status }
    }

    /// The client of readiness checks: no retried connects, so a refused one is answered at once.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .milliseconds(500)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    private static func answersReady(_ url: String) async -> Bool {
        guard let response = try? await client.execute(HTTPClientRequest(url: url), timeout: .seconds(2)) else { return false }
        _ = try? await response.body.collect(upTo: 1 << 16)
        return response.status == .ok
    }

    /// The last lines of a member's log, which say why its server stopped.
    private func logTail(_ name: String) -> String {
        let text = (try? String(contentsOf: directory.log(of: name), encoding: .utf8)) ?? ""
        let lines = text.split(separator: "\n").suffix(4).map { $0.count > 300 ? String($0.prefix(300)) + "…" : String($0) }
        return lines.isEmpty ? "(its log is empty)" : lines.joined(separator: " | ")
    }

    /// Waits `delay`, or less when `stop()` is called.
    private func sleep(_ name: String, for delay: Duration) async {
        guard !stopping else { return }
        var timer: Task<Void, Never>?
        await withCheckedContinuation { continuation in
            wakeUps[name] = continuation
            timer = Task { [weak self] in
                try? await Task.sleep(for: delay)
                await self?.wake(name)
            }
        }
        timer?.cancel()
    }

    private func wake(_ name: String) {
        wakeUps.removeValue(forKey: name)?.resume()
    }

    private func update(_ name: String, _ change: (inout DeploymentState.Member) -> Void) {
        guard let index = state.members.firstIndex(where: { $0.name == name }) else { return }
        change(&state.members[index])
        try? directory.write(state, to: directory.state)
    }

    private func openLog(_ name: String) throws -> FileHandle {
        let url = directory.log(of: name)
        let manager = FileManager.default
        try manager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        if !manager.fileExists(atPath: url.path) { _ = manager.createFile(atPath: url.path, contents: nil) }
        let handle = try FileHandle(forWritingTo: url)
        try handle.seekToEnd()
        return handle
    }

    private func appendToLog(_ member: DeploymentSpec.Member, _ line: String) {
        guard let handle = try? openLog(member.name) else { return }
        let stamp = ISO8601DateFormatter().string(from: Date())
        try? handle.write(contentsOf: Data("[supervisor \(stamp)] \(member.name) \(line)\n".utf8))
        try? handle.close()
    }
}
