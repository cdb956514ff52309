import ArgumentParser
import ShoalControl

struct TestRndCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnd",
        abstract: "Send --requests requests to random models, started at a fixed --rate whatever the server does.",
        discussion: "Example: shoal test rnd --requests 300 --rate 50")

    @OptionGroup var options: TestOptions
    @Option(name: .long, help: "Requests in all.")
    var requests = 30
    @Option(name: .long, help: "Requests started per second (test.rate).")
    var rate: Double?

    func validate() throws {
        guard (1...10_000_000).contains(requests) else { throw ValidationError("--requests must be within 1...10000000") }
        if let rate, !(rate > 0 && rate <= 1_000_000) { throw ValidationError("--rate must be > 0 and ≤ 1000000 requests per second") }
    }

    func run() async throws {
        let configuration = try options.load()
        var settings = options.settings("rnd", configuration)
        settings.mode = .open
        settings.requests = requests
        if let rate { settings.rate = rate }
        settings.durationS = min(3_600, Double(requests) / settings.rate + 1)
        try await options.run(settings, configuration: configuration)
    }
}
