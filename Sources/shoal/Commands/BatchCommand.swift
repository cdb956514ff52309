import ArgumentParser
import Foundation
import Logging
import ShoalBatch
import ShoalInference
import ShoalModels
import ShoalStore
import ShoalTensor

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "Run every record of a JSON Lines file through a model: a resumable batch transform.",
        discussion: """
            Each input line is a JSON object with the text in "text" (--text-field) and an optional "id"; each output \
            line, in input order, is {"id", "embedding"} for an embedding model or {"id", "label", "probabilities"} \
            for a classifier (a record without an id gets its line number). Records that cannot be processed (not \
            JSON, no text, a text over --max-text-bytes, one the model refuses) go to the errors file as {"line", \
            "id", "error"}; the rest are processed. Exit status 0 when every record was written, 2 when some went to \
            the errors file, 1 when the run stopped.
            The model runs in this process (a model folder, a model of --models DIR or of --store URL), batched by \
            the engine as the server batches, --batch-size records a batch; or on a Shoal server or gateway (--url). \
            Input and output are files or s3://BUCKET/KEY objects (an S3 output is staged under --work-dir and \
            uploaded at the end). A checkpoint every --checkpoint-records records makes a killed run resume where \
            it stopped when run again with the same arguments: the output holds every record exactly once.
            With --shard I/N (or --shards N and the index in JOB_COMPLETION_INDEX, as in a Kubernetes Indexed Job) \
            the run processes part I of N contiguous parts and writes OUTPUT.shards/IIIII-of-NNNNN.jsonl; \
            `shoal batch merge` concatenates the parts in order; `shoal batch job` writes the Kubernetes Jobs.
            Example: shoal batch --model ./all-MiniLM-L6-v2 --input texts.jsonl --output embeddings.jsonl
            Example: shoal batch --model minilm --store s3://models/prod --input s3://data/in.jsonl --output s3://data/out.jsonl
            Example: shoal batch --model minilm --url http://127.0.0.1:8080 --input in.jsonl --output out.jsonl
            """,
        subcommands: [BatchRunCommand.self, BatchMergeCommand.self, BatchJobCommand.self],
        defaultSubcommand: BatchRunCommand.self)
}

struct BatchRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the records of the input (or of one shard) through the model; `shoal batch` without a subcommand runs this.",
        discussion: BatchCommand.configuration.discussion)

    @Option(name: .long, help: "The model: a model folder, or a name of --models, --store or the server at --url.")
    var model: String
    @Option(name: .long, help: "JSON Lines in: a file or s3://BUCKET/KEY.")
    var input: String
    @Option(name: .long, help: "JSON Lines out: a file or s3://BUCKET/KEY.")
    var output: String
    @Option(name: .long, help: "Where refused records go (default: beside the output, NAME.errors.jsonl).")
    var errors: String?
    @Option(name: .long, help: "Process only part I of N of the input (e.g. 0/4).")
    var shard: String?
    @Option(name: .long, help: "Process part $JOB_COMPLETION_INDEX of this many parts.")
    var shards: Int?
    @Option(name: .long, help: "A directory of model folders that --model names one of.")
    var models: String?
    @Option(name: .long, help: "A model store that --model names a model of: a folder or s3://BUCKET/PREFIX.")
    var store: String?
    @Option(name: .long, help: "A Shoal server or gateway to send the records to instead of running the model here.")
    var url: String?
    @Option(name: .long, help: "The API key of the server at --url.")
    var apiKey: String?
    @Option(name: .long, help: "The S3 endpoint of S3-compatible input, output or store (default: AWS).")
    var endpointURL: String?
    @Option(name: .long, help: "The S3 region (default: AWS_REGION, ~/.aws/config, else us-east-1).")
    var region: String?
    @Option(name: .long, help: "Where models of an S3 store are cached (default: $SHOAL_CACHE, else ./.shoal/cache).")
    var cacheDir: String?
    @Option(name: .long, help: "Most bytes the cache of an S3 store holds, e.g. 20GiB.")
    var cacheSize = "10GiB"
    @Option(name: .long, help: "Compute threads (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .long, help: "GEMM provider: amx, native or blas (default: SHOAL_GEMM, else the fastest this CPU runs).")
    var gemm: GemmProvider = .preferred
    @Option(name: .long, help: "Truncate inputs to at most this many tokens (default: the model's maximum).")
    var maxLength: Int?
    @Option(name: .long, help: "Truncate texts longer than the model's maximum length (false: refuse them as errors).")
    var truncate = true
    @Option(name: .long, help: "Records per request, and the most inputs of one batch the engine computes.")
    var batchSize = 32
    @Option(name: .long, help: "Requests in flight at once (default: 2 in this process, 4 to --url).")
    var concurrency: Int?
    @Option(name: .long, help: "Records between checkpoints.")
    var checkpointRecords = 1_024
    @Option(name: .long, help: "The field of a record that holds its text.")
    var textField = "text"
    @Option(name: .long, help: "Most UTF-8 bytes of one text; longer records are refused.")
    var maxTextBytes = ServingLimits().maxTextBytes
    @Option(name: .long, help: "Where the checkpoint and staged files live (default: OUTPUT.work beside a local output, else under ./.shoal/batch).")
    var workDir: String?
    @Flag(name: .long, help: "Start over, discarding the checkpoint of an earlier run.")
    var restart = false
    @Flag(name: .long, help: "Print a JSON summary {input, output, errors, shard, model, task, records, failed, resumed, seconds, records_per_second}.")
    var json = false
    @Flag(name: .long, help: "No progress bar.")
    var quiet = false

    func validate() throws {
        _ = try settings()
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        try GemmProvider.validate(gemm)
        guard [models != nil, store != nil, url != nil].filter({ $0 }).count <= 1 else {
            throw ValidationError("pass at most one of --models, --store and --url")
        }
    }

    func run() async throws {
        // Standard output is for the summary; the engine's notes would also break the progress bar's line.
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = .warning
            return handler
        }
        let transform = try BatchTransform(settings: try settings())
        let bar = ModelsProgressBar("batch", enabled: !json && !quiet)
        let progress: @Sendable (BatchProgress) -> Void = { progress in
            bar.draw(progress.bytesDone, progress.bytesTotal) { seconds in
                String(format: "%d records (%d failed), %.0f/s", progress.records, progress.failed,
                       Double(progress.recordsThisRun) / max(seconds, 0.001))
            }
        }
        let summary: BatchSummary
        if let url {
            summary = try await transform.run(try await HTTPBackend(url: url, model: model, apiKey: apiKey), progress: progress)
        } else {
            let (source, name) = try modelSource()
            let inference = try Inference(source: source, configuration: try engineConfiguration())
            summary = try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await inference.run() }
                defer { group.cancelAll() }
                return try await transform.run(try await EngineBackend(inference: inference, model: name), progress: progress)
            }
        }
        bar.finish()
        if json {
            try ModelsOutput.printJSON(summary)
        } else {
            print(String(format: "wrote %d records to %@ in %.1f s (%.0f records/s)%@", summary.records, summary.output,
                         summary.seconds, summary.recordsPerSecond,
                         summary.failed > 0 ? "; \(summary.failed) failed, see \(summary.errors)" : ""))
        }
        if summary.failed > 0 { throw ExitCode(2) }
    }

    /// The run's settings; errors name the option to fix.
    private func settings() throws -> BatchSettings {
        do {
            var settings = BatchSettings(input: try BatchLocation(input, option: "--input"),
                                         output: try BatchLocation(output, option: "--output"), model: model)
            settings.errors = try errors.map { try BatchLocation($0, option: "--errors") }
            settings.shard = try shardOption()
            settings.batchSize = batchSize
            settings.concurrency = concurrency ?? (url == nil ? 2 : 4)
            settings.checkpointRecords = checkpointRecords
            settings.textField = textField
            settings.maxTextBytes = maxTextBytes
            settings.workFolder = workDir.map { URL(fileURLWithPath: $0) }
            settings.restart = restart
            settings.storage = BatchStorage(endpoint: endpointURL, region: region)
            try settings.validate()
            return settings
        } catch let error as BatchError {
            throw ValidationError(error.description)
        }
    }

    private func shardOption() throws -> BatchShard {
        if let shard {
            guard shards == nil else { throw ValidationError("pass --shard I/N or --shards N, not both") }
            return try BatchShard(parsing: shard)
        }
        guard let shards else { return .whole }
        guard let text = ProcessInfo.processInfo.environment["JOB_COMPLETION_INDEX"], let index = Int(text) else {
            throw ValidationError("--shards \(shards) takes the part's index from JOB_COMPLETION_INDEX, which is not set; pass --shard I/\(shards)")
        }
        return try BatchShard(index: index, count: shards)
    }

    /// Where the engine finds the model, and its name there.
    private func modelSource() throws -> (any ModelSource, String) {
        if let models { return (DirectorySource(root: URL(fileURLWithPath: models)), model) }
        if let store {
            let configuration = try StoreConfiguration(url: store, endpoint: endpointURL, region: region)
            let cache = configuration.isRemote
                ? try ModelCache(root: cacheDir.map { URL(fileURLWithPath: $0) } ?? ModelCache.defaultRoot(),
                                 limit: Int64(try size(cacheSize, option: "--cache-size")))
                : nil
            return (try StoreSource(store: try ModelStore(configuration: configuration), cache: cache), model)
        }
        let folder = URL(fileURLWithPath: model)
        guard FileManager.default.fileExists(atPath: folder.appendingPathComponent("config.json").path) else {
            throw ValidationError("--model \(model) is not a model folder (no config.json); pass --models DIR or --store URL to name a model of them, or --url")
        }
        let source = FolderSource(folder: folder)
        return (source, source.name)
    }

    /// The engine's settings: the server's defaults, with batches of at most --batch-size inputs.
    private func engineConfiguration() throws -> InferenceConfiguration {
        var configuration = InferenceConfiguration()
        configuration.threads = threads
        configuration.modelOptions = ModelOptions(provider: gemm, maxSequenceLength: maxLength)
        configuration.limits.maxBatchInputs = batchSize
        configuration.limits.maxTextBytes = maxTextBytes
        // A batch job waits its turn behind its own requests only; the server's 30 s is for interactive clients.
        configuration.limits.requestTimeout = .seconds(3_600)
        configuration.truncate = truncate
        configuration.pinned = []
        return configuration
    }

    private func size(_ text: String, option: String) throws -> Int {
        guard let size = ByteCount(parsing: text) else { throw ValidationError("\(option) \(text) is not \(ByteCount.expected)") }
        return Int(size.bytes)
    }
}

struct BatchMergeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Concatenate the outputs of a sharded batch, in shard order, once every shard has finished.",
        discussion: """
            Reads OUTPUT.shards/IIIII-of-NNNNN.jsonl and .errors.jsonl of each shard and writes OUTPUT and its errors \
            file. A shard has finished when it has left its summary (.done.json); with --wait, waits that long for \
            the last ones. Exit status 2 when some records failed, as for shoal batch.
            Example: shoal batch merge --output s3://data/out.jsonl --shards 8 --wait 3600
            """)

    @Option(name: .long, help: "The output the shards were run with: a file or s3://BUCKET/KEY.")
    var output: String
    @Option(name: .long, help: "Where the refused records of all shards go (default: beside the output).")
    var errors: String?
    @Option(name: .long, help: "How many shards the input was split into.")
    var shards: Int
    @Option(name: .long, help: "Seconds to wait for unfinished shards.")
    var wait = 0.0
    @Option(name: .long, help: "Where the merged files are staged (default: the temporary folder).")
    var workDir: String?
    @Option(name: .long, help: "The S3 endpoint (default: AWS).")
    var endpointURL: String?
    @Option(name: .long, help: "The S3 region (default: AWS_REGION, ~/.aws/config, else us-east-1).")
    var region: String?
    @Flag(name: .long, help: "Print a JSON summary {output, errors, model, task, records, failed, …}.")
    var json = false

    func run() async throws {
        let merge: BatchMerge
        do {
            merge = try BatchMerge(
                output: try BatchLocation(output, option: "--output"), errors: try errors.map { try BatchLocation($0, option: "--errors") },
                shards: shards, storage: BatchStorage(endpoint: endpointURL, region: region),
                workFolder: workDir.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory)
        } catch let error as BatchError {
            throw ValidationError(error.description)
        }
        let summary = try await merge.run(wait: .seconds(max(0, wait)))
        if json {
            try ModelsOutput.printJSON(summary)
        } else {
            print("merged \(shards) shards: \(summary.records) records into \(summary.output)"
                + (summary.failed > 0 ? "; \(summary.failed) failed, see \(summary.errors)" : ""))
        }
        if summary.failed > 0 { throw ExitCode(2) }
    }
}
