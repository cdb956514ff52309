import ArgumentParser

@main
struct Shoal: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "shoal",
        abstract: "Pack many transformer models onto few machines and serve them fast.",
        subcommands: [EmbedCommand.self, ClassifyCommand.self, BenchCommand.self, ServeCommand.self, ModelsCommand.self, ConfigCommand.self, PackCommand.self, TestCommand.self, DeployCommand.self, ProvisionCommand.self, ImageCommand.self, GatewayCommand.self, RunCommand.self, TrainCommand.self, BatchCommand.self])
}
