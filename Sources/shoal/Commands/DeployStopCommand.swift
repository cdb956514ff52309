import ArgumentParser
import ShoalControl

struct DeployStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the supervisor and every process of the deployment; none is left behind.")

    @OptionGroup var deploy: DeployOptions

    func run() async throws {
        let stopped = try await deploy.deployment.stop()
        print(stopped.isEmpty ? "no deployment was running" : "stopped \(stopped.count) processes")
    }
}
