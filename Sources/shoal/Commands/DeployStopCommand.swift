import ArgumentParser
import ShoalControl

struct DeployStopCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stop",
        abstract: "Stop the supervisor and every process of the deployment (runtime: podman: remove its pods, containers and volumes; runtime: kubernetes: delete what was applied).")

    @OptionGroup var deploy: DeployOptions

    func run() async throws {
        if let loadTest = try deploy.podmanLoadTest() {
            let removed = try await loadTest.stop()
            print("removed \(removed.count) load-test pods: \(removed.joined(separator: ", "))")
        }
        var deleted = false
        if let (kubernetes, _) = try deploy.kubernetesDeployment(), let state = try await kubernetes.stop() {
            print("deleted the \(state.kinds.joined(separator: ",")) labelled \(KubernetesDeployment.selector) "
                + "in namespace \(state.namespace) (context \(state.context))")
            deleted = true
        }
        var pods: [String] = []
        if let podman = try deploy.podmanDeployment() {
            pods = try await podman.stop()
            print("removed \(pods.count) pods, their containers and volumes: \(pods.joined(separator: ", "))")
        }
        let stopped = try await deploy.deployment.stop()
        if !stopped.isEmpty || (pods.isEmpty && !deleted) {
            print(stopped.isEmpty ? "no deployment was running" : "stopped \(stopped.count) processes")
        }
    }
}
