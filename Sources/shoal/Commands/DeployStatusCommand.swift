import ArgumentParser
import Foundation
import ShoalControl

struct DeployStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show the processes of the running deployment: pid, address, models, restarts.")

    @OptionGroup var deploy: DeployOptions
    @Argument(help: "Show only this group (or `gateway`).")
    var group: String?
    @Flag(name: .long, help: "Print the state as JSON.")
    var json = false

    func run() async throws {
        guard var state = try deploy.deployment.state() else {
            if json { print("null") } else { print("no deployment is running; start one with `shoal deploy run`") }
            return
        }
        if let group {
            state.members = state.members.filter { $0.name == group }
            guard !state.members.isEmpty else { throw ValidationError("no group '\(group)' in the deployment") }
        }
        if json {
            try ModelsOutput.printJSON(state)
        } else {
            print(Self.table(state))
        }
    }

    /// One row per member, under the supervisor's pid.
    static func table(_ state: DeploymentState) -> String {
        var table = TextTable(["group", "pid", "address", "restarts", "models"])
        for member in state.members {
            table.add([member.name, member.pid.map(String.init) ?? "restarting", member.url, String(member.restarts),
                       member.models.joined(separator: ",")])
        }
        return "supervisor pid \(state.supervisorPid), started \(state.started)\n" + table.rendered
    }
}
