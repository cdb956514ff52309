import ArgumentParser
import Foundation
import ShoalControl

struct TestBmaCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bma",
        abstract: "Analyse result files together: merged-histogram percentiles, summed throughput and errors, cost per million.",
        discussion: """
            The files are taken as concurrent runs (several load generators against the same servers), so their \
            throughputs add up; percentiles come from one histogram of all their samples. Cost per million \
            inferences is --servers × the hourly price of --target over the throughput.
            --from-store RUN reads every result under results/RUN/ of the store (--store, else $SHOAL_STORE, else \
            store.url): what the pods of `shoal deploy load-test` or `shoal test bmk --out-store RUN` wrote.
            Example: shoal test bma bmk-*.json --target c7i.4xlarge --servers 2 --json
            Example: shoal test bma --from-store 20261207-044119 --store s3://results/shoal
            """)

    @OptionGroup var config: ConfigOptions
    @Argument(help: "Result files written by shoal test bmk|seq|rnd --out.")
    var files: [String] = []
    @Option(name: .customLong("from-store"), help: ArgumentHelp("Every result under results/RUN/ of the store.", valueName: "RUN"))
    var fromStore: String?
    @Option(name: .long, help: "The store --from-store reads: a folder or s3://BUCKET/PREFIX (default: $SHOAL_STORE, else store.url).")
    var store: String?
    @Option(name: .long, help: "The target whose price applies (default: test.target, else the plan's target).")
    var target: String?
    @Option(name: .long, help: "Machines under test (default: the groups of --plan if it exists, else 1).")
    var servers: Int?
    @Option(name: .long, help: "A placement plan giving the target and number of servers.")
    var plan = "plan.json"
    @Flag(name: .long, help: "Print JSON.")
    var json = false

    func validate() throws {
        guard !files.isEmpty || fromStore != nil else { throw ValidationError("name at least one result file, or --from-store RUN") }
        if let fromStore, !LoadResultStore.isValidRun(fromStore) { throw ValidationError("--from-store \(fromStore): \(LoadResultStore.runRule)") }
        if let servers, servers < 1 { throw ValidationError("--servers must be ≥ 1") }
    }

    func run() async throws {
        let configuration = try config.load(store: store).configuration
        let placement = FileManager.default.fileExists(atPath: plan)
            ? try PlacementPlan.decode(FileManager.default.contents(atPath: plan) ?? Data(), path: plan) : nil
        let name = target ?? placement?.target ?? configuration.test.target
        guard let spec = configuration.targets.first(where: { $0.name == name }) else {
            throw ControlError.unknownName(key: "--target", name: name, valid: configuration.targets.map(\.name))
        }
        var results = try files.map { (path: $0, result: try LoadResult.read($0)) }
        if let fromStore {
            results += try await LoadResultStore(backend: try configuration.openStore().backend).results(of: fromStore)
        }
        let analysis = try LoadAnalysis(results: results, target: spec.name, pricePerHour: spec.pricePerHour,
                                        servers: servers ?? placement?.groups.count ?? 1)
        try TestOutput.print(analysis, json: json)
    }
}
