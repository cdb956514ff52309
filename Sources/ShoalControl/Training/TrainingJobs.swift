import Foundation

/// `shoal train` on a cluster: an Indexed Job (`batch/v1`) whose pods each embed one shard of the texts into
/// the store's embedding cache (`shoal train embed --shard I/N`), and a Job that fits and publishes the heads
/// from that cache (`shoal train fit`) once the first has completed.
///
/// The pods reach the store as the load-test pods do: an S3 store directly, with keys from the optional
/// Secret `shoal-s3`; a folder store from the PersistentVolumeClaim `shoal-store`, mounted writable.
public struct TrainingJobs: Sendable {
    public let configuration: ShoalConfiguration
    /// The trained model's name; the Jobs are `shoal-train-NAME-embed` and `shoal-train-NAME-fit`.
    public let model: String
    /// Arguments of `shoal train embed` but the shard and the store; of `shoal train fit` but the store.
    public let embedArguments: [String]
    public let fitArguments: [String]
    public let shards: Int

    static let shardVariable = "SHARD"
    static let modelLabel = "shoal.dev/train"

    /// Refuses a model name that cannot be part of a Job's name, and fewer than one shard.
    public init(configuration: ShoalConfiguration, model: String, embedArguments: [String], fitArguments: [String], shards: Int) throws {
        let lowered = model.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" }
        guard ConfigurationSchema.isDNSLabel("shoal-train-\(String(lowered))-embed") else {
            throw ControlError.invalidValue(key: "--name", value: model, expected: "a name of at most 45 characters for the Jobs' names")
        }
        guard (1...1_000).contains(shards) else {
            throw ControlError.invalidValue(key: "--shards", value: String(shards), expected: "1 to 1000 shards")
        }
        self.configuration = configuration
        self.model = model
        self.embedArguments = embedArguments
        self.fitArguments = fitArguments
        self.shards = shards
    }

    private var prefix: String {
        "shoal-train-" + String(model.lowercased().map { $0.isLetter || $0.isNumber ? $0 : "-" })
    }

    /// The embedding Job's name.
    public var embedName: String { prefix + "-embed" }
    /// The fitting Job's name.
    public var fitName: String { prefix + "-fit" }

    /// The Indexed Job of `shards` pods at once, each embedding its shard.
    func embedJob() -> Kubernetes.Job {
        let arguments = ["train", "embed"] + embedArguments + ["--shard", "$(\(Self.shardVariable))/\(shards)"]
        var job = job(name: embedName, component: "train-embed", arguments: arguments, pods: shards)
        job.spec.completionMode = "Indexed"
        job.spec.template.spec.containers[0].env = [
            .init(name: Self.shardVariable, valueFrom: .init(fieldRef: .init(
                fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']"))),
        ]
        return job
    }

    /// The Job of one pod fitting and publishing the heads.
    func fitJob() -> Kubernetes.Job {
        job(name: fitName, component: "train-fit", arguments: ["train", "fit"] + fitArguments, pods: 1)
    }

    private func job(name: String, component: String, arguments: [String], pods: Int) -> Kubernetes.Job {
        let labels = [KubernetesManifests.nameLabel: "shoal", KubernetesManifests.componentLabel: component, Self.modelLabel: model]
        let store = configuration.store.url
        let isS3 = store.hasPrefix("s3://")
        var container = Kubernetes.Container(
            name: component, image: configuration.kubernetes.image, command: ["shoal"],
            args: arguments + ["--store", isS3 ? store : KubernetesManifests.storeFolder],
            resources: .init(requests: ["cpu": "2", "memory": "2Gi"], limits: ["memory": "4Gi"]),
            securityContext: KubernetesManifests.securityContext, env: [], volumeMounts: [])
        let volumes = KubernetesManifests.writableStore(isS3: isS3, for: &container)
        let pod = Kubernetes.PodSpec(containers: [container], volumes: volumes, restartPolicy: "Never")
        return Kubernetes.Job(
            metadata: .init(name: name, namespace: configuration.kubernetes.namespace, labels: labels),
            // A failed shard is retried: its finished chunks stay in the cache, so a retry resumes.
            spec: .init(completions: pods, parallelism: pods, backoffLimit: 2, template: .init(metadata: .init(labels: labels), spec: pod)))
    }

    /// The embedding Job as YAML for `kubectl apply -f`.
    public func embedYAML() throws -> String { try KubernetesManifests.yaml([.job(embedJob())]) }
    /// The fitting Job as YAML for `kubectl apply -f`.
    public func fitYAML() throws -> String { try KubernetesManifests.yaml([.job(fitJob())]) }
}
