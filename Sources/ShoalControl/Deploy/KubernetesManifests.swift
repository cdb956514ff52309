import Foundation
import Yams

/// The Kubernetes objects that run a plan (`runtime: kubernetes`), written by `shoal deploy manifests`:
///
/// - per group, a Deployment of `shoal serve` with the group's models pinned, a Service on the group's port
///   and a HorizontalPodAutoscaler on CPU at `pack.cpu_utilization`;
/// - the gateway's Deployment and Service, routing `model → group` by the plan, mounted from a ConfigMap;
/// - per serverless group, a KEDA HTTP add-on HTTPScaledObject instead of the autoscaler, scaling it between
///   0 and `kubernetes.max_replicas` pods, to zero after the group's idle time; the gateway sends such a group's
///   requests through the add-on's interceptor (`kedaInterceptor`), which holds them while a pod starts;
/// - one PodDisruptionBudget letting at most one server pod go at a time, so that replicated models stay up;
/// - the ServiceAccount the servers run as (`KubernetesManifests+ServiceAccount.swift`).
///
/// Memory requests come from the plan's footprint of the group and limits from the target's capacity, CPU
/// requests from the cores the plan gives the group, node selectors from the target's name and architecture;
/// on an accelerator target the pod also requests its devices and tolerates its node group's taint.
/// Servers read an S3 store directly (as their ServiceAccount's IAM role, else with keys from the optional
/// Secret `shoal-s3`) and cache it in an emptyDir;
/// a folder store is mounted read-only from the PersistentVolumeClaim `shoal-store`.
public struct KubernetesManifests {
    public let configuration: ShoalConfiguration
    public let plan: PlacementPlan

    /// Where pods mount the plan, the store and the cache.
    static let planFolder = "/etc/shoal"
    static let storeFolder = "/var/lib/shoal/store"
    static let cacheFolder = "/var/cache/shoal"
    /// The queue of asynchronous requests (and their results, with a folder store).
    static let asyncFolder = "/var/lib/shoal/async"
    /// The label every object carries, and the component label that tells servers from the gateway.
    static let nameLabel = "app.kubernetes.io/name"
    static let componentLabel = "app.kubernetes.io/component"
    static let groupLabel = "shoal.dev/group"

    public init(configuration: ShoalConfiguration, plan: PlacementPlan) {
        self.configuration = configuration
        self.plan = plan
    }

    /// Every object, in the order to apply them.
    func objects() throws -> [Kubernetes.Object] {
        guard let target = configuration.targets.first(where: { $0.name == plan.target }) else {
            throw ControlError.unknownName(key: "plan.target", name: plan.target, valid: configuration.targets.map(\.name))
        }
        var objects: [Kubernetes.Object] = [.configMap(try planConfigMap()), .serviceAccount(serviceAccount())]
        for group in plan.groups {
            objects += [
                .deployment(serverDeployment(group, target: target)),
                .service(service(name: Self.name(group), port: group.port, component: "server", group: group.name)),
                scaler(group),
            ]
        }
        objects += [
            .disruptionBudget(disruptionBudget()),
            .deployment(gatewayDeployment()),
            .service(service(name: "shoal-gateway", port: configuration.server.gatewayPort, component: "gateway", group: nil)),
        ]
        return objects
    }

    /// The objects as one YAML stream, documents separated by `---`; refuses a plan packed for `local`, which
    /// names no instance type a cluster's nodes could be selected by.
    public func yaml() throws -> String {
        guard plan.target != Self.machineTarget else {
            throw ControlError.invalidValue(
                key: "plan.target", value: plan.target,
                expected: "a target naming a real instance type with an architecture (such as c7i.xlarge, amd64) for Kubernetes, "
                    + "whose nodes are selected by it; pack for one (`shoal pack --target c7i.xlarge`, or set pack.target), "
                    + "or use runtime: podman to run on this machine")
        }
        return try Self.yaml(objects())
    }

    /// `objects` as one YAML stream with sorted keys.
    static func yaml(_ objects: [Kubernetes.Object]) throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.width = -1
        encoder.options.sortKeys = true
        return try objects.map { try encoder.encode($0) }.joined(separator: "---\n")
    }

    /// The built-in target that stands for this machine rather than a kind of cloud instance.
    public static let machineTarget = "local"

    /// The Deployment and Service name of `group`: `shoal-group-0`.
    static func name(_ group: PlacementPlan.Group) -> String { "shoal-\(group.name)" }

    private var namespace: String { configuration.kubernetes.namespace }

    func metadata(_ name: String, component: String, group: String?) -> Kubernetes.ObjectMeta {
        Kubernetes.ObjectMeta(name: name, namespace: namespace, labels: labels(component: component, group: group))
    }

    private func labels(component: String, group: String?) -> [String: String] {
        var labels = [Self.nameLabel: "shoal", Self.componentLabel: component]
        if let group { labels[Self.groupLabel] = group }
        return labels
    }

    private func planConfigMap() throws -> Kubernetes.ConfigMap {
        let json = String(decoding: try plan.encoded(), as: UTF8.self)
        return Kubernetes.ConfigMap(metadata: metadata("shoal-plan", component: "gateway", group: nil), data: ["plan.json": json])
    }

    private func serverDeployment(_ group: PlacementPlan.Group, target: ShoalConfiguration.TargetSpec) -> Kubernetes.Deployment {
        let store = configuration.store.url
        let isS3 = store.hasPrefix("s3://")
        var server = configuration.server
        if server.threads == 0 { server.threads = target.cpus }
        // A serverless pod goes, with its emptyDir, when scaled to zero: a queue there could lose accepted requests.
        if group.serverless != nil { server.asyncMaxQueued = 0 }
        let source = isS3 ? ["--store", store, "--cache-dir", Self.cacheFolder] : ["--store", Self.storeFolder]
        let devices = Self.devices(of: target)
        var container = Kubernetes.Container(
            name: "server", image: configuration.kubernetes.image, command: ["shoal"],
            args: DeploymentSpec.serverArguments(group, server: server, source: source, host: "0.0.0.0", asyncDir: Self.asyncFolder,
                                                 asyncResults: isS3 ? nil : Self.asyncFolder),
            ports: [.init(name: "http", containerPort: group.port)],
            resources: .init(
                requests: ["cpu": Self.millicores(group.cores), "memory": Self.mebibytes(group.memory)].merging(devices) { $1 },
                limits: ["memory": Self.mebibytes(max(group.memory, group.memoryCapacity))].merging(devices) { $1 }),
            startupProbe: probe("/v2/health/live", port: group.port, period: 2, failures: 150),
            readinessProbe: probe("/v2/health/ready", port: group.port, period: 5, failures: 2),
            livenessProbe: probe("/v2/health/live", port: group.port, period: 10, failures: 3),
            securityContext: Self.securityContext, volumeMounts: [])
        var volumes: [Kubernetes.Volume]
        if isS3 {
            container.envFrom = [.init(secretRef: .init(name: "shoal-s3", optional: true))]
            container.volumeMounts = [.init(name: "cache", mountPath: Self.cacheFolder)]
            volumes = [.init(name: "cache", emptyDir: .init(sizeLimit: Self.mebibytes(group.memoryCapacity)))]
        } else {
            container.volumeMounts = [.init(name: "store", mountPath: Self.storeFolder, readOnly: true)]
            volumes = [.init(name: "store", persistentVolumeClaim: .init(claimName: "shoal-store", readOnly: true))]
        }
        if server.asyncMaxQueued > 0 {
            // The queue outlives a crash of the container, not the pod; results go to the S3 store (a read-only
            // folder store leaves them here).
            container.volumeMounts.append(.init(name: "async", mountPath: Self.asyncFolder))
            volumes.append(.init(name: "async", emptyDir: .init(sizeLimit: "1Gi")))
        }
        let selector = labels(component: "server", group: group.name)
        let pod = Kubernetes.PodSpec(
            containers: [container], volumes: volumes,
            nodeSelector: Self.nodeSelector(of: target), tolerations: Self.tolerations(of: target),
            terminationGracePeriodSeconds: 30, serviceAccountName: configuration.kubernetes.serviceAccount)
        return Kubernetes.Deployment(
            metadata: metadata(Self.name(group), component: "server", group: group.name),
            spec: .init(replicas: group.serverless == nil ? 1 : nil, selector: .init(matchLabels: selector),
                        template: .init(metadata: .init(labels: selector), spec: pod)))
    }

    private func gatewayDeployment() -> Kubernetes.Deployment {
        let port = configuration.server.gatewayPort
        let selector = labels(component: "gateway", group: nil)
        let container = Kubernetes.Container(
            name: "gateway", image: configuration.kubernetes.image, command: ["shoal"],
            args: ["gateway", "--plan", "\(Self.planFolder)/plan.json", "--host", "0.0.0.0", "--port", String(port),
                   "--group-url", "http://shoal-{group}.\(namespace).svc:{port}"]
                + (plan.groups.contains { $0.serverless != nil } ? ["--serverless-proxy", Self.kedaInterceptor] : []),
            ports: [.init(name: "http", containerPort: port)],
            resources: .init(requests: ["cpu": "250m", "memory": "128Mi"], limits: ["memory": "512Mi"]),
            readinessProbe: probe("/v2/health/ready", port: port, period: 5, failures: 2),
            livenessProbe: probe("/v2/health/live", port: port, period: 10, failures: 3),
            securityContext: Self.securityContext,
            volumeMounts: [.init(name: "plan", mountPath: Self.planFolder, readOnly: true)])
        let pod = Kubernetes.PodSpec(containers: [container], volumes: [.init(name: "plan", configMap: .init(name: "shoal-plan"))])
        return Kubernetes.Deployment(
            metadata: metadata("shoal-gateway", component: "gateway", group: nil),
            spec: .init(replicas: configuration.kubernetes.gatewayReplicas, selector: .init(matchLabels: selector),
                        template: .init(metadata: .init(labels: selector), spec: pod)))
    }

    private func service(name: String, port: Int, component: String, group: String?) -> Kubernetes.Service {
        Kubernetes.Service(
            metadata: metadata(name, component: component, group: group),
            spec: .init(selector: labels(component: component, group: group),
                        ports: [.init(name: "http", port: port, targetPort: "http", protocol: "TCP")]))
    }

    /// What scales `group`: the HTTP add-on for a serverless group; a KEDA ScaledObject on CPU and the
    /// asynchronous queue when Prometheus scrapes the pods and the servers take asynchronous requests; else a
    /// HorizontalPodAutoscaler on CPU.
    private func scaler(_ group: PlacementPlan.Group) -> Kubernetes.Object {
        if let serverless = group.serverless { return .httpScaledObject(httpScaledObject(group, idleSeconds: serverless.idleSeconds)) }
        guard !configuration.kubernetes.prometheusURL.isEmpty, configuration.server.asyncMaxQueued > 0 else { return .autoscaler(autoscaler(group)) }
        return .scaledObject(scaledObject(group))
    }

    /// Scales `group` between 1 and `kubernetes.max_replicas` pods on CPU at `pack.cpu_utilization` and on the
    /// asynchronous requests its pods hold (`shoal_async_queued`), one pod per `kubernetes.async_queued_per_pod`.
    private func scaledObject(_ group: PlacementPlan.Group) -> Kubernetes.ScaledObject {
        let utilization = Int((configuration.pack.cpuUtilization * 100).rounded())
        let query = "sum(shoal_async_queued{namespace=\"\(namespace)\",pod=~\"\(Self.name(group))-.*\"}) or vector(0)"
        return Kubernetes.ScaledObject(
            metadata: metadata(Self.name(group), component: "server", group: group.name),
            spec: .init(
                scaleTargetRef: .init(name: Self.name(group)), minReplicaCount: 1, maxReplicaCount: configuration.kubernetes.maxReplicas,
                triggers: [
                    .init(type: "cpu", metricType: "Utilization", metadata: ["value": String(utilization)]),
                    .init(type: "prometheus", metadata: [
                        "serverAddress": configuration.kubernetes.prometheusURL, "query": query,
                        "threshold": String(configuration.kubernetes.asyncQueuedPerPod),
                    ]),
                ]))
    }

    private func autoscaler(_ group: PlacementPlan.Group) -> Kubernetes.HorizontalPodAutoscaler {
        let utilization = Int((configuration.pack.cpuUtilization * 100).rounded())
        return Kubernetes.HorizontalPodAutoscaler(
            metadata: metadata(Self.name(group), component: "server", group: group.name),
            spec: .init(
                scaleTargetRef: .init(apiVersion: "apps/v1", kind: Kubernetes.Deployment.kind, name: Self.name(group)),
                minReplicas: 1, maxReplicas: configuration.kubernetes.maxReplicas,
                metrics: [.init(resource: .init(name: "cpu", target: .init(averageUtilization: utilization)))]))
    }

    /// The KEDA HTTP add-on's interceptor proxy as its chart installs it (release in namespace `keda`).
    public static let kedaInterceptor = "http://keda-add-ons-http-interceptor-proxy.keda.svc:8080"

    /// Scales a serverless group between 0 and `kubernetes.max_replicas` pods by the requests the interceptor
    /// sees for the group's Service host (with and without the port, as the gateway sends it).
    private func httpScaledObject(_ group: PlacementPlan.Group, idleSeconds: Double) -> Kubernetes.HTTPScaledObject {
        let host = "\(Self.name(group)).\(namespace).svc"
        return Kubernetes.HTTPScaledObject(
            metadata: metadata(Self.name(group), component: "server", group: group.name),
            spec: .init(
                hosts: [host, "\(host):\(group.port)"],
                scaleTargetRef: .init(name: Self.name(group), service: Self.name(group), port: group.port),
                replicas: .init(min: 0, max: configuration.kubernetes.maxReplicas),
                scaledownPeriod: max(1, Int(idleSeconds.rounded(.up)))))
    }

    private func disruptionBudget() -> Kubernetes.PodDisruptionBudget {
        Kubernetes.PodDisruptionBudget(
            metadata: metadata("shoal-servers", component: "server", group: nil),
            spec: .init(maxUnavailable: 1, selector: .init(matchLabels: labels(component: "server", group: nil))))
    }

    /// Lets a Job's `container` write to the store: with an S3 store, the keys of the optional Secret `shoal-s3`;
    /// else the claim `shoal-store` mounted writable at `storeFolder`. Returns the volumes the pod needs for it.
    static func writableStore(isS3: Bool, for container: inout Kubernetes.Container) -> [Kubernetes.Volume] {
        if isS3 {
            container.envFrom = [.init(secretRef: .init(name: "shoal-s3", optional: true))]
            return []
        }
        container.volumeMounts = [.init(name: "store", mountPath: storeFolder)]
        return [.init(name: "store", persistentVolumeClaim: .init(claimName: "shoal-store", readOnly: false))]
    }

    /// Containers run as an unprivileged user on a read-only root file system.
    static let securityContext = Kubernetes.SecurityContext(
        allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true,
        runAsUser: 65_532, runAsGroup: 65_532, capabilities: .init(drop: ["ALL"]))

    private func probe(_ path: String, port: Int, period: Int, failures: Int) -> Kubernetes.Probe {
        Kubernetes.Probe(httpGet: .init(path: path, port: port), periodSeconds: period, failureThreshold: failures)
    }

    /// `1400m` for 1.4 cores, rounded up, at least 100m.
    static func millicores(_ cores: Double) -> String { "\(max(100, Int((cores * 1_000).rounded(.up))))m" }

    /// `586Mi` for a byte count, rounded up.
    static func mebibytes(_ bytes: Int64) -> String { "\(max(1, (bytes + (1 << 20) - 1) >> 20))Mi" }
}
