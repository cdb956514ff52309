import Foundation
import ShoalStore

/// What one batch transform reads, writes and how it batches; checked once by `validate()`.
public struct BatchSettings: Sendable {
    /// JSON Lines, one record a line: `{"id": …, "text": "…"}`.
    public var input: BatchLocation
    /// JSON Lines out, one line per processed record, in input order. With several shards, the merged output: each
    /// shard writes `OUTPUT.shards/IIIII-of-NNNNN.jsonl`.
    public var output: BatchLocation
    /// Where refused records go (default: beside the output, `NAME.errors.jsonl`).
    public var errors: BatchLocation?
    /// The part of the input this run processes.
    public var shard = BatchShard.whole
    /// The name the model is known by, for the checkpoint and the summary.
    public var model: String
    /// Records per request to the model.
    public var batchSize = 32
    /// Requests in flight at once: with 2, the next request is read and tokenized while one computes.
    public var concurrency = 2
    /// Records between checkpoints.
    public var checkpointRecords = 1_024
    /// The field of a record that holds its text.
    public var textField = "text"
    /// Most UTF-8 bytes of one text; longer records are refused (the server's limit).
    public var maxTextBytes = ServingLimits().maxTextBytes
    /// Where the checkpoint and the staged files of a run live (default: beside a local output, `OUTPUT.work`;
    /// for an S3 output, under `./.shoal/batch/`).
    public var workFolder: URL?
    /// Start over, discarding the checkpoint of an earlier run.
    public var restart = false
    /// How S3 locations are reached.
    public var storage = BatchStorage()

    /// A run of `model` from `input` to `output`, with the other settings' defaults.
    public init(input: BatchLocation, output: BatchLocation, model: String) {
        self.input = input
        self.output = output
        self.model = model
    }

    /// Throws an error naming the first setting out of range.
    public func validate() throws(BatchError) {
        guard (1...ServingLimits().maxInputsPerRequest).contains(batchSize) else {
            throw .invalidSetting("--batch-size", reason: "must be within 1...\(ServingLimits().maxInputsPerRequest)")
        }
        guard (1...64).contains(concurrency) else { throw .invalidSetting("--concurrency", reason: "must be within 1...64") }
        guard checkpointRecords >= 1 else { throw .invalidSetting("--checkpoint-records", reason: "must be at least 1") }
        guard !textField.isEmpty else { throw .invalidSetting("--text-field", reason: "must not be empty") }
        guard input != output, input != errorsLocation else {
            throw .invalidSetting("--output", reason: "the input cannot also be an output")
        }
    }

    /// The errors file of the whole run.
    public var errorsLocation: BatchLocation { errors ?? output.errorsLocation }

    /// Where this shard's output goes: the output itself, or its part among the shards.
    public var shardOutput: BatchLocation {
        shard.isWhole ? output : Self.part(of: output, shard, ".jsonl")
    }

    /// Where this shard's refused records go.
    public var shardErrors: BatchLocation {
        shard.isWhole ? errorsLocation : Self.part(of: output, shard, ".errors.jsonl")
    }

    /// A shard's part of an output: `OUTPUT.shards/IIIII-of-NNNNN` + `suffix`.
    static func part(of output: BatchLocation, _ shard: BatchShard, _ suffix: String) -> BatchLocation {
        output.appending(".shards/\(shard.name)\(suffix)")
    }

    /// The summary a finished shard leaves for the merge.
    static func marker(of output: BatchLocation, _ shard: BatchShard) -> BatchLocation {
        part(of: output, shard, ".done.json")
    }

    /// The folder of this run's checkpoint and staged files.
    var resolvedWorkFolder: URL {
        if let workFolder { return workFolder }
        if case .file(let url) = shardOutput { return URL(fileURLWithPath: url.path + ".work") }
        let name = shardOutput.description.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "." ? $0 : "_" }
        return URL(fileURLWithPath: ".shoal/batch").appendingPathComponent(String(name.suffix(200)) + ".work")
    }
}

/// What a run or a merge did, as `--json` prints it.
public struct BatchSummary: Codable, Sendable, Equatable {
    /// The input read.
    public var input: String
    /// The output written (a shard's part, for a shard).
    public var output: String
    /// The errors file written.
    public var errors: String
    /// `I/N`, or nil for the whole input.
    public var shard: String?
    /// The model, as it was named.
    public var model: String
    /// `embedding` or `classification`.
    public var task: String
    /// Records written to the output.
    public var records: Int
    /// Records written to the errors file.
    public var failed: Int
    /// Records (written or failed) that an earlier, interrupted run had done.
    public var resumed: Int
    /// Seconds this run took.
    public var seconds: Double
    /// Records (written or failed) per second of this run.
    public var recordsPerSecond: Double
}

/// How far a run is, for a progress bar.
public struct BatchProgress: Sendable {
    /// Records written or failed, this run and the ones before.
    public var records: Int
    /// Of them, failed.
    public var failed: Int
    /// Input bytes this run has processed.
    public var bytesDone: Int64
    /// Input bytes this run had to process when it started.
    public var bytesTotal: Int64
    /// Records this run has done, for its rate.
    public var recordsThisRun: Int
}
