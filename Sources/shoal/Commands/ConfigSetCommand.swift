import ArgumentParser
import ShoalControl

struct ConfigSetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set", abstract: "Set one key in the file (created if absent); the result is validated before it is written.",
        discussion: """
            List entries are addressed by name, and a new name adds an entry.
            Example: shoal config set models.bert.memory 420MiB && shoal config set models.bert.traffic 20
            """)

    @OptionGroup var options: ConfigOptions
    @Argument(help: "A dotted key, e.g. server.port or models.minilm.traffic (`shoal config show --keys` lists them).")
    var key: String
    @Argument(help: "The value.")
    var value: String

    func validate() throws {
        guard !key.isEmpty, !key.hasPrefix("."), !key.hasSuffix("."), !key.contains("..") else {
            throw ValidationError("KEY must be dotted names such as server.port; `shoal config show --keys` lists them")
        }
    }

    func run() async throws {
        _ = try ConfigurationFile.set(key, to: value, path: options.path)
        print("\(options.path): \(key) = \(value)")
    }
}
