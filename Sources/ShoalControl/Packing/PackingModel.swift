/// What packing needs to know of one model; built from `shoal.yaml` and, where it is silent, the store.
public struct PackingModel: Sendable, Equatable, Codable {
    public var name: String
    /// Bytes the model holds in memory; for a derived model, only its head.
    public var memory: Int64
    /// The model whose encoder this one shares.
    public var base: String?
    /// Expected requests per second.
    public var traffic: Double
    /// Requests per second one core serves.
    public var throughputPerCore: Double
    /// Activation bytes per token in a batch (0 when unknown).
    public var activationBytesPerToken: Int64
    /// Where `memory` and `throughputPerCore` came from, for the plan's reasons.
    public var source: Source
    /// Served on demand, in a serverless group of its own kind; nil for always on.
    public var serverless: ShoalConfiguration.ServerlessSettings?

    public init(name: String, memory: Int64, base: String? = nil, traffic: Double, throughputPerCore: Double,
                activationBytesPerToken: Int64 = 0, source: Source = Source(memory: .configuration, throughput: .configuration),
                serverless: ShoalConfiguration.ServerlessSettings? = nil) {
        self.name = name
        self.memory = memory
        self.base = base
        self.traffic = traffic
        self.throughputPerCore = throughputPerCore
        self.activationBytesPerToken = activationBytesPerToken
        self.source = source
        self.serverless = serverless
    }

    /// Cores the expected traffic keeps busy.
    public var cores: Double { traffic / throughputPerCore }

    /// Where a model's memory and throughput came from.
    public struct Source: Sendable, Equatable, Codable, CustomStringConvertible {
        /// Where the memory came from.
        public enum Memory: String, Sendable, Codable {
            /// The model's `memory` in shoal.yaml.
            case configuration
            /// The weight bytes of the store's manifest.
            case manifest
        }

        /// Where the throughput per core came from.
        public enum Throughput: String, Sendable, Codable {
            /// The model's `throughput` in shoal.yaml.
            case configuration
            /// The profile the store measured on import.
            case profile
            /// Nothing said: `pack.default_throughput`.
            case assumed
        }

        /// Where the memory came from.
        public var memory: Memory
        /// Where the throughput per core came from.
        public var throughput: Throughput

        /// A source of `memory` and `throughput`.
        public init(memory: Memory, throughput: Throughput) {
            self.memory = memory
            self.throughput = throughput
        }

        /// Whether shoal.yaml gave both, so the plan need not explain them.
        public var isConfigured: Bool { memory == .configuration && throughput == .configuration }

        /// `memory from the store's manifest, throughput assumed (pack.default_throughput)`.
        public var description: String {
            let memory = switch self.memory {
            case .configuration: "memory from shoal.yaml"
            case .manifest: "memory from the store's manifest"
            }
            let throughput = switch self.throughput {
            case .configuration: "throughput from shoal.yaml"
            case .profile: "throughput from the store's profile"
            case .assumed: "throughput assumed (pack.default_throughput)"
            }
            return "\(memory), \(throughput)"
        }
    }
}
