import ArgumentParser
import ShoalControl
import ShoalStore

/// The load-test Job's options, shared by `shoal deploy manifests --load-test` and `shoal deploy load-test`.
struct LoadTestJobOptions: ParsableArguments {
    @Option(name: .long, help: "Load-generating pods of the load-test Job, all at once.")
    var pods = 1
    @Option(name: .long, help: "The load test's run id, the results' folder results/RUN/ (default: the time, e.g. 20261207-044119).")
    var run: String?

    func validate() throws {
        guard (1...1_000).contains(pods) else { throw ValidationError("--pods must be within 1...1000") }
        if let run, !LoadResultStore.isValidRun(run) { throw ValidationError("--run \(run): \(LoadResultStore.runRule)") }
    }

    /// The Job for `configuration`.
    func job(_ configuration: ShoalConfiguration) throws -> LoadTestJob {
        try LoadTestJob(configuration: configuration, run: run ?? LoadResultStore.generatedRun(), pods: pods)
    }
}
