import ArgumentParser

struct ImageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Build the container image that runtime: podman and Kubernetes run (kubernetes.image).",
        subcommands: [ImageBuildCommand.self])
}
