import Foundation

/// What the store knows of one published model version; written as `manifest.json` beside its files.
public struct Manifest: Codable, Sendable, Equatable {
    /// The file name of a manifest inside a version folder.
    public static let fileName = "manifest.json"

    /// One file of the version, relative to the version folder.
    public struct File: Codable, Sendable, Equatable {
        /// `/`-separated path inside the version folder.
        public var path: String
        /// Lower-case hex sha256 of the bytes.
        public var sha256: String
        /// Bytes.
        public var size: Int64

        public init(path: String, sha256: String, size: Int64) {
            self.path = path
            self.sha256 = sha256
            self.size = size
        }
    }

    /// Memory the model needs when loaded.
    public struct Footprint: Codable, Sendable, Equatable {
        /// Bytes of parameters in memory (a derived model counts only its head).
        public var weightBytes: Int
        /// Activation bytes one token of a batch needs.
        public var activationBytesPerToken: Int
        /// The arithmetic the figures were measured with: `fp32` or `bf16x3`.
        public var precision: String

        public init(weightBytes: Int, activationBytesPerToken: Int, precision: String) {
            self.weightBytes = weightBytes
            self.activationBytesPerToken = activationBytesPerToken
            self.precision = precision
        }
    }

    /// The model another one shares its encoder with.
    public struct BaseReference: Codable, Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var version: String

        public init(name: String, version: String) {
            self.name = name
            self.version = version
        }

        public var description: String { "\(name)@\(version)" }
    }

    /// Latency and throughput per batch shape, measured on the importing machine.
    public struct Profile: Codable, Sendable, Equatable {
        /// One measured batch shape.
        public struct Measurement: Codable, Sendable, Equatable {
            public var workload: String
            public var batch: Int
            public var tokensPerSequence: Double
            public var latencyP50Ms: Double
            public var latencyP99Ms: Double
            public var sequencesPerSecond: Double
            public var tokensPerSecond: Double

            public init(workload: String, batch: Int, tokensPerSequence: Double, latencyP50Ms: Double,
                        latencyP99Ms: Double, sequencesPerSecond: Double, tokensPerSecond: Double) {
                self.workload = workload
                self.batch = batch
                self.tokensPerSequence = tokensPerSequence
                self.latencyP50Ms = latencyP50Ms
                self.latencyP99Ms = latencyP99Ms
                self.sequencesPerSecond = sequencesPerSecond
                self.tokensPerSecond = tokensPerSecond
            }
        }

        /// Logical CPUs of the machine that measured.
        public var cpus: Int
        /// Compute threads used.
        public var threads: Int
        /// The GEMM provider used (`amx`, `native`, `blas`).
        public var provider: String
        public var measurements: [Measurement]

        public init(cpus: Int, threads: Int, provider: String, measurements: [Measurement]) {
            self.cpus = cpus
            self.threads = threads
            self.provider = provider
            self.measurements = measurements
        }
    }

    /// Layout revision of this file.
    public var format = 1
    public var name: String
    /// A positive whole number; assigned when the version is published.
    public var version: String
    /// `model_type` of the model's `config.json`.
    public var architecture: String
    /// `embedding` or `classification`.
    public var task: String
    /// Class labels of a classifier, in output order; empty for embeddings.
    public var labels: [String]
    /// Width of one output.
    public var dimensions: Int
    public var files: [File]
    public var footprint: Footprint
    /// Inputs longer than this many tokens are truncated.
    public var maxSequenceLength: Int
    public var created: Date
    /// Where the model came from (a folder, a package, a head file).
    public var source: String
    /// The model whose encoder this one reuses; its own files are only a head.
    public var base: BaseReference?
    public var profile: Profile?
    /// How a head trained by `shoal train` was made and how well it did; absent for other models.
    public var training: Training?

    public init(name: String, version: String = "0", architecture: String, task: String, labels: [String],
                dimensions: Int, files: [File] = [], footprint: Footprint, maxSequenceLength: Int,
                created: Date = Date(), source: String, base: BaseReference? = nil, profile: Profile? = nil,
                training: Training? = nil) {
        self.name = name
        self.version = version
        self.architecture = architecture
        self.task = task
        self.labels = labels
        self.dimensions = dimensions
        self.files = files
        self.footprint = footprint
        self.maxSequenceLength = maxSequenceLength
        // Whole seconds, as ISO 8601 in the stored manifest keeps them.
        self.created = Date(timeIntervalSince1970: created.timeIntervalSince1970.rounded(.down))
        self.source = source
        self.base = base
        self.profile = profile
        self.training = training
    }

    /// `name@version`.
    public var id: String { "\(name)@\(version)" }

    /// Bytes of all files.
    public var totalSize: Int64 { files.reduce(0) { $0 + $1.size } }

    /// A sha256 over every file's path and sha256: equal for versions with the same bytes.
    public var contentDigest: String {
        FileDigest.contentDigest(files.map { ($0.path, $0.sha256) })
    }

    /// The manifest as stored: snake_case keys, sorted, ISO 8601 dates.
    public func encoded() throws -> Data {
        try ShoalJSON.encoder().encode(self)
    }

    /// Reads a stored manifest; `path` names it in errors.
    public static func decode(_ data: Data, path: String) throws(StoreError) -> Manifest {
        do {
            return try ShoalJSON.decoder().decode(Manifest.self, from: data)
        } catch {
            throw .corruptManifest(path: path, reason: "\(error)")
        }
    }
}
