import Foundation

/// The merge step of a sharded batch: once every shard has left its summary, concatenates the shards' outputs, and
/// their errors files, in shard order into the output and the errors file of the whole input.
public struct BatchMerge: Sendable {
    /// The output the shards were run with.
    public var output: BatchLocation
    /// The errors file of the whole input (default: beside the output).
    public var errors: BatchLocation?
    /// How many shards the input was split into.
    public var shards: Int
    /// How S3 locations are reached.
    public var storage: BatchStorage
    /// Where the merged files are staged.
    public var workFolder: URL

    /// A merge of the `shards` parts of `output`; refuses a count out of range.
    public init(output: BatchLocation, errors: BatchLocation? = nil, shards: Int, storage: BatchStorage = BatchStorage(),
                workFolder: URL = FileManager.default.temporaryDirectory) throws(BatchError) {
        guard (1...100_000).contains(shards) else { throw .invalidSetting("--shards", reason: "must be within 1...100000") }
        self.output = output
        self.errors = errors
        self.shards = shards
        self.storage = storage
        self.workFolder = workFolder
    }

    /// The shards that have not finished.
    public func unfinished() async throws -> [Int] {
        var missing: [Int] = []
        for index in 0..<shards where try await storage.read(BatchSettings.marker(of: output, try BatchShard(index: index, count: shards))) == nil {
            missing.append(index)
        }
        return missing
    }

    /// Merges the shards' files, waiting up to `wait` (polling every `poll`) for the shards to finish; returns the
    /// sum of their summaries.
    public func run(wait: Duration = .zero, poll: Duration = .seconds(5)) async throws -> BatchSummary {
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        var missing = try await unfinished()
        while !missing.isEmpty && clock.now < deadline {
            try await Task.sleep(for: min(poll, deadline - clock.now))
            missing = try await unfinished()
        }
        guard missing.isEmpty else { throw BatchError.shardsUnfinished(missing, of: shards, output: output.description) }
        let started = clock.now
        var summaries: [BatchSummary] = []
        for index in 0..<shards {
            let shard = try BatchShard(index: index, count: shards)
            guard let data = try await storage.read(BatchSettings.marker(of: output, shard)),
                  let summary = try? JSONDecoder().decode(BatchSummary.self, from: data) else {
                throw BatchError.cannotRead(BatchSettings.marker(of: output, shard).description, reason: "not a shard's summary")
            }
            summaries.append(summary)
        }
        let errors = errors ?? output.errorsLocation
        try await concatenate(suffix: ".jsonl", into: output)
        try await concatenate(suffix: ".errors.jsonl", into: errors)
        let seconds = (clock.now - started) / .seconds(1)
        let first = summaries[0]
        return BatchSummary(
            input: first.input, output: output.description, errors: errors.description, shard: nil, model: first.model,
            task: first.task, records: summaries.reduce(0) { $0 + $1.records }, failed: summaries.reduce(0) { $0 + $1.failed },
            resumed: 0, seconds: seconds, recordsPerSecond: 0)
    }

    /// Appends every shard's part ending in `suffix` into one staged file, then puts it at `destination`.
    private func concatenate(suffix: String, into destination: BatchLocation) async throws {
        let staged = workFolder.appendingPathComponent("shoal-merge-\(UUID().uuidString)")
        let part = workFolder.appendingPathComponent("shoal-merge-part-\(UUID().uuidString)")
        defer {
            try? FileManager.default.removeItem(at: staged)
            try? FileManager.default.removeItem(at: part)
        }
        let merged = try AppendFile(path: staged.path, truncate: true)
        for index in 0..<shards {
            let location = BatchSettings.part(of: output, try BatchShard(index: index, count: shards), suffix)
            guard let size = try await storage.size(of: location) else {
                throw BatchError.cannotRead(location.description, reason: "the shard finished but its file is missing")
            }
            let source: URL
            if case .file(let url) = location {
                source = url
            } else {
                try await storage.download(location, size: size, to: part)
                source = part
            }
            try Self.append(source, to: merged)
        }
        try merged.sync()
        try await storage.upload(staged, to: destination)
    }

    private static func append(_ file: URL, to merged: AppendFile) throws {
        guard let handle = FileHandle(forReadingAtPath: file.path) else {
            throw BatchError.cannotRead(file.path, reason: "no such file or not readable")
        }
        defer { try? handle.close() }
        while let block = try handle.read(upToCount: 4 << 20), !block.isEmpty {
            try merged.append(Array(block))
        }
    }
}
