import ArgumentParser
import ShoalControl

struct ConfigValidateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate", abstract: "Check every key and value; exits non-zero naming the first problem.",
        discussion: "Example: shoal config validate --config prod.yaml")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let file = try options.load()
        let c = file.configuration
        print("\(file.exists ? file.path : "built-in defaults") is valid: \(c.models.count) models, \(c.targets.count) targets, runtime \(c.runtime.rawValue)")
    }
}
