import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

extension LoadProtocol: ExpressibleByArgument {}
extension LoadMode: ExpressibleByArgument {}
extension RequestMix.Kind: ExpressibleByArgument {}

/// Options every load test shares; each overrides the key of shoal.yaml's test section it names.
struct TestOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions
    @Option(name: .long, help: "The server or gateway (test.url), e.g. http://127.0.0.1:8080.")
    var url: String?
    @Option(name: .long, help: "kserve, openai, predictions, or health (no inference: measures the load generator) (test.protocol).")
    var `protocol`: LoadProtocol?
    @Option(name: .long, help: "A model to send requests to (repeatable; default: every model of shoal.yaml).")
    var model: [String] = []
    @Option(name: .long, help: "short, paragraph or mixed texts (test.mix).")
    var mix: RequestMix.Kind?
    @Option(name: .long, help: "Texts per request (test.batch).")
    var batch: Int?
    @Option(name: .long, help: "Seconds before a request fails as a timeout (test.timeout_s).")
    var timeout: Double?
    @Option(name: .long, help: "Write the result file here (histogram, counts, timeline, settings, machine).")
    var out: String?
    @Option(name: .customLong("out-store"), help: ArgumentHelp(
        "Write the result into the store as results/RUN/NAME.json, for `shoal test bma --from-store RUN`.", valueName: "RUN"))
    var outStore: String?
    @Option(name: .customLong("out-name"), help: "The result's NAME under --out-store (default: this host's name).")
    var outName: String?
    @Option(name: .long, help: "The store --out-store writes to: a folder or s3://BUCKET/PREFIX (default: $SHOAL_STORE, else store.url).")
    var store: String?
    @Flag(name: .long, help: "Print the summary as JSON.")
    var json = false
    @Flag(name: .long, help: "No progress lines on standard error.")
    var quiet = false

    func validate() throws {
        if let batch, !(1...256).contains(batch) { throw ValidationError("--batch must be within 1...256") }
        if let timeout, !(timeout > 0) { throw ValidationError("--timeout must be a number of seconds > 0") }
        if let url, !url.hasPrefix("http://") { throw ValidationError("--url must be an http:// URL such as http://127.0.0.1:8080") }
        if let name = model.first(where: { !ModelReference.isValidName($0) }) {
            throw ValidationError("--model \(name): \(ModelReference.nameRule)")
        }
        if let outStore, !LoadResultStore.isValidRun(outStore) { throw ValidationError("--out-store \(outStore): \(LoadResultStore.runRule)") }
        if let outName, !ModelReference.isValidName(outName) {
            throw ValidationError("--out-name \(outName): \(LoadResultStore.nameRule)")
        }
        if outName != nil, outStore == nil { throw ValidationError("--out-name names a result of --out-store RUN; add --out-store") }
    }

    /// shoal.yaml with --store over store.url, by the rule every command follows.
    func load() throws -> ShoalConfiguration {
        try config.load(store: store).configuration
    }

    /// shoal.yaml's test settings with these options laid over them, for `test`.
    func settings(_ test: String, _ configuration: ShoalConfiguration) -> LoadSettings {
        var settings = LoadSettings(test: test, configuration: configuration.test,
                                    models: model.isEmpty ? configuration.models.map(\.name) : model)
        if let url { settings.url = url }
        if let `protocol` { settings.protocol = `protocol` }
        if let mix { settings.mix = mix }
        if let batch { settings.batch = batch }
        if let timeout { settings.timeoutS = timeout }
        return settings
    }

    /// Runs `settings`, writes the result file if asked, and prints the summary.
    func run(_ settings: LoadSettings, configuration: ShoalConfiguration) async throws {
        let generator = try LoadGenerator(settings: settings)
        // Opened first, so that a store that cannot be written to (no keys) fails before the load runs.
        let results = try outStore.map { _ in LoadResultStore(backend: try configuration.openStore().backend) }
        let quiet = quiet
        let result = try await generator.run { line in
            if !quiet { FileHandle.standardError.write(Data("\(line)\n".utf8)) }
        }
        if let out {
            do {
                try result.encoded().write(to: URL(fileURLWithPath: out), options: .atomic)
            } catch {
                throw ControlError.file(path: out, reason: "cannot be written (\(error.localizedDescription))")
            }
        }
        var stored: String?
        if let results, let outStore {
            stored = try await results.write(result, run: outStore, name: outName ?? ProcessInfo.processInfo.hostName)
        }
        let price = configuration.targets.first { $0.name == configuration.test.target }?.pricePerHour ?? 0
        let analysis = try LoadAnalysis(results: [(out ?? settings.test, result)], target: configuration.test.target,
                                        pricePerHour: price, servers: 1)
        try TestOutput.print(analysis, json: json)
        for path in [out, stored].compactMap({ $0 }) where !json { print("wrote \(path)") }
        if result.ok == 0 { throw ExitCode(2) }
    }
}

/// Prints an analysis as a table or JSON.
enum TestOutput {
    static func print(_ analysis: LoadAnalysis, json: Bool) throws {
        guard json else {
            Swift.print(analysis.rendered)
            return
        }
        var summary = analysis
        summary.latency = LatencyHistogram()  // the merged histogram belongs in result files, not the summary
        try ModelsOutput.printJSON(summary)
    }
}
