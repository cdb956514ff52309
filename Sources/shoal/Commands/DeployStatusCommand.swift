import ArgumentParser
import Foundation
import ShoalControl

struct DeployStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the processes of the running deployment: pid, address, models, restarts (runtime: kubernetes: replicas and restarts from the cluster).")

    @OptionGroup var deploy: DeployOptions
    @Argument(help: "Show only this group (or `gateway`).")
    var group: String?
    @Flag(name: .long, help: "Print the state as JSON.")
    var json = false

    func run() async throws {
        if let (kubernetes, state) = try deploy.kubernetesDeployment() {
            let statuses = try selected(try await kubernetes.status(state)) { $0.member.name }
            if json {
                try ModelsOutput.printJSON(statuses.map(KubernetesStatus.init))
            } else {
                print(Self.table(statuses, state: state))
            }
            return
        }
        if let podman = try deploy.podmanDeployment(), let state = try podman.state() {
            let statuses = try selected(try await podman.status(state)) { $0.member.name }
            if json {
                try ModelsOutput.printJSON(statuses.map(PodmanStatus.init))
            } else {
                print(Self.table(statuses))
            }
            return
        }
        guard var state = try deploy.deployment.state() else {
            if json { print("null") } else { print("no deployment is running; start one with `shoal deploy run`") }
            return
        }
        state.members = try selected(state.members) { $0.name }
        if json {
            try ModelsOutput.printJSON(state)
        } else {
            print(Self.table(state))
        }
    }

    /// The members of the group asked for (all when none is); throws when the deployment has no such group.
    private func selected<Member>(_ members: [Member], name: (Member) -> String) throws -> [Member] {
        guard let group else { return members }
        let chosen = members.filter { name($0) == group }
        guard !chosen.isEmpty else { throw ValidationError("no group '\(group)' in the deployment") }
        return chosen
    }

    /// One row per member, under the supervisor's pid.
    static func table(_ state: DeploymentState) -> String {
        var table = TextTable(["group", "pid", "address", "restarts", "models"])
        for member in state.members {
            // A serverless group without a process is cold, not crashed: the gateway starts it on demand.
            let pid = member.pid.map(String.init) ?? (member.onDemand ? "-" : "restarting")
            table.add([member.temperature.map { "\(member.name) (\($0))" } ?? member.name, pid, member.url, String(member.restarts),
                       member.models.joined(separator: ",")])
        }
        return "supervisor pid \(state.supervisorPid), started \(state.started)\n" + table.rendered
    }

    /// One row per pod of a podman deployment.
    static func table(_ statuses: [PodmanDeployment.MemberStatus]) -> String {
        var table = TextTable(["group", "container", "state", "pid", "address", "restarts", "models"])
        for status in statuses {
            table.add([status.member.name, status.member.containerName, status.state, status.pid.map(String.init) ?? "-",
                       status.member.url, String(status.restarts), status.member.models.joined(separator: ",")])
        }
        return "podman (runtime: podman)\n" + table.rendered
    }

    /// One row per Deployment of a kubernetes deployment: replicas as the cluster reports them.
    static func table(_ statuses: [KubernetesDeployment.MemberStatus], state: KubernetesDeployment.State) -> String {
        var table = TextTable(["group", "deployment", "ready", "up-to-date", "available", "pods", "restarts", "models"])
        for status in statuses {
            table.add([status.member.name, status.found ? status.member.deployment : "\(status.member.deployment) (missing)",
                       "\(status.ready)/\(status.desired)", String(status.updated), String(status.available), String(status.pods),
                       String(status.restarts), status.member.models.joined(separator: ",")])
        }
        return "kubernetes (context \(state.context), namespace \(state.namespace))\n" + table.rendered
    }

    /// A Deployment of a kubernetes deployment as `status --json` prints it.
    struct KubernetesStatus: Encodable {
        var name: String
        var deployment: String
        var found: Bool
        var desired: Int
        var ready: Int
        var updated: Int
        var available: Int
        var pods: Int
        var restarts: Int
        var models: [String]

        init(_ status: KubernetesDeployment.MemberStatus) {
            name = status.member.name
            deployment = status.member.deployment
            found = status.found
            (desired, ready, updated, available) = (status.desired, status.ready, status.updated, status.available)
            (pods, restarts) = (status.pods, status.restarts)
            models = status.member.models
        }
    }

    /// A pod of a podman deployment as `status --json` prints it.
    struct PodmanStatus: Encodable {
        var name: String
        var container: String
        var state: String
        var pid: Int?
        var restarts: Int
        var url: String
        var models: [String]

        init(_ status: PodmanDeployment.MemberStatus) {
            name = status.member.name
            container = status.member.containerName
            state = status.state
            pid = status.pid
            restarts = status.restarts
            url = status.member.url
            models = status.member.models
        }
    }
}
