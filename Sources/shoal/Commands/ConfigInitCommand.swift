import ArgumentParser
import ShoalControl

struct ConfigInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a shoal.yaml holding every default, with comments.",
        discussion: "Example: shoal config init && shoal config validate")

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Overwrite an existing file.")
    var force = false

    func run() async throws {
        try ConfigurationFile.initialise(path: options.path, force: force)
        print("wrote \(options.path)")
    }
}
