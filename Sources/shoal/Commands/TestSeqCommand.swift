import ArgumentParser
import ShoalControl

struct TestSeqCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seq",
        abstract: "Send --requests requests to every model in turn, one at a time, and report each model's latency.",
        discussion: "Example: shoal test seq --requests 20 --protocol openai")

    @OptionGroup var options: TestOptions
    @Option(name: .long, help: "Requests per model.")
    var requests = 10

    func validate() throws {
        guard (1...100_000).contains(requests) else { throw ValidationError("--requests must be within 1...100000") }
    }

    func run() async throws {
        let configuration = try options.load()
        var settings = options.settings("seq", configuration)
        settings.mode = .closed
        settings.concurrency = 1
        settings.sequential = true
        settings.requests = requests * max(1, settings.models.count)
        settings.durationS = 3_600
        try await options.run(settings, configuration: configuration)
    }
}
