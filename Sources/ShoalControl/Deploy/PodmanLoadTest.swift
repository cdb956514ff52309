import Foundation

/// `shoal deploy load-test` with `runtime: podman`: the pods of the load-test Job played on this machine
/// (`LoadTestJob.podmanPods`), waited for, reported and removed. What was played is recorded under the deploy
/// folder first, so that `shoal deploy stop` removes whatever a run interrupted left.
public struct PodmanLoadTest: Sendable {
    public var directory: DeployDirectory
    public var podman: Podman

    public init(directory: DeployDirectory, podman: Podman) {
        self.directory = directory
        self.podman = podman
    }

    /// What a run played: its pods and the podman secret it made.
    public struct State: Codable, Sendable, Equatable {
        public var run: String
        public var pods: [String]
        public var secret: String?
    }

    /// How one pod's load generator ended.
    public struct PodExit: Sendable, Equatable {
        public var pod: String
        /// The container's exit status: 0 when it wrote its result, 2 when no request succeeded.
        public var status: Int
        /// The end of its log, for a failure.
        public var log: String
    }

    /// The recorded run, or nil when none is in progress or left.
    public func state() throws -> State? {
        try directory.read(State.self, from: directory.loadTestState)
    }

    /// Plays `job`'s pods against the gateway on `host`, waits until each has exited (at most `timeout`), removes
    /// them and returns how each ended. `storeFolder` is mounted for a folder store, made writable for the pods'
    /// user under `results/RUN`; `credentials`, for an S3 store, go into a podman secret for the pods' run only.
    public func run(_ job: LoadTestJob, host: String, storeFolder: URL?, credentials: [String: String]?,
                    timeout: Duration) async throws -> [PodExit] {
        if let left = try state() {
            throw ControlError.file(path: directory.loadTestState.path, reason: "load test \(left.run) was left behind "
                + "(\(left.pods.joined(separator: ", "))); remove it with `shoal deploy stop`")
        }
        if let storeFolder { try Self.prepareResults(in: storeFolder, run: job.run) }
        let state = State(run: job.run, pods: job.podmanPodNames, secret: credentials == nil ? nil : job.podmanSecret)
        try directory.write(state, to: directory.loadTestState)
        do {
            if let credentials, let secret = state.secret {
                try await podman.createSecret(secret, values: credentials, staging: directory.root)
            }
            try Data(try job.podmanYAML(host: host, storeFolder: storeFolder).utf8).write(to: directory.loadTestManifest, options: .atomic)
            try await podman.check(["kube", "play", directory.loadTestManifest.path], doing: "playing \(directory.loadTestManifest.path)")
            let exits = try await waitForExits(state.pods, timeout: timeout)
            try await stop()
            return exits
        } catch {
            _ = try? await stop()
            throw error
        }
    }

    /// Removes the pods, containers and secret of a recorded run, and its records; returns the pods removed.
    @discardableResult
    public func stop() async throws -> [String] {
        guard let state = try state() else { return [] }
        if FileManager.default.fileExists(atPath: directory.loadTestManifest.path) {
            _ = try await podman.run(["kube", "play", "--down", directory.loadTestManifest.path])
        }
        for pod in state.pods where try await podman.run(["pod", "exists", pod]).status == 0 {
            try await podman.check(["pod", "rm", "--force", pod], doing: "removing pod \(pod)")
        }
        if let secret = state.secret { try await podman.removeSecret(secret) }
        try? FileManager.default.removeItem(at: directory.loadTestManifest)
        try? FileManager.default.removeItem(at: directory.loadTestState)
        return state.pods
    }

    /// `results/RUN` in the store folder, writable by the pods' unprivileged user (and, like /tmp, only
    /// deletable by whoever wrote a file).
    static func prepareResults(in storeFolder: URL, run: String) throws {
        let folder = storeFolder.appendingPathComponent(LoadResultStore.folder(run))
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try FileManager.default.setAttributes([.posixPermissions: 0o1777], ofItemAtPath: folder.path)
        } catch {
            throw ControlError.file(path: folder.path, reason: "cannot be prepared for the pods' results (\(error.localizedDescription))")
        }
    }

    /// Polls each pod's container until all have exited; throws naming those still running at `timeout`.
    func waitForExits(_ pods: [String], timeout: Duration) async throws -> [PodExit] {
        let deadline = ContinuousClock.now + timeout
        var exits: [String: PodExit] = [:]
        while exits.count < pods.count {
            for pod in pods where exits[pod] == nil {
                let container = "\(pod)-\(LoadTestJob.containerName)"
                let inspected = try await podman.check(
                    ["container", "inspect", container, "--format", "{{.State.Status}} {{.State.ExitCode}}"], doing: "inspecting \(container)")
                let fields = inspected.split(separator: " ").map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                guard fields.first == "exited" || fields.first == "stopped", let status = fields.last.flatMap({ Int($0) }) else { continue }
                let log = try await podman.run(["logs", container])
                exits[pod] = PodExit(pod: pod, status: status, log: String((log.output + log.error).suffix(2_000)))
            }
            guard exits.count < pods.count else { break }
            guard ContinuousClock.now < deadline else {
                let running = pods.filter { exits[$0] == nil }
                throw ControlError.container("load-test pods \(running.joined(separator: ", ")) did not finish in \(timeout); "
                    + "they were removed")
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        return pods.compactMap { exits[$0] }
    }
}
