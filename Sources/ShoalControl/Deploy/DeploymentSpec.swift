import Foundation

/// What a local deployment runs: one supervised process per plan group, and the gateway in front of them.
/// Written by `shoal deploy run` for the supervisor, which reads it once at start-up.
public struct DeploymentSpec: Codable, Sendable, Equatable {
    /// One supervised process: its name (a group's, or `gateway`), where it listens and how it starts.
    public struct Member: Codable, Sendable, Equatable {
        public var name: String
        public var host: String
        public var port: Int
        /// Arguments after the `shoal` executable, e.g. `serve --models … --port …`.
        public var arguments: [String]
        /// Models this member serves (every model for the gateway).
        public var models: [String]
        /// Started only when asked (a serverless group, by the gateway through the supervisor's control
        /// endpoint) and not restarted when it exits.
        public var onDemand: Bool

        public init(name: String, host: String, port: Int, arguments: [String], models: [String], onDemand: Bool = false) {
            self.name = name
            self.host = host
            self.port = port
            self.arguments = arguments
            self.models = models
            self.onDemand = onDemand
        }
    }

    /// The `shoal` executable every member runs.
    public var executable: String
    public var members: [Member]
    public var restart: RestartPolicy

    public init(executable: String, members: [Member], restart: RestartPolicy = RestartPolicy()) {
        self.executable = executable
        self.members = members
        self.restart = restart
    }

    /// The name of the gateway member.
    public static let gatewayName = "gateway"

    /// Where the models of each group come from.
    public enum ModelSource: Sendable, Equatable {
        /// A folder of model folders; each group serves a folder of links to its own models.
        case directory(URL)
        /// A model store; each group serves it with its own models pinned (loaded at start-up).
        case store(String)
    }

    /// The processes for `plan` under `configuration`'s server settings; a group's model folder of links is
    /// made under `directory`. With `gatewayPlan`, the gateway routes by that plan file.
    public static func local(
        configuration: ShoalConfiguration, plan: PlacementPlan, source: ModelSource, executable: String,
        directory: DeployDirectory, gatewayPlan: String?
    ) throws -> DeploymentSpec {
        let server = configuration.server
        var members = try plan.groups.map { group in
            let models = group.servedModels
            let from: [String]
            switch source {
            case .directory(let root):
                from = ["--models", try directory.linkModels(models, from: root, group: group.name).path]
            case .store(let url):
                from = ["--store", url.hasPrefix("s3://") ? url : URL(fileURLWithPath: url).standardizedFileURL.path]
            }
            let arguments = serverArguments(group, server: server, source: from, host: server.host,
                                            asyncDir: directory.asyncQueue(of: group.name).path)
            return Member(name: group.name, host: server.host, port: group.port, arguments: arguments, models: models,
                          onDemand: group.serverless != nil)
        }
        if let gatewayPlan {
            // The gateway starts and stops serverless groups through the supervisor of this deploy folder.
            let supervisor = plan.groups.contains { $0.serverless != nil } ? ["--supervisor", directory.root.standardizedFileURL.path] : []
            members.append(Member(
                name: gatewayName, host: server.host, port: server.gatewayPort,
                arguments: ["gateway", "--plan", gatewayPlan, "--host", server.host, "--port", String(server.gatewayPort)] + supervisor,
                models: configuration.models.map(\.name)))
        }
        return DeploymentSpec(executable: executable, members: members)
    }
}

extension DeploymentSpec {
    /// `shoal serve` arguments of `group`: its models from `source` (`--models DIR` or `--store URL`), all of
    /// them pinned, on `host` and the group's port, with `server`'s batching and its memory budget (0: the
    /// group's capacity from the plan); asynchronous requests queue in `asyncDir`, their results go to
    /// `asyncResults` (default: the store).
    static func serverArguments(_ group: PlacementPlan.Group, server: ShoalConfiguration.ServerSettings,
                                source: [String], host: String, asyncDir: String, asyncResults: String? = nil) -> [String] {
        var arguments = ["serve"] + source + [
            "--host", host, "--port", String(group.port),
            "--max-batch-tokens", String(server.maxBatchTokens), "--max-batch-inputs", String(server.maxBatchInputs),
            "--max-queue-delay", "\(server.maxQueueDelayMs)ms",
            "--memory-budget", String(server.memoryBudget.bytes > 0 ? server.memoryBudget.bytes : group.memoryCapacity),
            "--log-level", "notice",
        ]
        if server.threads > 0 { arguments += ["--threads", String(server.threads)] }
        if server.asyncMaxQueued > 0 {
            arguments += ["--async-dir", asyncDir, "--async-max-queued", String(server.asyncMaxQueued),
                          "--async-concurrency", String(server.asyncConcurrency)]
            if let asyncResults { arguments += ["--async-results", asyncResults] }
            if !server.asyncCallbackHosts.isEmpty { arguments += ["--async-callback-hosts", server.asyncCallbackHosts] }
        }
        return arguments + group.servedModels.flatMap { ["--pin", $0] }
    }
}

extension PlacementPlan.Group {
    /// The models a server of this group loads: shared bases first, then the placements.
    var servedModels: [String] {
        bases + placements.map(\.model).filter { !bases.contains($0) }
    }
}

/// How the supervisor restarts a member that exited: after `initialDelay`, doubled after each crash in a row
/// up to `maxDelay`; a member that ran for `resetAfter` starts again from `initialDelay`.
public struct RestartPolicy: Codable, Sendable, Equatable {
    public var initialDelayMs = 250
    public var maxDelayMs = 30_000
    public var resetAfterMs = 30_000

    public init() {}

    /// The wait before restart number `crashes` (1-based) of a crash streak.
    public func delay(afterCrashes crashes: Int) -> Duration {
        let factor = 1 << min(max(crashes - 1, 0), 20)
        return .milliseconds(min(initialDelayMs * factor, maxDelayMs))
    }
}
