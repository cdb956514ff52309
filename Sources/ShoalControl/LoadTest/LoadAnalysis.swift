import Foundation

/// The analysis of any number of result files (`shoal test bma`): their histograms merged into one, so the
/// percentiles are those of all samples together (never an average of percentiles), with errors summed and
/// the cost per million inferences from the target's price.
public struct LoadAnalysis: Codable, Sendable, Equatable {
    /// One run, or all of them.
    public struct Row: Codable, Sendable, Equatable {
        public var source: String
        public var completed: Int
        public var ok: Int
        public var failed: Int
        /// Successful requests per second.
        public var throughput: Double
        public var p50Ms: Double
        public var p90Ms: Double
        public var p99Ms: Double
        public var maxMs: Double
        public var meanMs: Double
        /// Dollars per million successful requests; nil without a price.
        public var costPerMillion: Double?

        init(source: String, completed: Int, ok: Int, throughput: Double, latency: LatencyHistogram, hourlyCost: Double) {
            self.source = source
            self.completed = completed
            self.ok = ok
            failed = completed - ok
            self.throughput = throughput
            p50Ms = latency.milliseconds(atPercentile: 50)
            p90Ms = latency.milliseconds(atPercentile: 90)
            p99Ms = latency.milliseconds(atPercentile: 99)
            maxMs = latency.maxMilliseconds
            meanMs = latency.meanMilliseconds
            costPerMillion = throughput > 0 ? hourlyCost / (throughput * 3_600) * 1_000_000 : nil
        }
    }

    public var runs: [Row]
    public var total: Row
    /// Requests, failures and latency per model over all runs.
    public var perModel: [Row]
    public var errors: [String: Int]
    public var statusCounts: [String: Int]
    public var target: String
    public var pricePerHour: Double
    /// Machines of `target` the load ran against.
    public var servers: Int
    /// The merged histogram, for further merging.
    public var latency: LatencyHistogram

    /// Merges `results` (path, result); they are taken as concurrent runs against the same servers, so their
    /// throughputs add up.
    public init(results: [(path: String, result: LoadResult)], target: String, pricePerHour: Double, servers: Int) throws {
        guard !results.isEmpty else { throw ControlError.loadTest("bma needs at least one result file") }
        let hourlyCost = pricePerHour * Double(servers)
        var merged = LatencyHistogram()
        var models: [String: LatencyHistogram] = [:]
        var modelFailures: [String: Int] = [:]
        var errors: [String: Int] = [:]
        var statuses: [String: Int] = [:]
        for (_, result) in results {
            merged.add(result.latency)
            for (model, histogram) in result.perModel { models[model, default: LatencyHistogram()].add(histogram) }
            for (model, kinds) in result.modelErrors { modelFailures[model, default: 0] += kinds.values.reduce(0, +) }
            errors.merge(result.errors, uniquingKeysWith: +)
            statuses.merge(result.statusCounts, uniquingKeysWith: +)
        }
        runs = results.map {
            Row(source: $0.path, completed: $0.result.completed, ok: $0.result.ok, throughput: $0.result.throughput,
                latency: $0.result.latency, hourlyCost: hourlyCost)
        }
        let throughput = runs.reduce(0) { $0 + $1.throughput }
        total = Row(source: "all", completed: runs.reduce(0) { $0 + $1.completed }, ok: runs.reduce(0) { $0 + $1.ok },
                    throughput: throughput, latency: merged, hourlyCost: hourlyCost)
        let totalOK = max(1, Double(total.ok))
        perModel = Set(models.keys).union(modelFailures.keys).sorted().map { model in
            let histogram = models[model] ?? LatencyHistogram()
            let ok = Int(histogram.count)
            return Row(source: model, completed: ok + modelFailures[model, default: 0], ok: ok,
                       throughput: throughput * Double(ok) / totalOK, latency: histogram, hourlyCost: hourlyCost)
        }
        self.errors = errors
        statusCounts = statuses
        self.target = target
        self.pricePerHour = pricePerHour
        self.servers = servers
        latency = merged
    }

    /// The analysis as a table: runs, the merged total, models, errors and cost.
    public var rendered: String {
        var table = TextTable(["RUN", "REQUESTS", "OK", "FAILED", "REQ/S", "P50 MS", "P90 MS", "P99 MS", "MAX MS", "$/1M"])
        for row in runs + (runs.count > 1 ? [total] : []) { table.add(Self.cells(row)) }
        var lines = [table.rendered]
        if perModel.count > 1 {
            var models = TextTable(["MODEL", "REQUESTS", "OK", "FAILED", "REQ/S", "P50 MS", "P90 MS", "P99 MS", "MAX MS", "$/1M"])
            for row in perModel { models.add(Self.cells(row)) }
            lines += ["", models.rendered]
        }
        lines.append("")
        lines.append("errors: " + (errors.isEmpty ? "none" : errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")))
        lines.append("status: " + statusCounts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", "))
        lines.append(String(format: "cost: %d × %@ at $%.4f/h; percentiles from one merged histogram of %llu samples",
                            servers, target, pricePerHour, latency.count))
        return lines.joined(separator: "\n")
    }

    static func cells(_ row: Row) -> [String] {
        [row.source, "\(row.completed)", "\(row.ok)", "\(row.failed)", String(format: "%.1f", row.throughput),
         String(format: "%.2f", row.p50Ms), String(format: "%.2f", row.p90Ms), String(format: "%.2f", row.p99Ms),
         String(format: "%.2f", row.maxMs), row.costPerMillion.map { String(format: "%.4f", $0) } ?? "-"]
    }
}
