import Histogram

/// Latencies in microseconds in an HdrHistogram (3 significant digits, 1 µs to 1 hour). Serialised sparsely
/// as `[value, count]` pairs of its non-empty buckets, so that result files stay small and histograms from
/// any number of files merge exactly.
public struct LatencyHistogram: Sendable, Equatable, Codable {
    /// Values above this are recorded as this (an hour, in microseconds).
    public static let highest: UInt64 = 3_600_000_000

    public private(set) var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: highest, numberOfSignificantValueDigits: .three)

    public init() {}

    /// Records one latency.
    public mutating func record(microseconds: UInt64) {
        _ = histogram.record(min(max(microseconds, 1), Self.highest))
    }

    /// Records one latency given in seconds.
    public mutating func record(seconds: Double) {
        record(microseconds: UInt64(max(0, seconds * 1e6).rounded()))
    }

    /// Adds every sample of `other`: the exact histogram of both sample sets.
    public mutating func add(_ other: LatencyHistogram) {
        histogram.add(other.histogram)
    }

    public var count: UInt64 { histogram.totalCount }

    /// The value at `percentile` (0...100) in milliseconds; 0 when empty.
    public func milliseconds(atPercentile percentile: Double) -> Double {
        count == 0 ? 0 : Double(histogram.valueAtPercentile(percentile)) / 1_000
    }

    public var maxMilliseconds: Double { count == 0 ? 0 : Double(histogram.max) / 1_000 }
    public var meanMilliseconds: Double { count == 0 ? 0 : histogram.mean / 1_000 }

    public static func == (lhs: LatencyHistogram, rhs: LatencyHistogram) -> Bool { lhs.buckets == rhs.buckets }

    /// `[value, count]` of every non-empty bucket, lowest first.
    var buckets: [[UInt64]] {
        histogram.recordedValues().map { [$0.value, UInt64($0.count)] }
    }

    enum CodingKeys: String, CodingKey {
        case unit, significantDigits, total, buckets
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let unit = try container.decode(String.self, forKey: .unit)
        let digits = try container.decode(Int.self, forKey: .significantDigits)
        guard unit == "us", digits == 3 else {
            throw DecodingError.dataCorruptedError(forKey: .unit, in: container,
                                                   debugDescription: "expected unit us and 3 significant digits, got \(unit) and \(digits)")
        }
        for bucket in try container.decode([[UInt64]].self, forKey: .buckets) {
            guard bucket.count == 2 else {
                throw DecodingError.dataCorruptedError(forKey: .buckets, in: container, debugDescription: "a bucket is [microseconds, count]")
            }
            // The top bucket's value may lie just past `highest`; it is the same bucket.
            _ = histogram.record(min(max(bucket[0], 1), Self.highest), count: bucket[1])
        }
        let total = try container.decode(UInt64.self, forKey: .total)
        guard total == count else {
            throw DecodingError.dataCorruptedError(forKey: .total, in: container,
                                                   debugDescription: "total \(total) differs from the buckets' sum \(count)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode("us", forKey: .unit)
        try container.encode(3, forKey: .significantDigits)
        try container.encode(count, forKey: .total)
        try container.encode(buckets, forKey: .buckets)
    }
}
