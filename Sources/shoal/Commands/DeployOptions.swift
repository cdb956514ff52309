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
}
