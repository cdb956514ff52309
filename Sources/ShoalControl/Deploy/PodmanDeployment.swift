import AsyncHTTPClient
import Foundation

/// `shoal deploy` with `runtime: podman`: the Deployments and ConfigMap of the Kubernetes manifests, played on
/// this machine by `podman kube play` (`KubernetesManifests.podmanObjects` lists the differences), so the
/// image and objects a cluster runs are tried here first. podman restarts a container that exits; the played
/// file and what it made are kept under the deploy folder until `stop` removes every pod, container and volume.
public struct PodmanDeployment: Sendable {
    public var directory: DeployDirectory
    public var podman: Podman

    public init(directory: DeployDirectory, podman: Podman) {
        self.directory = directory
        self.podman = podman
    }

    /// One pod of the deployment: the group (or `gateway`) it runs, its pod and container names, where it
    /// answers and which models it serves.
    public struct Member: Codable, Sendable, Equatable {
        public var name: String
        public var pod: String
        /// The container's name in the pod spec; podman calls it `POD-CONTAINER`.
        public var container: String
        public var host: String
        public var port: Int
        public var models: [String]

        /// The container's name for podman.
        public var containerName: String { "\(pod)-\(container)" }
        /// The address clients use.
        public var url: String { "http://\(host):\(port)" }
    }

    /// What a podman deployment made, written before anything is played so that `stop` can always undo it.
    public struct State: Codable, Sendable, Equatable {
        public var image: String
        public var started: Date
        public var members: [Member]
        /// Volumes podman made from the ConfigMap, which `kube play --down` leaves behind.
        public var volumes: [String]
        /// The podman secret holding the servers' S3 keys, for an S3 store.
        public var secret: String?
    }

    /// A member as podman reports it now.
    public struct MemberStatus: Sendable {
        public var member: Member
        /// `running`, `exited`, …, or `missing` when podman has no such container.
        public var state: String
        public var pid: Int?
        public var restarts: Int
    }

    /// The recorded deployment, or nil when none was started.
    public func state() throws -> State? {
        try directory.read(State.self, from: directory.podmanState)
    }

    /// Plays `manifests` and waits until every member answers `/v2/health/ready`. `credentials`, for an S3 store,
    /// go into the podman secret that stands for `shoal-s3` until `stop`. Nothing is played when the image is
    /// missing; when podman fails, what it made is removed before the error is thrown.
    @discardableResult
    public func start(_ manifests: KubernetesManifests, storeFolder: URL?, credentials: [String: String]? = nil,
                      timeout: Duration = .seconds(120)) async throws -> State {
        if let running = try state() {
            throw ControlError.file(path: directory.root.path, reason: "a podman deployment is already running "
                + "(\(running.members.map(\.pod).joined(separator: ", "))); stop it with `shoal deploy stop`")
        }
        let image = manifests.configuration.kubernetes.image
        try await requireImage(image)
        let host = manifests.configuration.server.host
        let yaml = try manifests.podmanYAML(host: host, storeFolder: storeFolder)
        let (members, volumes) = manifests.podmanMembers(host: host)
        let state = State(image: image, started: Date(), members: members, volumes: volumes,
                          secret: credentials == nil ? nil : manifests.podmanSecret)
        try directory.write(state, to: directory.podmanState)
        do {
            if let credentials, let secret = state.secret {
                try await podman.createSecret(secret, values: credentials, staging: directory.root)
            }
            try Data(yaml.utf8).write(to: directory.podmanManifest, options: .atomic)
            try await podman.check(["kube", "play", directory.podmanManifest.path], doing: "playing \(directory.podmanManifest.path)")
        } catch {
            _ = try? await stop()
            throw error
        }
        try await waitUntilReady(state, timeout: timeout)
        return state
    }

    /// Throws, saying how to make it, unless podman's local storage holds `image`.
    public func requireImage(_ image: String) async throws {
        guard try await podman.imageExists(image) else {
            throw ControlError.container("the image \(image) (kubernetes.image) is not in podman's local storage; "
                + "build it with `shoal image build`, or set kubernetes.image to one that is")
        }
    }

    /// Removes every pod, container, volume and secret of the deployment (`kube play --down`, then whatever is
    /// left), and its records; returns the pods that were removed.
    @discardableResult
    public func stop() async throws -> [String] {
        guard let state = try state() else { return [] }
        if FileManager.default.fileExists(atPath: directory.podmanManifest.path) {
            _ = try await podman.run(["kube", "play", "--down", directory.podmanManifest.path])
        }
        for member in state.members {
            guard try await podman.run(["pod", "exists", member.pod]).status == 0 else { continue }
            try await podman.check(["pod", "rm", "--force", member.pod], doing: "removing pod \(member.pod)")
        }
        for volume in state.volumes {
            guard try await podman.run(["volume", "exists", volume]).status == 0 else { continue }
            try await podman.check(["volume", "rm", "--force", volume], doing: "removing volume \(volume)")
        }
        if let secret = state.secret { try await podman.removeSecret(secret) }
        try? FileManager.default.removeItem(at: directory.podmanManifest)
        try? FileManager.default.removeItem(at: directory.podmanState)
        return state.members.map(\.pod)
    }

    /// Each member's container as podman reports it.
    public func status(_ state: State) async throws -> [MemberStatus] {
        var statuses: [MemberStatus] = []
        for member in state.members {
            let result = try await podman.run(["container", "inspect", member.containerName])
            let inspected = (try? JSONDecoder().decode([Inspection].self, from: Data(result.output.utf8)))?.first
            statuses.append(MemberStatus(
                member: member, state: result.status == 0 ? inspected?.state.status ?? "unknown" : "missing",
                pid: inspected?.state.pid.flatMap { $0 > 0 ? $0 : nil }, restarts: inspected?.restartCount ?? 0))
        }
        return statuses
    }

    /// Prints the logs of `members` (podman's own record of each container), prefixed with their names when
    /// there are several; with `follow`, until interrupted.
    public func logs(_ members: [Member], follow: Bool) async throws {
        var arguments = ["logs"] + (follow ? ["--follow"] : []) + (members.count > 1 ? ["--names"] : [])
        arguments += members.map(\.containerName)
        let status = try await podman.passThrough(arguments)
        guard status == 0 else { throw ControlError.container("podman logs exited with \(status)") }
    }

    /// Polls each member's `/v2/health/ready` until all answer 200; throws naming those that did not.
    func waitUntilReady(_ state: State, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        var waiting = state.members
        while ContinuousClock.now < deadline {
            var still: [Member] = []
            for member in waiting where !(await Self.isReady(member)) { still.append(member) }
            waiting = still
            if waiting.isEmpty { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw ControlError.container("\(waiting.map(\.name).joined(separator: ", ")) did not become ready in \(timeout); "
            + "see `shoal deploy logs \(waiting[0].name)`, and `shoal deploy stop` to clean up")
    }

    static func isReady(_ member: Member) async -> Bool {
        var request = HTTPClientRequest(url: "\(member.url)/v2/health/ready")
        request.method = .GET
        guard let response = try? await HTTPClient.shared.execute(request, timeout: .seconds(2)) else { return false }
        return response.status == .ok
    }

    /// The fields of `podman container inspect` that status reports.
    private struct Inspection: Decodable {
        var state: ContainerState
        var restartCount: Int?

        enum CodingKeys: String, CodingKey { case state = "State", restartCount = "RestartCount" }

        /// Whether the container runs, and its main process.
        struct ContainerState: Decodable {
            var status: String
            var pid: Int?

            enum CodingKeys: String, CodingKey { case status = "Status", pid = "Pid" }
        }
    }
}
