import ArgumentParser
import ShoalControl

struct TestBmkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bmk",
        abstract: "Benchmark: a closed loop at --concurrency, or an open loop at --rate, for --duration seconds.",
        discussion: """
            Each request goes to a model drawn from a fixed pseudo-random sequence and carries texts of the request \
            mix. In open-loop mode latency counts from each request's planned start, so queueing is not hidden.
            Example: shoal test bmk --mode open --rate 200 --duration 30 --out bmk-1.json
            """)

    @OptionGroup var options: TestOptions
    @Option(name: .long, help: "closed or open (test.mode).")
    var mode: LoadMode?
    @Option(name: .long, help: "Requests in flight in closed-loop mode (test.concurrency).")
    var concurrency: Int?
    @Option(name: .long, help: "Requests started per second in open-loop mode (test.rate).")
    var rate: Double?
    @Option(name: .long, help: "Seconds to run (test.duration_s).")
    var duration: Double?
    @Option(name: .long, help: "Stop after this many requests; 0 for none (test.requests).")
    var requests: Int?

    func validate() throws {
        if let concurrency, !(1...4_096).contains(concurrency) { throw ValidationError("--concurrency must be within 1...4096") }
        if let rate, !(rate > 0 && rate <= 1_000_000) { throw ValidationError("--rate must be > 0 and ≤ 1000000 requests per second") }
        if let duration, !(duration > 0 && duration <= 3_600) { throw ValidationError("--duration must be > 0 and ≤ 3600 seconds") }
        if let requests, requests < 0 { throw ValidationError("--requests must be ≥ 0") }
    }

    func run() async throws {
        let configuration = try options.load()
        var settings = options.settings("bmk", configuration)
        if let mode { settings.mode = mode }
        if let concurrency { settings.concurrency = concurrency }
        if let rate { settings.rate = rate }
        if let duration { settings.durationS = duration }
        if let requests { settings.requests = requests }
        try await options.run(settings, configuration: configuration)
    }
}
