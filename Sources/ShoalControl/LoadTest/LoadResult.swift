import Foundation
import ShoalStore

/// Everything one load-test run measured: written by `shoal test … --out FILE`, read by `shoal test bma`.
public struct LoadResult: Codable, Sendable, Equatable {
    /// Completions in one second of the run.
    public struct Interval: Codable, Sendable, Equatable {
        /// Seconds since the start.
        public var second: Int
        public var completed: Int
        public var ok: Int
    }

    /// Layout revision of this file.
    public var format = 2
    public var settings: LoadSettings
    public var machine: MachineFacts
    public var started: Date
    /// Seconds from the first request to the last completion.
    public var durationS: Double
    /// Requests started.
    public var sent: Int
    /// Requests answered or failed.
    public var completed: Int
    /// Requests answered with a 2xx status.
    public var ok: Int
    /// Responses by HTTP status code.
    public var statusCounts: [String: Int]
    /// Failures by kind: `http_503`, `timeout`, `connect`, `closed`, `other`.
    public var errors: [String: Int]
    public var timeline: [Interval]
    /// Latencies of successful requests.
    public var latency: LatencyHistogram
    /// Latencies of successful requests per model.
    public var perModel: [String: LatencyHistogram]
    /// Failures per model, by kind as in `errors`.
    public var modelErrors: [String: [String: Int]]

    /// Successful requests per second over the run.
    public var throughput: Double { durationS > 0 ? Double(ok) / durationS : 0 }

    public func encoded() throws -> Data {
        try ShoalJSON.encoder(pretty: false).encode(self)
    }

    /// Reads a result file; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws -> LoadResult {
        do {
            return try ShoalJSON.decoder().decode(LoadResult.self, from: data)
        } catch {
            throw ControlError.file(path: path, reason: "is not a load-test result (\(error)); write one with `shoal test bmk --out FILE`")
        }
    }

    /// Reads the result file at `path`.
    public static func read(_ path: String) throws -> LoadResult {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ControlError.file(path: path, reason: "cannot be read")
        }
        return try decode(data, path: path)
    }
}
