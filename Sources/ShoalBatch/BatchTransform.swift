import Foundation
import ShoalInference
#if canImport(Glibc)
import Glibc
#endif

/// A batch transform: reads the records of its input (or of its shard), runs their texts through a backend in
/// requests of `batchSize`, `concurrency` at a time, and appends the results in input order to the output and the
/// refused records to the errors file, with a checkpoint every `checkpointRecords` records. Run again with the same
/// settings after being killed, it cuts both files back to the last checkpoint and goes on from there, so each record
/// is written exactly once.
public struct BatchTransform: Sendable {
    /// What it reads and writes.
    public let settings: BatchSettings

    /// A transform with `settings`, which it checks.
    public init(settings: BatchSettings) throws(BatchError) {
        try settings.validate()
        self.settings = settings
    }

    /// Consecutive lines holding at most `batchSize` records, sent as one request.
    private struct Unit: Sendable {
        var records: [BatchRecord] = []
        var refusals: [(line: Int, id: String?, reason: String)] = []
        var lines = 0
        var end: Int64 = 0
        var nextLine = 0
    }

    /// A unit's lines of output and of errors.
    private struct Done: Sendable {
        var output: [UInt8] = []
        var errors: [UInt8] = []
        var records = 0
        var failed = 0
        var end: Int64 = 0
        var nextLine = 0
    }

    /// Runs the transform to the end of its input (or resumes it) and returns what it did.
    public func run(_ backend: any BatchBackend, progress: (@Sendable (BatchProgress) -> Void)? = nil) async throws -> BatchSummary {
        let clock = ContinuousClock()
        let started = clock.now
        let work = settings.resolvedWorkFolder
        let manager = FileManager.default
        do {
            try manager.createDirectory(at: work, withIntermediateDirectories: true)
        } catch {
            throw BatchError.cannotWrite(work.path, reason: "\(error)")
        }
        let lock = try AppendFile(path: work.appendingPathComponent("lock").path)
        guard lock.tryLock() else {
            throw BatchError.cannotWrite(work.path, reason: "another run of this output is using it; wait for it or stop it")
        }
        let checkpointFile = work.appendingPathComponent("checkpoint.json")
        if settings.restart { try? manager.removeItem(at: checkpointFile) }
        let (input, size) = try await stagedInput(in: work)
        let (range, firstLine) = try settings.shard.range(in: input, size: size)
        let run = [settings.input.description, String(size), settings.shard.description, settings.model, backend.task,
                   settings.textField, String(settings.batchSize), String(settings.maxTextBytes)].joined(separator: "|")
        var checkpoint = try BatchCheckpoint.load(checkpointFile)
            ?? BatchCheckpoint(run: run, inputOffset: range.lowerBound, line: firstLine, records: 0, failed: 0, outputBytes: 0, errorBytes: 0)
        guard checkpoint.run == run else { throw BatchError.otherRun(checkpoint: checkpointFile.path) }
        let outputFile = Self.local(settings.shardOutput, staged: work.appendingPathComponent("output.jsonl"))
        let errorsFile = Self.local(settings.shardErrors, staged: work.appendingPathComponent("errors.jsonl"))
        for file in [outputFile, errorsFile] {
            try? manager.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        }
        let output = try AppendFile(path: outputFile.path)
        let errors = try AppendFile(path: errorsFile.path)
        try output.resume(at: checkpoint.outputBytes)
        try errors.resume(at: checkpoint.errorBytes)
        let resumed = checkpoint.records + checkpoint.failed
        let startOffset = checkpoint.inputOffset
        let reader = try LineReader(file: input, range: checkpoint.inputOffset..<range.upperBound, firstLine: checkpoint.line)

        var sinceCheckpoint = 0
        func save() throws {
            try output.sync()
            try errors.sync()
            try checkpoint.save(to: checkpointFile)
            sinceCheckpoint = 0
        }
        func emit(_ done: Done) throws {
            try output.append(done.output)
            try errors.append(done.errors)
            checkpoint.records += done.records
            checkpoint.failed += done.failed
            checkpoint.outputBytes += Int64(done.output.count)
            checkpoint.errorBytes += Int64(done.errors.count)
            checkpoint.inputOffset = done.end
            checkpoint.line = done.nextLine
            sinceCheckpoint += done.records + done.failed
            if sinceCheckpoint >= settings.checkpointRecords { try save() }
            progress?(BatchProgress(
                records: checkpoint.records + checkpoint.failed, failed: checkpoint.failed,
                bytesDone: done.end - startOffset, bytesTotal: range.upperBound - startOffset,
                recordsThisRun: checkpoint.records + checkpoint.failed - resumed))
        }

        try await withThrowingTaskGroup(of: (Int, Done).self) { group in
            var waiting: [Int: Done] = [:]
            var next = 0, issued = 0, inFlight = 0
            func collect() async throws {
                guard let (index, done) = try await group.next() else { return }
                inFlight -= 1
                waiting[index] = done
                while let ready = waiting.removeValue(forKey: next) {
                    try emit(ready)
                    next += 1
                }
            }
            while let unit = try readUnit(from: reader) {
                let index = issued
                issued += 1
                inFlight += 1
                group.addTask { (index, try await Self.process(unit, with: backend)) }
                if inFlight >= settings.concurrency { try await collect() }
            }
            while inFlight > 0 { try await collect() }
        }
        try save()
        try await finish(output: outputFile, errors: errorsFile)
        let seconds = (clock.now - started) / .seconds(1)
        let summary = BatchSummary(
            input: settings.input.description, output: settings.shardOutput.description,
            errors: settings.shardErrors.description, shard: settings.shard.isWhole ? nil : settings.shard.description,
            model: settings.model, task: backend.task, records: checkpoint.records, failed: checkpoint.failed,
            resumed: resumed, seconds: seconds,
            recordsPerSecond: seconds > 0 ? Double(checkpoint.records + checkpoint.failed - resumed) / seconds : 0)
        if !settings.shard.isWhole {
            try await settings.storage.write(
                try JSONEncoder().encode(summary), to: BatchSettings.marker(of: settings.output, settings.shard), staging: work)
        }
        try? manager.removeItem(at: work)
        withExtendedLifetime(lock) {}
        return summary
    }

    /// The local file the input is read from, and its size: a local input itself, an S3 one downloaded into the
    /// work folder once (a resumed run finds it there).
    private func stagedInput(in work: URL) async throws -> (URL, Int64) {
        guard let size = try await settings.storage.size(of: settings.input) else {
            throw BatchError.cannotRead(settings.input.description, reason: "no such file or object")
        }
        if case .file(let url) = settings.input { return (url, size) }
        let staged = work.appendingPathComponent("input.jsonl")
        let stagedSize = (try? FileManager.default.attributesOfItem(atPath: staged.path)[.size] as? NSNumber)?.int64Value
        if stagedSize != size {
            let partial = work.appendingPathComponent("input.jsonl.partial")
            try await settings.storage.download(settings.input, size: size, to: partial)
            guard rename(partial.path, staged.path) == 0 else {
                throw BatchError.cannotWrite(staged.path, reason: String(cString: strerror(errno)))
            }
        }
        return (staged, size)
    }

    /// Puts staged outputs where they belong (uploads them to S3); local outputs were written in place.
    private func finish(output: URL, errors: URL) async throws {
        if settings.shardOutput.isRemote { try await settings.storage.upload(output, to: settings.shardOutput) }
        if settings.shardErrors.isRemote { try await settings.storage.upload(errors, to: settings.shardErrors) }
    }

    /// The file written for `location`: the file itself, or `staged` for an S3 object.
    private static func local(_ location: BatchLocation, staged: URL) -> URL {
        if case .file(let url) = location { return url }
        return staged
    }

    /// The next lines holding `batchSize` records (fewer at the end), nil at the end of the input.
    private func readUnit(from reader: LineReader) throws(BatchError) -> Unit? {
        var unit = Unit()
        while unit.records.count < settings.batchSize, let line = try reader.next() {
            unit.lines += 1
            unit.end = line.end
            unit.nextLine = line.number + 1
            do {
                if let record = try BatchRecord.parse(
                    line.bytes, line: line.number, textField: settings.textField, maxTextBytes: settings.maxTextBytes) {
                    unit.records.append(record)
                }
            } catch {
                unit.refusals.append((line.number, error.id, error.reason))
            }
        }
        return unit.lines == 0 ? nil : unit
    }

    /// Runs a unit's texts in one request; when the model refuses it, runs them one by one so that only the
    /// refused records fail.
    private static func process(_ unit: Unit, with backend: any BatchBackend) async throws -> Done {
        var predictions: [BatchPrediction?] = []
        var refusals = unit.refusals
        if !unit.records.isEmpty {
            do {
                predictions = try await backend.predict(unit.records.map(\.text))
            } catch let refusal as BatchRefusal {
                guard unit.records.count > 1 else {
                    predictions = [nil]
                    refusals.append((unit.records[0].line, unit.records[0].id, refusal.reason))
                    return encode(unit, predictions, refusals)
                }
                for record in unit.records {
                    do {
                        predictions.append(try await backend.predict([record.text]).first)
                    } catch let refusal as BatchRefusal {
                        predictions.append(nil)
                        refusals.append((record.line, record.id, refusal.reason))
                    }
                }
            }
            guard predictions.count == unit.records.count else {
                throw BatchError.inference("\(predictions.count) outputs came back for \(unit.records.count) texts")
            }
        }
        return encode(unit, predictions, refusals)
    }

    private static func encode(_ unit: Unit, _ predictions: [BatchPrediction?],
                               _ refusals: [(line: Int, id: String?, reason: String)]) -> Done {
        var done = Done(end: unit.end, nextLine: unit.nextLine)
        var output = JSONWriter(capacity: unit.records.count * 4_096), errors = JSONWriter(capacity: 0)
        for (record, prediction) in zip(unit.records, predictions) {
            guard let prediction else { continue }
            BatchLine.output(id: record.id, prediction, into: &output)
            done.records += 1
        }
        for refusal in refusals.sorted(by: { $0.line < $1.line }) {
            BatchLine.error(line: refusal.line, id: refusal.id, reason: refusal.reason, into: &errors)
            done.failed += 1
        }
        done.output = output.bytes
        done.errors = errors.bytes
        return done
    }
}
