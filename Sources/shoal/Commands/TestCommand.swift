import ArgumentParser

struct TestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Load-test a server: seq (each model in turn), rnd (random models at a fixed rate), bmk (benchmark), bma (analysis).",
        discussion: """
            Settings come from the test section of shoal.yaml; options override them. Latencies go into \
            HdrHistograms; --out writes a result file holding the histogram, counts by status and error kind, \
            throughput per second, the settings and machine facts; --out-store RUN puts it into the store as \
            results/RUN/NAME.json. bma merges any number of result files (and --from-store RUN, every result of a \
            run) into one histogram, so its percentiles are true percentiles of all samples.
            Example: shoal test bmk --concurrency 16 --duration 30 --out run1.json && shoal test bma run1.json run2.json
            """,
        subcommands: [TestSeqCommand.self, TestRndCommand.self, TestBmkCommand.self, TestBmaCommand.self])
}
