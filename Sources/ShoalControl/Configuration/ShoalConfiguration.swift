import ShoalStore

/// The whole of `shoal.yaml`: where models are stored, what is served to whom, on which machines, and how it
/// is tested. Every field has a default, so an empty file (or none) is a working configuration.
public struct ShoalConfiguration: Codable, Sendable, Equatable {
    public var store = StoreSettings()
    public var runtime = Runtime.local
    public var models: [ModelSpec] = [ModelSpec()]
    public var targets: [TargetSpec] = TargetSpec.defaults
    public var server = ServerSettings()
    public var pack = PackSettings()
    public var test = TestSettings()
    public var kubernetes = KubernetesSettings()
    public var cluster = ClusterSettings()
    public var train = TrainSettings()

    public init() {}

    /// Where deployments run.
    public enum Runtime: String, Codable, Sendable, CaseIterable {
        /// Server processes on this machine, supervised by `shoal`.
        case local
        /// Generated manifests applied with kubectl.
        case kubernetes
        /// The manifests' Deployments played on this machine by `podman kube play`, from `shoal image build`.
        case podman
    }

    /// The model store.
    public struct StoreSettings: Codable, Sendable, Equatable {
        /// A folder or `s3://bucket/prefix`.
        public var url = StoreConfiguration.defaultFolder

        public init() {}
    }

    /// One model to serve and what is expected of it.
    public struct ModelSpec: Codable, Sendable, Equatable {
        public var name = "minilm"
        /// A version number, or `latest`.
        public var version = "latest"
        /// Expected requests per second at peak.
        public var traffic = 50.0
        /// The p90 latency the model must meet, in milliseconds.
        public var latencyP90Ms = 100.0
        /// Memory the model needs loaded; when absent, the store's manifest says.
        public var memory: ByteCount? = ByteCount(90 << 20)
        /// Another model of `models` whose encoder this one shares; the base is held once per group.
        public var base: String?
        /// Requests per second one core serves; when absent, the store's profile or `pack.default_throughput`.
        public var throughput: Double?
        /// Served on demand: stopped when idle, started by the gateway on the next request (absent: always on).
        public var serverless: ServerlessSettings?

        public init() {}

        public init(name: String, traffic: Double, memory: ByteCount?, base: String? = nil, throughput: Double? = nil) {
            self.name = name
            self.traffic = traffic
            self.memory = memory
            self.base = base
            self.throughput = throughput
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, version, traffic, latencyP90Ms = "latency_p90_ms", memory, base, throughput, serverless
        }
    }

    /// A kind of machine models can be placed on.
    public struct TargetSpec: Codable, Sendable, Equatable {
        public var name: String
        /// Virtual CPUs (hyperthreads on x86, cores on Graviton): what the engine computes on.
        public var cpus: Int
        public var memory: ByteCount
        /// On-demand price of one machine, dollars per hour.
        public var pricePerHour: Double
        public var architecture: Architecture
        /// The devices beside the CPUs; the engine does not use them, but a pod on such a machine requests them.
        public var accelerator: Accelerator

        public init(name: String, cpus: Int, memory: ByteCount, pricePerHour: Double, architecture: Architecture = .amd64,
                    accelerator: Accelerator = Accelerator()) {
            self.name = name
            self.cpus = cpus
            self.memory = memory
            self.pricePerHour = pricePerHour
            self.architecture = architecture
            self.accelerator = accelerator
        }

        /// CPU architectures a target can have.
        public enum Architecture: String, Codable, Sendable, CaseIterable {
            case amd64, arm64
        }

        /// Accelerator devices of one machine: their kind and how many.
        public struct Accelerator: Codable, Sendable, Equatable {
            public var kind: Kind
            /// Devices per machine; 0 with `none`, at least 1 otherwise (absent: 0 with `none`, else 1).
            public var count: Int

            public init(kind: Kind = .none, count: Int? = nil) {
                self.kind = kind
                self.count = count ?? (kind == .none ? 0 : 1)
            }

            public init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                self.init(kind: try container.decodeIfPresent(Kind.self, forKey: .kind) ?? .none,
                          count: try container.decodeIfPresent(Int.self, forKey: .count))
            }

            /// Kinds of accelerator, each with the Kubernetes resource its device plugin advertises.
            public enum Kind: String, Codable, Sendable, CaseIterable {
                case none
                /// NVIDIA GPUs (g5, g6, p4 instances), advertised by the NVIDIA device plugin.
                case nvidiaGPU = "nvidia-gpu"
                /// AWS Inferentia or Trainium chips, advertised by the Neuron device plugin.
                case awsNeuron = "aws-neuron"

                /// The extended resource a pod requests to get the device, which is also the key of the taint
                /// that keeps other pods off such nodes; nil for `none`.
                public var resourceName: String? {
                    switch self {
                    case .none: nil
                    case .nvidiaGPU: "nvidia.com/gpu"
                    case .awsNeuron: "aws.amazon.com/neuron"
                    }
                }
            }

            enum CodingKeys: String, CodingKey, CaseIterable {
                case kind, count
            }
        }

        /// Whether the machine has accelerator devices.
        public var hasAccelerator: Bool { accelerator.kind != .none }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case name, cpus, memory, pricePerHour = "price_per_hour", architecture, accelerator
        }

        /// Common cloud machines and this laptop-sized machine. Prices are the us-east-1 on-demand Linux list
        /// prices, vCPUs and memory the instance type's specifications, both from AWS's EC2 pages
        /// (aws.amazon.com/ec2/pricing/on-demand and aws.amazon.com/ec2/instance-types), as listed in 2025.
        public static let defaults = [
            TargetSpec(name: "local", cpus: 2, memory: ByteCount(8 << 30), pricePerHour: 0),
            // Intel Sapphire Rapids.
            TargetSpec(name: "c7i.xlarge", cpus: 4, memory: ByteCount(8 << 30), pricePerHour: 0.1785),
            TargetSpec(name: "c7i.4xlarge", cpus: 16, memory: ByteCount(32 << 30), pricePerHour: 0.714),
            // AWS Graviton3.
            TargetSpec(name: "c7g.4xlarge", cpus: 16, memory: ByteCount(32 << 30), pricePerHour: 0.58, architecture: .arm64),
            // AMD EPYC with one NVIDIA A10G (24 GiB).
            TargetSpec(name: "g5.xlarge", cpus: 4, memory: ByteCount(16 << 30), pricePerHour: 1.006,
                       accelerator: Accelerator(kind: .nvidiaGPU, count: 1)),
            // AMD EPYC with one Inferentia2 chip (2 NeuronCores, 32 GiB).
            TargetSpec(name: "inf2.xlarge", cpus: 4, memory: ByteCount(16 << 30), pricePerHour: 0.7582,
                       accelerator: Accelerator(kind: .awsNeuron, count: 1)),
        ]
    }

    /// How every server process runs.
    public struct ServerSettings: Codable, Sendable, Equatable {
        public var host = "127.0.0.1"
        /// The first group's port; group i listens on `port + i`.
        public var port = 8080
        /// Where the gateway listens.
        public var gatewayPort = 8000
        public var maxBatchTokens = ServingLimits().maxBatchTokens
        public var maxBatchInputs = ServingLimits().maxBatchInputs
        public var maxQueueDelayMs = ServingLimits().maxQueueDelay.seconds * 1_000
        /// Bytes of model parameters one server holds; 0 sizes it from the plan.
        public var memoryBudget = ByteCount(0)
        /// Compute threads per server; 0 uses the target's cores.
        public var threads = 0
        /// Asynchronous requests one server queues; 0 takes none (`Prefer: respond-async` is then ignored).
        public var asyncMaxQueued = 10_000
        /// Asynchronous requests one server runs at once, each when no real-time input waits.
        public var asyncConcurrency = 1
        /// Hosts a `Shoal-Callback-URL` may name (`CallbackHosts`: comma-separated); empty: no callbacks.
        public var asyncCallbackHosts = ""

        public init() {}

        /// The engine's limits these settings give a server; the others keep `ServingLimits`' defaults.
        public var limits: ServingLimits {
            var limits = ServingLimits()
            limits.maxBatchTokens = maxBatchTokens
            limits.maxBatchInputs = maxBatchInputs
            // Out of Duration's range (or NaN) reads as negative, which the validation refuses.
            limits.maxQueueDelay = maxQueueDelayMs.isFinite && abs(maxQueueDelayMs) < 1e12 ? .milliseconds(maxQueueDelayMs) : .seconds(-1)
            limits.memoryBudget = memoryBudget.bytes > 0 ? Int(memoryBudget.bytes) : nil
            return limits
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, gatewayPort = "gateway_port", maxBatchTokens = "max_batch_tokens"
            case maxBatchInputs = "max_batch_inputs", maxQueueDelayMs = "max_queue_delay_ms"
            case memoryBudget = "memory_budget", threads
            case asyncMaxQueued = "async_max_queued", asyncConcurrency = "async_concurrency"
            case asyncCallbackHosts = "async_callback_hosts"
        }
    }

    /// How `shoal pack` sizes groups.
    public struct PackSettings: Codable, Sendable, Equatable {
        /// The target to pack for; empty picks the cheapest plan over all targets.
        public var target = ""
        /// Share of a target's cores the plan may use, leaving headroom for latency.
        public var cpuUtilization = 0.7
        /// Share of a target's memory kept free for the system.
        public var memoryReserve = 0.1
        /// Memory of one server process before any model: runtime, buffers, batch activations.
        public var serverOverhead = ByteCount(256 << 20)
        /// Requests per second one core serves when neither the model nor the store says.
        public var defaultThroughput = 100.0

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case target, cpuUtilization = "cpu_utilization", memoryReserve = "memory_reserve"
            case serverOverhead = "server_overhead", defaultThroughput = "default_throughput"
        }
    }

    /// How `shoal test` loads a server.
    public struct TestSettings: Codable, Sendable, Equatable {
        /// The server or gateway under test; by default the gateway at `server.gateway_port`'s default, which reaches every group.
        public var url = "http://127.0.0.1:8000"
        public var `protocol` = LoadProtocol.kserve
        public var mode = LoadMode.closed
        /// Requests in flight in closed-loop mode.
        public var concurrency = 8
        /// Requests started per second in open-loop mode and by `rnd`.
        public var rate = 100.0
        public var durationS = 10.0
        /// Most requests of one run; 0 for no limit but the duration.
        public var requests = 0
        public var mix = RequestMix.Kind.mixed
        /// Texts per request.
        public var batch = 1
        public var timeoutS = 10.0
        /// The target whose price turns throughput into cost per million inferences.
        public var target = "local"

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case url, `protocol`, mode, concurrency, rate, durationS = "duration_s", requests, mix, batch
            case timeoutS = "timeout_s", target
        }
    }

    /// What `shoal deploy manifests` writes for `runtime: kubernetes`, and where `shoal deploy run` applies it.
    public struct KubernetesSettings: Codable, Sendable, Equatable {
        /// The namespace of every object.
        public var namespace = "shoal"
        /// The kubectl context `shoal deploy run` applies to; empty for kubectl's current context.
        public var context = ""
        /// The container image holding the `shoal` binary.
        public var image = "localhost/shoal:latest"
        /// Most pods the autoscaler runs per group.
        public var maxReplicas = 3
        /// Pods of the gateway.
        public var gatewayReplicas = 2
        /// The ServiceAccount the server pods run as, written with the manifests: the identity an IAM role
        /// is bound to (IRSA or EKS Pod Identity) so that servers read an S3 store without static keys.
        public var serviceAccount = "shoal"
        /// Annotations of that ServiceAccount, such as `eks.amazonaws.com/role-arn` for IRSA.
        public var serviceAccountAnnotations: [String: String] = [:]
        /// A Prometheus server scraping the pods; when set, each group that is not serverless is scaled by a KEDA
        /// ScaledObject on CPU and on its asynchronous queue, instead of the HorizontalPodAutoscaler on CPU.
        public var prometheusURL = ""
        /// Asynchronous requests queued per pod at which KEDA adds a pod.
        public var asyncQueuedPerPod = 100

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case namespace, context, image, maxReplicas = "max_replicas", gatewayReplicas = "gateway_replicas"
            case serviceAccount = "service_account", serviceAccountAnnotations = "service_account_annotations"
            case prometheusURL = "prometheus_url", asyncQueuedPerPod = "async_queued_per_pod"
        }
    }

    /// Where `shoal train` runs and how `--target auto` chooses.
    public struct TrainSettings: Codable, Sendable, Equatable {
        /// Where training runs when `--target` is not given.
        public var target = TrainingTarget.local
        /// `auto` trains here when the encoder's estimated time for the data is at most this many seconds.
        public var localBudgetS = 600.0
        /// Pods of the embedding Job (and processes with `--shards`).
        public var shards = 4
        /// Rows the encoder embeds per second per thread when the base's manifest has no profile.
        public var rowsPerSecond = 100.0

        public init() {}

        enum CodingKeys: String, CodingKey, CaseIterable {
            case target, localBudgetS = "local_budget_s", shards, rowsPerSecond = "rows_per_second"
        }
    }

    /// What `shoal provision` writes into the eksctl cluster definition.
    public struct ClusterSettings: Codable, Sendable, Equatable {
        /// The EKS cluster's name.
        public var name = "shoal"
        /// The AWS region it runs in.
        public var region = "us-east-1"
        /// The Kubernetes version, such as 1.33; empty leaves the choice to eksctl (its default version).
        public var version = ""

        public init() {}
    }
}
