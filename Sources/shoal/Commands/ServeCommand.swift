import ArgumentParser
import Foundation
import Logging
import ShoalInference
import ShoalModels
import ShoalServer
import ShoalStore
import ShoalTensor

extension Logger.Level: @retroactive ExpressibleByArgument {}

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve every model folder of a directory over HTTP.",
        discussion: """
            Routes: KServe Open Inference Protocol v2 (/v2/...), with the model repository extension; OpenAI \
            POST /v1/embeddings; the reference system's GET|POST /predictions/{model}; GET /metrics (Prometheus); \
            GET /openapi.json. Models load on first use and the least recently used idle ones are evicted to stay \
            within --memory-budget. With --api-key, every route but /v2/health/* needs `Authorization: Bearer KEY`. \
            SIGTERM or SIGINT drains: readiness turns 503, admitted requests finish, then the server exits.
            Sizes take KiB, MiB, GiB (also written K, M, G), KB, MB, GB (powers of 1000) or bytes; durations take us, ms, s, m (e.g. 4GiB, 30s, 2ms).
            With --store, serves the latest version of every model of a model store (a folder, or s3://BUCKET/PREFIX \
            through a local cache of --cache-size), checking each version's sha256 before loading it.
            Example: shoal serve --models ./models --memory-budget 4GiB --pin minilm --port 8080
            Example: shoal serve --store s3://models/prod --endpoint-url http://127.0.0.1:9000 --memory-budget 2GiB
            With --async-dir, a POST to an inference route with `Prefer: respond-async` is written to a durable queue \
            and answered 202 with its id; GET /v2/async/ID gives its status and result (see docs/ASYNC.md).
            """)

    @Option(name: .long, help: "A directory of model folders; each is served under its folder name (symbolic links followed).")
    var models: String?
    @Option(name: .long, help: "A model store to serve instead: a folder or s3://BUCKET/PREFIX.")
    var store: String?
    @Option(name: .long, help: "The S3 endpoint of an S3-compatible store (default: AWS).")
    var endpointURL: String?
    @Option(name: .long, help: "The S3 region of the store (default: AWS_REGION, ~/.aws/config, else us-east-1).")
    var region: String?
    @Option(name: .long, help: "Where models of an S3 store are cached (default: $SHOAL_CACHE, else ./.shoal/cache).")
    var cacheDir: String?
    @Option(name: .long, help: "Most bytes the cache of an S3 store holds, e.g. 20GiB.")
    var cacheSize = "10GiB"
    @Option(name: .long, help: "The address to bind.")
    var host = "127.0.0.1"
    @Option(name: .long, help: "The port to bind (0 picks a free one).")
    var port = 8080
    @Option(name: .long, help: "Threads of the compute pool every batch runs on; the default is the number of cores.")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Option(name: .long, help: "GEMM provider: amx, native or blas; the default is SHOAL_GEMM, else the fastest this CPU runs.")
    var gemm: GemmProvider = .preferred
    @Option(name: .long, help: "Cap every model's maximum input length at this many tokens (default: each model's own).")
    var maxLength: Int?
    @Option(name: .long, help: "Bytes of model parameters to hold in memory, e.g. 4GiB (default: no limit).")
    var memoryBudget: String?
    @Option(name: .long, help: "A model never to evict, loaded at start-up (repeatable).")
    var pin: [String] = []
    @Option(name: .long, help: "Most tokens in one batch.")
    var maxBatchTokens = ServingLimits().maxBatchTokens
    @Option(name: .long, help: "Most inputs (texts) in one batch.")
    var maxBatchInputs = ServingLimits().maxBatchInputs
    @Option(name: .long, help: "How long a queue's oldest input may wait for a fuller batch when compute is free (default: \(ServingLimits().maxQueueDelay)).")
    var maxQueueDelay: String?
    @Option(name: .long, help: "Most inputs waiting per model; beyond it requests get 429 with Retry-After.")
    var maxQueueSize = ServingLimits().maxQueuedInputs
    @Option(name: .long, help: "How long a request may take before it fails with 503 (default: \(ServingLimits().requestTimeout)).")
    var requestTimeout: String?
    @Option(name: .long, help: "Most bytes in one request body (413 beyond).")
    var maxBodySize = "4MiB"
    @Option(name: .long, help: "Most texts in one request (413 beyond).")
    var maxInputs = ServingLimits().maxInputsPerRequest
    @Option(name: .long, help: "Most UTF-8 bytes in one text (413 beyond).")
    var maxTextBytes = ServingLimits().maxTextBytes
    @Option(name: .long, help: "Truncate texts longer than the model's maximum length (false: refuse them with 422).")
    var truncate = true
    @Option(name: .long, help: "An API key clients must send as `Authorization: Bearer KEY` (repeatable).")
    var apiKey: [String] = []
    @Option(name: .long, help: "A file of API keys, one per line.")
    var apiKeyFile: String?
    @Option(name: .long, help: "How long readiness answers 503 on shutdown before the server stops accepting.")
    var drainDelay = "0s"
    @Option(name: .long, help: "How long a connection may stay silent (idle between requests, or sending one) before the server closes it; 0 for no limit.")
    var idleTimeout = "75s"
    @Option(name: .long, help: "Most connections open at once; beyond it the one longest without a request head is closed, or 503 when all are busy (default: the open-file limit less 64).")
    var maxConnections: Int?
    @Option(name: .long, help: "Models with their own series in /metrics: this many of the busiest, plus the pinned ones (GET /v2/models/NAME/stats has any one).")
    var metricsModels = 20
    @Option(name: .long, help: "Take asynchronous requests (`Prefer: respond-async`): queue them durably in DIR/queue.")
    var asyncDir: String?
    @Option(name: .long, help: "Where results of asynchronous requests go, under async-results/, and input locations are read: a folder or s3://BUCKET/PREFIX (default: --store, else --async-dir).")
    var asyncResults: String?
    @Option(name: .long, help: "Most asynchronous requests queued or running; beyond it 429.")
    var asyncMaxQueued = 10_000
    @Option(name: .long, help: "Asynchronous requests run at once, each when no real-time input is queued.")
    var asyncConcurrency = 1
    @Option(name: .long, help: "How long an asynchronous request may wait to start unless it sends Shoal-Deadline-Seconds.")
    var asyncDeadline = "60m"
    @Option(name: .long, help: "Hosts a Shoal-Callback-URL may name, separated by commas: host, *.domain or address, each with an optional :PORT (default: none, so no callbacks).")
    var asyncCallbackHosts = ""
    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .info

    func validate() throws {
        guard (models == nil) != (store == nil) else { throw ValidationError("pass either --models DIR or --store URL") }
        var isDirectory: ObjCBool = false
        if let models, !(FileManager.default.fileExists(atPath: models, isDirectory: &isDirectory) && isDirectory.boolValue) {
            throw ValidationError("--models \(models) is not a directory")
        }
        _ = try modelSource()
        guard (0...65_535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
        try GemmProvider.validate(gemm)
        if let maxLength, maxLength < 2 { throw ValidationError("--max-length must be at least 2") }
        if let name = pin.first(where: { !ModelReference.isValidName($0) }) {
            throw ValidationError("--pin \(name): \(ModelReference.nameRule)")
        }
        _ = try serverConfiguration()
    }

    func run() async throws {
        let level = logLevel
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var configuration = try serverConfiguration()
        configuration.logger = Logger(label: "shoal.server")
        let logger = configuration.logger
        let server = try Server(source: try modelSource(), configuration: configuration)
        let models = models ?? store ?? ""
        let address = host
        try await server.run { port in
            logger.info("serving", metadata: ["address": "http://\(address):\(port)", "models": "\(models)"])
        }
    }

    /// The folder of model folders, or the model store (with its cache when it is remote).
    private func modelSource() throws -> any ModelSource {
        guard models == nil, let store else { return DirectorySource(root: URL(fileURLWithPath: models ?? ".")) }
        let configuration = try StoreConfiguration(url: store, endpoint: endpointURL, region: region)
        let cache = configuration.isRemote
            ? try ModelCache(root: cacheDir.map { URL(fileURLWithPath: $0) } ?? ModelCache.defaultRoot(),
                             limit: Int64(try Self.size(cacheSize, option: "--cache-size")))
            : nil
        return try StoreSource(store: try ModelStore(configuration: configuration), cache: cache)
    }

    /// The settings of the options, each checked with an error naming its option.
    private func serverConfiguration() throws -> ServerConfiguration {
        var server = ServerConfiguration()
        server.host = host
        server.port = port
        server.maxBodyBytes = try Self.size(maxBodySize, option: "--max-body-size")
        server.apiKeys = try apiKeys()
        server.drainDelay = try Self.duration(drainDelay, option: "--drain-delay")
        let idle = try Self.duration(idleTimeout, option: "--idle-timeout")
        server.idleTimeout = idle == .zero ? nil : idle
        if let maxConnections {
            guard maxConnections >= 1 else { throw ValidationError("--max-connections must be at least 1") }
            server.maxConnections = maxConnections
        }
        guard (0...10_000).contains(metricsModels) else { throw ValidationError("--metrics-models must be within 0...10000") }
        server.metricsModels = metricsModels
        var engine = InferenceConfiguration()
        engine.threads = threads
        engine.modelOptions = ModelOptions(provider: gemm, maxSequenceLength: maxLength)
        engine.limits.maxBatchTokens = maxBatchTokens
        engine.limits.maxBatchInputs = maxBatchInputs
        if let maxQueueDelay { engine.limits.maxQueueDelay = try Self.duration(maxQueueDelay, option: "--max-queue-delay") }
        engine.limits.maxQueuedInputs = maxQueueSize
        if let requestTimeout { engine.limits.requestTimeout = try Self.duration(requestTimeout, option: "--request-timeout") }
        engine.limits.memoryBudget = try memoryBudget.map { try Self.size($0, option: "--memory-budget") }
        engine.limits.maxInputsPerRequest = maxInputs
        engine.limits.maxTextBytes = maxTextBytes
        engine.pinned = Set(pin)
        engine.truncate = truncate
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard server.maxBodyBytes >= 1 else { throw ValidationError("--max-body-size must be positive") }
        if let violation = engine.limits.violation { throw ValidationError(violation.description) }
        server.inference = engine
        server.asynchronous = try asyncSettings()
        return server
    }

    /// The asynchronous queue's settings, when --async-dir is given: results and input locations in the
    /// model store, or in the folder beside the queue.
    private func asyncSettings() throws -> AsyncSettings? {
        guard let asyncDir else { return nil }
        let folder = URL(fileURLWithPath: asyncDir)
        let backend: any StoreBackend = try (asyncResults ?? store).map {
            try ModelStore(configuration: try StoreConfiguration(url: $0, endpoint: endpointURL, region: region)).backend
        } ?? FileSystemBackend(root: folder)
        var settings = AsyncSettings(queue: folder.appendingPathComponent("queue"), results: backend)
        settings.inputs = backend
        guard asyncMaxQueued >= 1 else { throw ValidationError("--async-max-queued must be at least 1") }
        guard (1...64).contains(asyncConcurrency) else { throw ValidationError("--async-concurrency must be within 1...64") }
        settings.maxQueued = asyncMaxQueued
        settings.concurrency = asyncConcurrency
        settings.defaultDeadline = try Self.duration(asyncDeadline, option: "--async-deadline")
        guard settings.defaultDeadline > .zero else { throw ValidationError("--async-deadline must be positive") }
        do {
            settings.callbackHosts = try CallbackHosts(asyncCallbackHosts)
        } catch {
            throw ValidationError("--async-callback-hosts: \(error)")
        }
        return settings
    }

    private func apiKeys() throws -> [String] {
        var keys = apiKey
        if let apiKeyFile {
            guard let text = try? String(contentsOfFile: apiKeyFile, encoding: .utf8) else {
                throw ValidationError("--api-key-file \(apiKeyFile) cannot be read")
            }
            keys += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            guard !keys.isEmpty else { throw ValidationError("--api-key-file \(apiKeyFile) holds no key") }
        }
        if keys.contains(where: { $0.isEmpty || $0.contains(where: \.isWhitespace) }) {
            throw ValidationError("--api-key must not be empty or contain spaces")
        }
        return keys
    }

    /// Bytes of a size such as `4GiB`, `4G`, `512MB` or `1048576`, with `shoal.yaml`'s meaning of each unit.
    private static func size(_ text: String, option: String) throws -> Int {
        guard let size = ByteCount(parsing: text) else { throw ValidationError("\(option) \(text) is not \(ByteCount.expected)") }
        return Int(size.bytes)
    }

    /// A duration such as `30s`, `2ms` or `500us`.
    private static func duration(_ text: String, option: String) throws -> Duration {
        let units: [(String, Double)] = [("us", 1e-6), ("µs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60)]
        let (number, scale) = split(text, units: units)
        guard let value = Double(number), value >= 0, value * scale < 1e9 else {
            throw ValidationError("\(option) \(text) is not a duration such as 30s, 2ms or 500us")
        }
        return .nanoseconds(Int64((value * scale * 1e9).rounded()))
    }

    private static func split(_ text: String, units: [(String, Double)]) -> (String, Double) {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let (suffix, scale) = units.first(where: { trimmed.hasSuffix($0.0) }) else { return (trimmed, 1) }
        return (String(trimmed.dropLast(suffix.count)).trimmingCharacters(in: .whitespaces), scale)
    }
}
