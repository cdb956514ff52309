import Foundation

/// A load test run from inside the cluster: a Job (`batch/v1`) of `pods` pods at once, each running `shoal test
/// bmk` with the test settings of shoal.yaml against the gateway's Service, and writing its result into the
/// store as `results/RUN/POD.json` (the pod's name from the downward API), for `shoal test bma --from-store RUN`.
///
/// The pods reach the store as the servers do: an S3 store directly, with keys from the optional Secret
/// `shoal-s3`; a folder store from the PersistentVolumeClaim `shoal-store`, mounted writable here (the servers
/// mount it read-only), so that claim must allow writes from several nodes (ReadWriteMany).
public struct LoadTestJob: Sendable {
    public let configuration: ShoalConfiguration
    /// The run id: the results' folder and the Job's name.
    public let run: String
    /// Pods running at once, and in all.
    public let pods: Int

    /// The variable each pod's name is in, and the pod's container name.
    static let podNameVariable = "POD_NAME"
    static let containerName = "load"
    static let runLabel = "shoal.dev/run"

    /// Refuses a run id the store and Kubernetes cannot both use, and fewer than one pod.
    public init(configuration: ShoalConfiguration, run: String, pods: Int) throws {
        guard LoadResultStore.isValidRun(run) else {
            throw ControlError.invalidValue(key: "--run", value: run, expected: LoadResultStore.runRule)
        }
        guard (1...1_000).contains(pods) else {
            throw ControlError.invalidValue(key: "--pods", value: String(pods), expected: "1 to 1000 pods")
        }
        self.configuration = configuration
        self.run = run
        self.pods = pods
    }

    /// The Job's name, `shoal-load-RUN`.
    public var name: String { "shoal-load-\(run)" }

    private var namespace: String { configuration.kubernetes.namespace }

    /// The Job, to apply with kubectl.
    func job() -> Kubernetes.Job {
        let labels = [KubernetesManifests.nameLabel: "shoal", KubernetesManifests.componentLabel: "load-test", Self.runLabel: run]
        let url = "http://shoal-gateway.\(namespace).svc:\(configuration.server.gatewayPort)"
        let store = configuration.store.url
        let isS3 = store.hasPrefix("s3://")
        var container = Kubernetes.Container(
            name: Self.containerName, image: configuration.kubernetes.image, command: ["shoal"],
            args: Self.arguments(LoadSettings(test: "bmk", configuration: configuration.test, models: configuration.models.map(\.name)),
                                 url: url, store: isS3 ? store : KubernetesManifests.storeFolder, run: run),
            resources: .init(requests: ["cpu": "1", "memory": "256Mi"], limits: ["memory": "1Gi"]),
            securityContext: KubernetesManifests.securityContext,
            env: [.init(name: Self.podNameVariable, valueFrom: .init(fieldRef: .init(fieldPath: "metadata.name")))],
            volumeMounts: [])
        let volumes = KubernetesManifests.writableStore(isS3: isS3, for: &container)
        let pod = Kubernetes.PodSpec(containers: [container], volumes: volumes, restartPolicy: "Never")
        return Kubernetes.Job(
            metadata: .init(name: name, namespace: namespace, labels: labels),
            // No retries: a pod that failed is reported, not replaced by one whose result would stand beside its own.
            spec: .init(completions: pods, parallelism: pods, backoffLimit: 0,
                        template: .init(metadata: .init(labels: labels), spec: pod)))
    }

    /// The Job as YAML for `kubectl apply -f`.
    public func yaml() throws -> String {
        try KubernetesManifests.yaml([.job(job())])
    }

    /// `shoal test bmk` arguments for `settings`, against `url`, writing to `store` under `run` and the pod's name
    /// (Kubernetes expands `$(POD_NAME)` in arguments from the container's environment).
    static func arguments(_ settings: LoadSettings, url: String, store: String, run: String) -> [String] {
        var arguments = [
            "test", "bmk", "--url", url, "--protocol", settings.protocol.rawValue, "--mode", settings.mode.rawValue,
            "--concurrency", String(settings.concurrency), "--rate", String(settings.rate),
            "--duration", String(settings.durationS), "--requests", String(settings.requests),
            "--mix", settings.mix.rawValue, "--batch", String(settings.batch), "--timeout", String(settings.timeoutS),
        ]
        arguments += settings.models.flatMap { ["--model", $0] }
        return arguments + ["--store", store, "--out-store", run, "--out-name", "$(\(podNameVariable))", "--quiet"]
    }
}

extension LoadTestJob {
    /// The Job's pods as `podman kube play` runs them on this machine (it plays no Jobs), with the differences of
    /// the servers' pods (`KubernetesManifests.podmanObjects`) and these:
    ///
    /// - one Pod per pod of the Job, `NAMESPACE-load-RUN-I`, with the template's spec (`restartPolicy: Never`);
    /// - `--url` the gateway on `host` instead of its Service;
    /// - `$(POD_NAME)` written out as the pod's name: podman 4.3 does not expand variables in arguments;
    /// - a folder store mounted writable from `storeFolder` (a hostPath) instead of the PersistentVolumeClaim;
    /// - the Secret `NAMESPACE-load-s3` (a podman secret) instead of `shoal-s3`, which the deployment's servers use.
    func podmanPods(host: String, storeFolder: URL?) -> [Kubernetes.Pod] {
        let template = job().spec.template
        return podmanPodNames.map { podName in
            var spec = template.spec
            spec.hostNetwork = true
            spec.containers = spec.containers.map { container in
                var container = container
                container.args = KubernetesManifests.replacing(
                    "--url", with: "http://\(host):\(configuration.server.gatewayPort)", in: container.args)
                container.args = container.args.map { $0 == "$(\(Self.podNameVariable))" ? podName : $0 }
                container.envFrom = container.envFrom?.map { .init(secretRef: .init(name: podmanSecret, optional: $0.secretRef.optional)) }
                return container
            }
            spec.volumes = spec.volumes.map { volume in
                var volume = volume
                if volume.persistentVolumeClaim != nil, let storeFolder {
                    volume.persistentVolumeClaim = nil
                    volume.hostPath = .init(path: storeFolder.path, type: "Directory")
                }
                return volume
            }
            return Kubernetes.Pod(metadata: .init(name: podName, labels: template.metadata.labels), spec: spec)
        }
    }

    /// `podmanPods` as one YAML stream for `podman kube play`.
    public func podmanYAML(host: String, storeFolder: URL?) throws -> String {
        try KubernetesManifests.yaml(podmanPods(host: host, storeFolder: storeFolder).map { .pod($0) })
    }

    /// The pods podman runs, `NAMESPACE-load-RUN-0` …; each one's container is `POD-load`.
    public var podmanPodNames: [String] {
        (0..<pods).map { "\(KubernetesManifests.podmanName(name, namespace: namespace))-\($0)" }
    }

    /// The podman secret standing for `shoal-s3` in the load test's pods.
    public var podmanSecret: String { KubernetesManifests.podmanName("shoal-load-s3", namespace: namespace) }
}
