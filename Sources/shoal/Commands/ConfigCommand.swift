import ArgumentParser

struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config",
        abstract: "Show, check and edit shoal.yaml: store, models, targets, runtime, server, pack and test settings.",
        discussion: """
            The file is --config FILE, else ./shoal.yaml; without one, the built-in defaults apply. Environment \
            variables SHOAL_<KEY> override keys (SHOAL_SERVER_PORT=9000 sets server.port). List entries are \
            addressed by name: models.minilm.traffic.
            Example: shoal config init && shoal config set models.minilm.traffic 200 && shoal config validate
            """,
        subcommands: [ConfigShowCommand.self, ConfigValidateCommand.self, ConfigSetCommand.self, ConfigInitCommand.self])
}
