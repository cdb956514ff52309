import AsyncHTTPClient
import Foundation

/// `shoal deploy` on this machine: starts a detached supervisor for a spec, reports its state, stops it.
public struct LocalDeployment: Sendable {
    public var directory: DeployDirectory

    public init(directory: DeployDirectory) { self.directory = directory }

    /// The state of the running deployment, or nil when none runs; a state left by a supervisor that died is
    /// reported as none.
    public func state() throws -> DeploymentState? {
        guard let state = try directory.read(DeploymentState.self, from: directory.state) else { return nil }
        return ProcessLiveness.isAlive(state.supervisorPid) ? state : nil
    }

    /// Writes `spec`, starts `shoal deploy supervise` detached from this process, and waits until every member
    /// answers its health check; throws if one does not within `timeout`.
    @discardableResult
    public func start(_ spec: DeploymentSpec, timeout: Duration = .seconds(60)) async throws -> DeploymentState {
        if let running = try state() {
            throw ControlError.file(path: directory.root.path, reason: "a deployment is already running (supervisor pid \(running.supervisorPid)); "
                + "stop it with `shoal deploy stop`")
        }
        try await stop()  // servers a supervisor that died left behind
        let taken = spec.members.filter { ProcessLiveness.somethingListens(host: $0.host, port: $0.port) }
        if !taken.isEmpty {
            // Its health check would be answered by whatever holds the port while the member fails to bind it.
            let ports = taken.map { "\($0.port) (\($0.name))" }.joined(separator: ", ")
            throw ControlError.file(path: directory.root.path, reason: "another process already listens on port \(ports); "
                + "stop it or choose other ports with server.port and server.gateway_port")
        }
        try directory.write(spec, to: directory.spec)
        let supervisor = Process()
        supervisor.executableURL = URL(fileURLWithPath: spec.executable)
        supervisor.arguments = ["deploy", "supervise", "--dir", directory.root.path]
        supervisor.standardInput = FileHandle.nullDevice
        let log: FileHandle
        do {
            try FileManager.default.createDirectory(at: directory.logs, withIntermediateDirectories: true)
            _ = FileManager.default.createFile(atPath: directory.supervisorLog.path, contents: nil)
            log = try FileHandle(forWritingTo: directory.supervisorLog)
        } catch {
            throw ControlError.file(path: directory.supervisorLog.path, reason: "cannot be written (\(error.localizedDescription))")
        }
        supervisor.standardOutput = log
        supervisor.standardError = log
        do {
            try supervisor.run()
        } catch {
            throw ControlError.file(path: directory.root.path, reason: "cannot start the supervisor \(spec.executable): \(error.localizedDescription)")
        }
        try? log.close()
        return try await waitUntilHealthy(spec, timeout: timeout)
    }

    /// Stops the supervisor and every member; a process that outlives `grace` is killed. Removes the state.
    /// Returns the process ids that were stopped.
    @discardableResult
    public func stop(grace: Duration = .seconds(15)) async throws -> [Int32] {
        guard let state = try directory.read(DeploymentState.self, from: directory.state) else { return [] }
        ProcessLiveness.send(SIGTERM, to: state.supervisorPid)
        _ = await ProcessLiveness.waitForExit(state.supervisorPid, timeout: grace)
        for pid in state.pids where ProcessLiveness.isAlive(pid) {
            ProcessLiveness.send(SIGKILL, to: pid)
            _ = await ProcessLiveness.waitForExit(pid, timeout: .seconds(2))
        }
        try? FileManager.default.removeItem(at: directory.state)
        try? FileManager.default.removeItem(at: directory.spec)
        try? FileManager.default.removeItem(at: directory.groups)
        return state.pids
    }

    /// Polls the state and each member's `/v2/health/ready` until all are up.
    func waitUntilHealthy(_ spec: DeploymentSpec, timeout: Duration) async throws -> DeploymentState {
        let deadline = ContinuousClock.now + timeout
        let client = HTTPClient.shared
        var waiting = spec.members.map(\.name)
        while ContinuousClock.now < deadline {
            if let state = try directory.read(DeploymentState.self, from: directory.state) {
                if !ProcessLiveness.isAlive(state.supervisorPid) {
                    throw ControlError.file(path: directory.root.path, reason: "the supervisor exited; see \(directory.supervisorLog.path)")
                }
                // On-demand members start cold; their supervisor's control endpoint must listen.
                let members = state.members.filter { !$0.onDemand }
                var still: [String] = []
                for member in members where !(await Self.isReady(member, client: client)) {
                    still.append(member.name)
                }
                if members.count < state.members.count, state.controlPort == nil { still.append("the supervisor's control endpoint") }
                waiting = still
                // Ready only if no member exited meanwhile: the answer came from the process recorded.
                if waiting.isEmpty, let after = try directory.read(DeploymentState.self, from: directory.state),
                   after.members == state.members, members.allSatisfy({ $0.pid.map(ProcessLiveness.isAlive) == true }) {
                    return after
                }
            }
            try await Task.sleep(for: .milliseconds(200))
        }
        let logs = waiting.map { directory.log(of: $0).path }.joined(separator: ", ")
        throw ControlError.file(path: directory.root.path, reason: "\(waiting.joined(separator: ", ")) did not become ready in \(timeout); "
            + "see \(logs), and `shoal deploy stop` to clean up")
    }

    /// Whether the member's server answers its readiness check.
    static func isReady(_ member: DeploymentState.Member, client: HTTPClient) async -> Bool {
        guard member.pid != nil else { return false }
        var request = HTTPClientRequest(url: "\(member.url)/v2/health/ready")
        request.method = .GET
        guard let response = try? await client.execute(request, timeout: .seconds(2)) else { return false }
        return response.status == .ok
    }
}
