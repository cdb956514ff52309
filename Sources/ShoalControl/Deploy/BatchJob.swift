import Foundation

/// A batch transform run inside the cluster: an Indexed Job (`batch/v1`) of `shards` pods, `parallelism` at once,
/// each running `shoal batch --shards N` on its part of the input (its index from `JOB_COMPLETION_INDEX`), and a
/// second Job of one pod, `shoal batch merge --wait`, that waits for every part's summary and concatenates the
/// parts in order into the output.
///
/// A pod's container restarts in place on failure (`restartPolicy: OnFailure`), so its checkpoint, in an emptyDir
/// that lives as long as the pod, lets it resume where it stopped. The pods reach the store as the servers do (an
/// S3 store as the ServiceAccount's role or with keys from the optional Secret `shoal-s3`; a folder store from the
/// claim `shoal-store`, mounted writable since outputs may be written there).
public struct BatchJob: Sendable {
    /// shoal.yaml: the image, namespace, store and ServiceAccount.
    public let configuration: ShoalConfiguration
    /// The run id: the Jobs are `shoal-batch-RUN` and `shoal-batch-RUN-merge`.
    public let run: String
    /// The model, by its name in the store.
    public let model: String
    /// The input, as `shoal batch` takes it (`s3://BUCKET/KEY` in a cluster).
    public let input: String
    /// The output, as `shoal batch` takes it.
    public let output: String
    /// Parts of the input, one pod each.
    public let shards: Int
    /// Pods at once.
    public let parallelism: Int
    /// Compute threads (and CPUs requested) per pod.
    public let threads: Int
    /// Memory requested per pod, e.g. `2Gi`.
    public let memory: String
    /// Further `shoal batch` options, such as `--batch-size 64`.
    public let options: [String]

    static let workFolder = "/var/lib/shoal-batch"
    static let indexVariable = "JOB_COMPLETION_INDEX"
    static let runLabel = "shoal.dev/run"

    /// Refuses a run id the store and Kubernetes cannot both use, and out-of-range counts.
    public init(configuration: ShoalConfiguration, run: String, model: String, input: String, output: String, shards: Int,
                parallelism: Int? = nil, threads: Int = 2, memory: String = "2Gi", options: [String] = []) throws {
        guard LoadResultStore.isValidRun(run) else {
            throw ControlError.invalidValue(key: "--run", value: run, expected: LoadResultStore.runRule)
        }
        guard (1...10_000).contains(shards) else {
            throw ControlError.invalidValue(key: "--shards", value: String(shards), expected: "1 to 10000 shards")
        }
        let parallelism = parallelism ?? shards
        guard (1...shards).contains(parallelism) else {
            throw ControlError.invalidValue(key: "--parallelism", value: String(parallelism), expected: "1 to --shards pods at once")
        }
        guard (1...256).contains(threads) else {
            throw ControlError.invalidValue(key: "--threads", value: String(threads), expected: "1 to 256 threads")
        }
        self.configuration = configuration
        self.run = run
        self.model = model
        self.input = input
        self.output = output
        self.shards = shards
        self.parallelism = parallelism
        self.threads = threads
        self.memory = memory
        self.options = options
    }

    /// The shards' Job, `shoal-batch-RUN`.
    public var name: String { "shoal-batch-\(run)" }

    private var namespace: String { configuration.kubernetes.namespace }

    /// The shards' Job and the merge Job, to apply with kubectl.
    func jobs() -> [Kubernetes.Job] {
        let store = configuration.store.url
        let isS3 = store.hasPrefix("s3://")
        let source = isS3 ? ["--store", store, "--cache-dir", KubernetesManifests.cacheFolder] : ["--store", KubernetesManifests.storeFolder]
        let arguments = ["batch", "--model", model] + source + [
            "--input", input, "--output", output, "--shards", String(shards), "--threads", String(threads),
            "--work-dir", Self.workFolder + "/work", "--quiet",
        ] + options
        var shard = container("batch", arguments: arguments,
                              resources: .init(requests: ["cpu": String(threads), "memory": memory], limits: ["memory": memory]))
        // Set by Kubernetes in an Indexed Job's pods; named here too, from the annotation it comes from.
        shard.env = [.init(name: Self.indexVariable, valueFrom: .init(fieldRef: .init(
            fieldPath: "metadata.annotations['batch.kubernetes.io/job-completion-index']")))]
        let merge = container("merge", arguments: [
            "batch", "merge", "--output", output, "--shards", String(shards), "--wait", "86400",
            "--work-dir", Self.workFolder,
        ], resources: .init(requests: ["cpu": "100m", "memory": "256Mi"], limits: ["memory": "512Mi"]))
        return [
            job(name, component: "batch", container: shard, completions: shards, parallelism: parallelism, indexed: true),
            job(name + "-merge", component: "batch-merge", container: merge, completions: 1, parallelism: 1, indexed: false),
        ]
    }

    /// The Jobs as YAML for `kubectl apply -f`.
    public func yaml() throws -> String {
        try KubernetesManifests.yaml(jobs().map { .job($0) })
    }

    private func container(_ name: String, arguments: [String], resources: Kubernetes.Resources) -> Kubernetes.Container {
        var container = Kubernetes.Container(
            name: name, image: configuration.kubernetes.image, command: ["shoal"], args: arguments, resources: resources,
            securityContext: KubernetesManifests.securityContext,
            envFrom: [.init(secretRef: .init(name: "shoal-s3", optional: true))],
            volumeMounts: [.init(name: "work", mountPath: Self.workFolder)])
        if configuration.store.url.hasPrefix("s3://") {
            container.volumeMounts.append(.init(name: "cache", mountPath: KubernetesManifests.cacheFolder))
        } else {
            container.volumeMounts.append(.init(name: "store", mountPath: KubernetesManifests.storeFolder))
        }
        return container
    }

    private func job(_ name: String, component: String, container: Kubernetes.Container, completions: Int, parallelism: Int,
                     indexed: Bool) -> Kubernetes.Job {
        let labels = [KubernetesManifests.nameLabel: "shoal", KubernetesManifests.componentLabel: component, Self.runLabel: run]
        var volumes: [Kubernetes.Volume] = [.init(name: "work", emptyDir: .init(sizeLimit: "10Gi"))]
        if configuration.store.url.hasPrefix("s3://") {
            volumes.append(.init(name: "cache", emptyDir: .init(sizeLimit: "10Gi")))
        } else {
            volumes.append(.init(name: "store", persistentVolumeClaim: .init(claimName: "shoal-store", readOnly: false)))
        }
        let pod = Kubernetes.PodSpec(containers: [container], volumes: volumes,
                                     serviceAccountName: configuration.kubernetes.serviceAccount, restartPolicy: "OnFailure")
        return Kubernetes.Job(
            metadata: .init(name: name, namespace: namespace, labels: labels),
            spec: .init(completions: completions, parallelism: parallelism, completionMode: indexed ? "Indexed" : nil, backoffLimit: 6,
                        template: .init(metadata: .init(labels: labels), spec: pod)))
    }
}
