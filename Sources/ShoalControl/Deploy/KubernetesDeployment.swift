import Foundation
import Yams

/// `shoal deploy` with `runtime: kubernetes`: the manifests applied to a cluster with kubectl (server-side
/// apply, field manager `shoal`), in `kubernetes.context` and `kubernetes.namespace`. Where they went and which
/// kinds of object they hold are recorded under the deploy folder before anything is applied, so that `stop`
/// deletes exactly those kinds, by the label every object carries, even after a run that failed half-way.
public struct KubernetesDeployment: Sendable {
    public var directory: DeployDirectory
    /// The folders searched for kubectl.
    public var path: String?

    public init(directory: DeployDirectory, path: String? = ProcessInfo.processInfo.environment["PATH"]) {
        self.directory = directory
        self.path = path
    }

    /// The selector of every object the manifests hold.
    public static let selector = "\(KubernetesManifests.nameLabel)=shoal"

    /// One Deployment of the manifests: the group (or `gateway`) it runs, its pods' labels and its models.
    public struct Member: Codable, Sendable, Equatable {
        public var name: String
        public var deployment: String
        /// The Deployment's `matchLabels`: its pods carry them.
        public var labels: [String: String]
        public var models: [String]

        /// `labels` as kubectl's `-l` takes them.
        public var selector: String { labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",") }
    }

    /// What a deployment applied, and where: written before applying, so that `stop` can always undo it.
    public struct State: Codable, Sendable, Equatable {
        public var context: String
        public var namespace: String
        public var image: String
        public var started: Date
        /// The kinds applied, as kubectl names them with their API group (`deployment.apps`).
        public var kinds: [String]
        public var members: [Member]
    }

    /// A member as the cluster reports it now.
    public struct MemberStatus: Sendable, Equatable {
        public var member: Member
        /// Whether the Deployment exists.
        public var found: Bool
        public var desired: Int
        public var ready: Int
        public var updated: Int
        public var available: Int
        /// Pods of the member, and their containers' restarts summed.
        public var pods: Int
        public var restarts: Int
    }

    /// The recorded deployment, or nil when none was applied.
    public func state() throws -> State? {
        try directory.read(State.self, from: directory.kubernetesState)
    }

    /// Applies `manifests` and waits, up to `timeout` for all of them, until every Deployment has rolled out.
    /// Refuses a plan for `local`, a missing kubectl and a missing namespace before anything is recorded or
    /// applied; when the rollout does not finish, throws naming the pods that are not ready and why.
    @discardableResult
    public func start(_ manifests: KubernetesManifests, timeout: Duration = .seconds(300)) async throws -> State {
        if let running = try state() {
            throw ControlError.file(path: directory.root.path, reason: "a kubernetes deployment is already applied (namespace "
                + "\(running.namespace), context \(running.context)); remove it with `shoal deploy stop`")
        }
        let yaml = try manifests.yaml()
        let settings = manifests.configuration.kubernetes
        let kubectl = try await Kubectl.locate(context: settings.context, namespace: settings.namespace, path: path).resolvingContext()
        try await kubectl.requireNamespace()
        let objects = try manifests.objects()
        // Whole seconds, as the record keeps them.
        let started = Date(timeIntervalSince1970: Date().timeIntervalSince1970.rounded(.down))
        let state = State(context: kubectl.context, namespace: kubectl.namespace, image: settings.image, started: started,
                          kinds: try Self.kinds(objects), members: Self.members(objects, plan: manifests.plan))
        try directory.write(state, to: directory.kubernetesState)
        do {
            try Data(yaml.utf8).write(to: directory.kubernetesManifest, options: .atomic)
        } catch {
            throw ControlError.file(path: directory.kubernetesManifest.path, reason: "cannot be written (\(error.localizedDescription))")
        }
        let applied = try await kubectl.run(["apply", "--server-side", "--field-manager=shoal", "-f", directory.kubernetesManifest.path])
        guard applied.status == 0 else {
            throw ControlError.kubernetes("kubectl apply of \(directory.kubernetesManifest.path) failed (exit \(applied.status)): "
                + "\(applied.error.trimmingCharacters(in: .whitespacesAndNewlines)); `shoal deploy stop` removes what was applied")
        }
        try await waitForRollout(state, kubectl: kubectl, timeout: timeout)
        return state
    }

    /// Deletes every object of the recorded kinds that carries the manifests' label in the recorded context and
    /// namespace, then the records; returns what was recorded, or nil when nothing was. The records stay when
    /// kubectl fails, so that `stop` can be run again.
    @discardableResult
    public func stop() async throws -> State? {
        guard let state = try state() else { return nil }
        let kubectl = try Kubectl.locate(context: state.context, namespace: state.namespace, path: path)
        try await kubectl.check(["delete", state.kinds.joined(separator: ","), "-l", Self.selector, "--ignore-not-found", "--wait=false"],
                                doing: "deleting the deployment's objects")
        try? FileManager.default.removeItem(at: directory.kubernetesManifest)
        try? FileManager.default.removeItem(at: directory.kubernetesState)
        return state
    }

    /// Each member's Deployment and pods as the cluster reports them: replicas desired, ready, up to date and
    /// available, and restarts summed over its pods.
    public func status(_ state: State) async throws -> [MemberStatus] {
        let kubectl = try Kubectl.locate(context: state.context, namespace: state.namespace, path: path)
        let json = try await kubectl.check(["get", "deployments,pods", "-l", Self.selector, "--output", "json"],
                                           doing: "reading the deployment's Deployments and pods")
        return try Self.statuses(of: state.members, in: Self.decodeList(json))
    }

    /// Prints the logs of `group`'s pods (all pods without one), every line prefixed with its pod and container;
    /// with `follow`, until interrupted.
    public func logs(_ state: State, group: String?, follow: Bool) async throws {
        var selector = Self.selector
        if let group {
            guard let member = state.members.first(where: { $0.name == group }) else {
                throw ControlError.unknownName(key: "group", name: group, valid: state.members.map(\.name))
            }
            selector = member.selector
        }
        let kubectl = try Kubectl.locate(context: state.context, namespace: state.namespace, path: path)
        // With a selector kubectl prints the last 10 lines only unless told otherwise, and follows 5 pods at most.
        var arguments = ["logs", "-l", selector, "--prefix", "--all-containers", "--tail=-1"]
        if follow { arguments += ["--follow", "--max-log-requests=100"] }
        let status = try await kubectl.passThrough(arguments)
        guard status == 0 else { throw ControlError.kubernetes("kubectl logs exited with \(status)") }
    }

    /// Waits for each Deployment's rollout within one overall `timeout`; on the first that does not finish,
    /// reads the pods and throws naming those not ready and why.
    func waitForRollout(_ state: State, kubectl: Kubectl, timeout: Duration) async throws {
        let deadline = ContinuousClock.now + timeout
        for member in state.members {
            let left = max(1, Int((deadline - ContinuousClock.now).components.seconds))
            let result = try await kubectl.run(["rollout", "status", "deployment/\(member.deployment)", "--timeout=\(left)s"])
            guard result.status != 0 else { continue }
            let reason = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ControlError.kubernetes(try await rolloutFailure(member, reason: reason, state: state, kubectl: kubectl, timeout: timeout))
        }
    }

    /// What to tell the user when `member` did not roll out: every pod of the deployment that is not ready, and why.
    private func rolloutFailure(_ member: Member, reason: String, state: State, kubectl: Kubectl, timeout: Duration) async throws -> String {
        let pods = try await kubectl.run(["get", "pods", "-l", Self.selector, "--output", "json"])
        let notReady = pods.status == 0 ? ((try? Self.decodeList(pods.output)) ?? []).compactMap { Self.diagnosis(of: $0, members: state.members) } : []
        let found = notReady.isEmpty
            ? "no pod said why (kubectl get pods: \(pods.status == 0 ? "all ready" : pods.error.trimmingCharacters(in: .whitespacesAndNewlines)))"
            : "pods not ready:\n" + notReady.map { "  \($0)" }.joined(separator: "\n")
        return "\(member.deployment) did not finish rolling out within \(timeout.components.seconds) s (kubectl rollout status: \(reason)); \(found)\n"
            + "`shoal deploy status` and `shoal deploy logs \(member.name)` show more; `shoal deploy stop` removes what was applied"
    }
}

extension KubernetesDeployment {
    /// The kinds of `objects` as kubectl names them, with their API group (`deployment.apps`), in order.
    static func kinds(_ objects: [Kubernetes.Object]) throws -> [String] {
        var kinds: [String] = []
        for object in objects {
            let type = try JSONDecoder().decode(TypeMeta.self, from: JSONEncoder().encode(object))
            let group = type.apiVersion.split(separator: "/").dropLast().first.map { ".\($0)" } ?? ""
            let kind = type.kind.lowercased() + group
            if !kinds.contains(kind) { kinds.append(kind) }
        }
        return kinds
    }

    /// The Deployments of `objects`, each named by its group (or `gateway`), with the models it serves.
    static func members(_ objects: [Kubernetes.Object], plan: PlacementPlan) -> [Member] {
        objects.compactMap { object -> Member? in
            guard case .deployment(let deployment) = object, let name = deployment.metadata.name else { return nil }
            let labels = deployment.spec.selector.matchLabels
            let group = labels[KubernetesManifests.groupLabel]
            let models = group.map { group in plan.groups.first { $0.name == group }?.servedModels ?? [] }
                ?? plan.groups.flatMap(\.servedModels).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
            return Member(name: group ?? DeploymentSpec.gatewayName, deployment: name, labels: labels, models: models)
        }
    }

    /// The members' Deployments and pods among `items` (`kubectl get deployments,pods -o json`).
    static func statuses(of members: [Member], in items: [ListItem]) -> [MemberStatus] {
        members.map { member in
            let deployment = items.first { $0.kind == "Deployment" && $0.metadata.name == member.deployment }
            let pods = items.filter { $0.kind == "Pod" && $0.matches(member.labels) }
            return MemberStatus(
                member: member, found: deployment != nil, desired: deployment?.spec?.replicas ?? 0,
                ready: deployment?.status?.readyReplicas ?? 0, updated: deployment?.status?.updatedReplicas ?? 0,
                available: deployment?.status?.availableReplicas ?? 0, pods: pods.count,
                restarts: pods.reduce(0) { $0 + ($1.status?.containerStatuses ?? []).reduce(0) { $0 + $1.restartCount } })
        }
    }

    /// `pod NAME (GROUP): WHY` for a pod that is not ready, nil for one that is: a container's waiting reason
    /// and message (ImagePullBackOff, CrashLoopBackOff, …), else a false condition's (Unschedulable, …).
    static func diagnosis(of pod: ListItem, members: [Member]) -> String? {
        guard pod.kind == "Pod" || pod.kind == nil, let status = pod.status else { return nil }
        let conditions = status.conditions ?? []
        if conditions.contains(where: { $0.type == "Ready" && $0.status == "True" }) { return nil }
        let group = members.first { pod.matches($0.labels) }?.name ?? "?"
        var reasons: [String] = []
        for container in status.containerStatuses ?? [] where !container.ready {
            if let waiting = container.state?.waiting, let reason = waiting.reason {
                reasons.append("container \(container.name): \(reason)" + (waiting.message.map { ": \($0)" } ?? ""))
            }
            if let terminated = container.state?.terminated ?? container.lastState?.terminated {
                reasons.append("container \(container.name) last exited with \(terminated.exitCode ?? -1)"
                    + (terminated.reason.map { " (\($0))" } ?? "") + (terminated.message.map { ": \($0)" } ?? ""))
            }
            if container.restartCount > 0 { reasons.append("restarted \(container.restartCount) times") }
        }
        if reasons.isEmpty {
            let failing = conditions.filter { $0.status != "True" && $0.message != nil }
            let chosen = failing.first { $0.type == "PodScheduled" } ?? failing.first { $0.type == "Ready" } ?? failing.first
            reasons.append(chosen.map { "\($0.type) \($0.reason ?? "False"): \($0.message ?? "")" } ?? "phase \(status.phase ?? "unknown")")
        }
        return "pod \(pod.metadata.name) (\(group)): " + reasons.joined(separator: "; ")
    }

    /// The items of a `kubectl get … -o json` answer (a `List`, or a single object).
    static func decodeList(_ json: String) throws -> [ListItem] {
        do {
            let data = Data(json.utf8)
            if let list = try? JSONDecoder().decode(List.self, from: data), list.kind?.hasSuffix("List") ?? true { return list.items }
            return [try JSONDecoder().decode(ListItem.self, from: data)]
        } catch {
            throw ControlError.kubernetes("kubectl printed what is not a list of objects (\(error)): \(json.prefix(200))")
        }
    }

    /// `apiVersion` and `kind` of an object.
    struct TypeMeta: Decodable {
        var apiVersion: String
        var kind: String
    }

    /// A `List` that kubectl prints.
    struct List: Decodable {
        var kind: String?
        var items: [ListItem]
    }

    /// The fields of a Deployment or a Pod that status and diagnosis read.
    struct ListItem: Decodable {
        var kind: String?
        var metadata: Metadata
        var spec: Spec?
        var status: Status?

        /// Whether the object carries every one of `labels`.
        func matches(_ labels: [String: String]) -> Bool {
            labels.allSatisfy { metadata.labels?[$0.key] == $0.value }
        }

        /// Its name and labels.
        struct Metadata: Decodable {
            var name: String
            var labels: [String: String]?
        }

        /// A Deployment's replicas.
        struct Spec: Decodable {
            var replicas: Int?
        }

        /// A Deployment's replica counts, or a Pod's phase, conditions and containers.
        struct Status: Decodable {
            var readyReplicas: Int?
            var updatedReplicas: Int?
            var availableReplicas: Int?
            var phase: String?
            var conditions: [Condition]?
            var containerStatuses: [ContainerStatus]?
        }

        /// `Ready`, `PodScheduled`, …: whether it holds, and why not.
        struct Condition: Decodable {
            var type: String
            var status: String
            var reason: String?
            var message: String?
        }

        /// One container of a pod.
        struct ContainerStatus: Decodable {
            var name: String
            var ready: Bool
            var restartCount: Int
            var state: State?
            var lastState: State?

            /// Waiting (with its reason), running or terminated.
            struct State: Decodable {
                var waiting: Waiting?
                var terminated: Terminated?
            }

            /// Why a container does not run yet.
            struct Waiting: Decodable {
                var reason: String?
                var message: String?
            }

            /// How a container ended.
            struct Terminated: Decodable {
                var exitCode: Int?
                var reason: String?
                var message: String?
            }
        }
    }
}
