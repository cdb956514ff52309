import Foundation

/// Runs every member of a deployment spec as a child process, restarts one that exits with exponential
/// back-off, and records pids and restarts in `state.json`. `stop()` ends the members and `run()` returns.
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
                                   restarts: 0, log: directory.log(of: $0.name).path, lastExit: nil)
        })
    }

    /// Supervises until `stop()`; the state file is removed when every member has ended.
    public func run() async throws {
        try directory.write(state, to: directory.state)
        await withTaskGroup(of: Void.self) { tasks in
            for member in spec.members {
                tasks.addTask { await self.supervise(member) }
            }
        }
        try? FileManager.default.removeItem(at: directory.state)
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
        var status: Int32 = -1
        for await code in exits { status = code }
        running[member.name] = nil
        return status
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
