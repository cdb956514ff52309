import Foundation
import ShoalTensor
import Testing
@testable import ShoalControl

@Suite struct LoadAnalysisTests {
    static let settings = LoadSettings(
        test: "bmk", url: "http://127.0.0.1:8080", protocol: .kserve, mode: .closed, models: ["a", "b"], concurrency: 4,
        rate: 100, durationS: 10, requests: 0, mix: .mixed, batch: 1, timeoutS: 10)

    /// A result file holding `latencies` (microseconds), as a run of `seconds` would write it.
    static func result(_ latencies: [UInt64], seconds: Double, errors: Int = 0) throws -> LoadResult {
        var histogram = LatencyHistogram()
        var perModel: [String: LatencyHistogram] = [:]
        for (index, latency) in latencies.enumerated() {
            histogram.record(microseconds: latency)
            perModel[index % 2 == 0 ? "a" : "b", default: LatencyHistogram()].record(microseconds: latency)
        }
        let result = LoadResult(
            settings: settings, machine: .current(), started: Date(timeIntervalSince1970: 1_700_000_000), durationS: seconds,
            sent: latencies.count + errors, completed: latencies.count + errors, ok: latencies.count,
            statusCounts: ["200": latencies.count].merging(errors > 0 ? ["503": errors] : [:], uniquingKeysWith: +),
            errors: errors > 0 ? ["http_503": errors] : [:], timeline: [], latency: histogram, perModel: perModel,
            modelErrors: errors > 0 ? ["b": ["http_503": errors]] : [:])
        // Through the file format, as bma reads it.
        return try LoadResult.decode(result.encoded(), path: "test.json")
    }

    /// Two runs with different latency distributions: a fast one and a slow one with a long tail.
    static func samples() -> (fast: [UInt64], slow: [UInt64]) {
        var generator = SplitMix64(seed: 42)
        let fast = (0..<20_000).map { _ in UInt64.random(in: 2_000...6_000, using: &generator) }
        let slow = (0..<5_000).map { index in
            index % 50 == 0 ? UInt64.random(in: 200_000...900_000, using: &generator) : UInt64.random(in: 10_000...40_000, using: &generator)
        }
        return (fast, slow)
    }

    @Test func mergingTwoFilesGivesThePercentilesOfAllSamples() throws {
        let (fast, slow) = Self.samples()
        let analysis = try LoadAnalysis(
            results: [("fast.json", try Self.result(fast, seconds: 10)), ("slow.json", try Self.result(slow, seconds: 10))],
            target: "local", pricePerHour: 0.5, servers: 2)
        var all = LatencyHistogram()
        for latency in fast + slow { all.record(microseconds: latency) }
        #expect(analysis.latency == all)
        for percentile in [50.0, 90, 99, 99.9] {
            #expect(analysis.latency.milliseconds(atPercentile: percentile) == all.milliseconds(atPercentile: percentile))
        }
        #expect(analysis.total.p50Ms == all.milliseconds(atPercentile: 50))
        #expect(analysis.total.p90Ms == all.milliseconds(atPercentile: 90))
        #expect(analysis.total.p99Ms == all.milliseconds(atPercentile: 99))
        #expect(analysis.total.maxMs == all.maxMilliseconds)
        // Within HdrHistogram's 3 significant digits of the exact sample percentile.
        let sorted = (fast + slow).sorted()
        let exactP99 = Double(sorted[Int((Double(sorted.count) * 0.99).rounded(.up)) - 1]) / 1_000
        #expect(abs(analysis.total.p99Ms - exactP99) <= exactP99 * 0.001 + 0.001)
        // The reference's average of percentiles is far off: the slow run's tail is a fifth of the samples.
        let averaged = (analysis.runs[0].p99Ms + analysis.runs[1].p99Ms) / 2
        #expect(abs(averaged - analysis.total.p99Ms) > 10)
    }

    @Test func countsThroughputAndCostAddUp() throws {
        let analysis = try LoadAnalysis(
            results: [("1", try Self.result([1_000, 2_000], seconds: 2, errors: 3)), ("2", try Self.result([3_000], seconds: 1))],
            target: "c7i.xlarge", pricePerHour: 0.36, servers: 2)
        #expect(analysis.total.completed == 6)
        #expect(analysis.total.ok == 3)
        #expect(analysis.total.failed == 3)
        #expect(analysis.errors == ["http_503": 3])
        #expect(analysis.statusCounts == ["200": 3, "503": 3])
        #expect(analysis.total.throughput == 2)  // 1 req/s + 1 req/s, concurrent runs
        // $0.72/h over 2 req/s = 7,200 requests per hour: $100 per million.
        #expect(abs((analysis.total.costPerMillion ?? 0) - 100) < 1e-9)
        #expect(analysis.perModel.map(\.source) == ["a", "b"])
        #expect(analysis.perModel.map(\.completed) == [2, 4])
        #expect(analysis.perModel.map(\.failed) == [0, 3])
        #expect(analysis.rendered.contains("http_503 3"))
    }

    @Test func histogramsRoundTripAndRejectCorruptFiles() throws {
        var histogram = LatencyHistogram()
        for value in [1, 17, 999, 1_234_567, 5_000_000_000] as [UInt64] { histogram.record(microseconds: value) }
        let data = try JSONEncoder().encode(histogram)
        let decoded = try JSONDecoder().decode(LatencyHistogram.self, from: data)
        #expect(decoded == histogram)
        #expect(decoded.maxMilliseconds == histogram.maxMilliseconds)
        let corrupt = Data(#"{"unit":"us","significant_digits":3,"total":9,"buckets":[[5,1]]}"#.utf8)
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(LatencyHistogram.self, from: corrupt) }
        let otherUnit = Data(#"{"unit":"ms","significant_digits":3,"total":1,"buckets":[[5,1]]}"#.utf8)
        #expect(throws: DecodingError.self) { _ = try JSONDecoder().decode(LatencyHistogram.self, from: otherUnit) }
        #expect(throws: ControlError.self) { _ = try LoadResult.decode(Data("{}".utf8), path: "x.json") }
    }

    @Test func noFilesIsAnError() {
        #expect(throws: ControlError.self) { _ = try LoadAnalysis(results: [], target: "local", pricePerHour: 0, servers: 1) }
    }
}
