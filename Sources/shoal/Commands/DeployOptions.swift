import ArgumentParser
import Foundation
import ShoalControl

/// The `--dir` option of every `shoal deploy` command.
struct DeployOptions: ParsableArguments {
    @Option(name: .long, help: "Where the deployment keeps its state and logs.")
    var dir = DeployDirectory.defaultPath

    var directory: DeployDirectory {
        DeployDirectory(root: URL(fileURLWithPath: dir).standardizedFileURL)
    }

    var deployment: LocalDeployment { LocalDeployment(directory: directory) }

    /// podman with the deployment folder's settings file.
    func podman() throws -> Podman { try Podman.locate(configurationFile: directory.containersConfiguration) }

    /// The podman deployment recorded in the folder, or nil when none was started (podman is not needed then).
    func podmanDeployment() throws -> PodmanDeployment? {
        guard FileManager.default.fileExists(atPath: directory.podmanState.path) else { return nil }
        return PodmanDeployment(directory: directory, podman: try podman())
    }

    /// The load test recorded in the folder, or nil when none was left (podman is not needed then).
    func podmanLoadTest() throws -> PodmanLoadTest? {
        guard FileManager.default.fileExists(atPath: directory.loadTestState.path) else { return nil }
        return PodmanLoadTest(directory: directory, podman: try podman())
    }

    /// The kubernetes deployment recorded in the folder, or nil when none was applied.
    func kubernetesDeployment() throws -> (KubernetesDeployment, KubernetesDeployment.State)? {
        let deployment = KubernetesDeployment(directory: directory)
        return try deployment.state().map { (deployment, $0) }
    }

    /// Refuses to start a deployment while one of any runtime runs from this folder.
    func refuseIfRunning() throws {
        let files = FileManager.default
        let running = [
            ("podman", files.fileExists(atPath: directory.podmanState.path)),
            ("kubernetes", files.fileExists(atPath: directory.kubernetesState.path)),
            ("local", try deployment.state() != nil),
        ].first { $0.1 }
        if let (runtime, _) = running {
            throw ControlError.file(path: directory.root.path, reason: "a \(runtime) deployment is already running; "
                + "stop it with `shoal deploy stop`")
        }
    }
}
