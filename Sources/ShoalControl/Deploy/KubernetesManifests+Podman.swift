import Foundation

extension KubernetesManifests {
    /// The ConfigMap and Deployments of `objects()` as `podman kube play` runs them on this machine, with the
    /// fewest changes one machine without Services needs:
    ///
    /// - every pod on the host's network (`hostNetwork`), so each group listens on its own port as locally, on
    ///   `host` instead of every interface, without `ports` (podman maps those only on a bridge network);
    /// - the gateway reaches the groups at `http://host:{port}` instead of their Services;
    /// - one replica per Deployment (one port per group on one machine);
    /// - no probes (podman runs them with curl inside the image, which has none, and only under systemd);
    ///   `shoal deploy run` checks readiness itself;
    /// - a folder store mounted from `storeFolder` (a hostPath) instead of the PersistentVolumeClaim;
    /// - no ServiceAccount (podman has no API server to give one an identity); for an S3 store, the podman
    ///   secret `NAMESPACE-s3`, made from this machine's keys, instead of the Secret `shoal-s3`;
    /// - names that begin with the namespace instead of `shoal` (podman has no namespaces), so that
    ///   deployments in two namespaces do not collide; with the default namespace they are unchanged.
    func podmanObjects(host: String, storeFolder: URL?) throws -> [Kubernetes.Object] {
        try objects().compactMap { object -> Kubernetes.Object? in
            switch object {
            case .configMap(var map):
                map.metadata.name = map.metadata.name.map(podmanName)
                return .configMap(map)
            case .deployment(let deployment):
                return .deployment(podmanDeployment(deployment, host: host, storeFolder: storeFolder))
            case .service, .autoscaler, .disruptionBudget, .job, .pod, .serviceAccount, .httpScaledObject, .scaledObject:
                return nil
            }
        }
    }

    /// `podmanObjects` as one YAML stream for `podman kube play`.
    public func podmanYAML(host: String, storeFolder: URL?) throws -> String {
        try Self.yaml(podmanObjects(host: host, storeFolder: storeFolder))
    }

    /// What `podman kube play` makes of the Deployments: per Deployment one pod and its container, each with
    /// the address it answers at and the models it serves, and the volume made from the ConfigMap.
    public func podmanMembers(host: String) -> (members: [PodmanDeployment.Member], volumes: [String]) {
        var members = plan.groups.map { group in
            PodmanDeployment.Member(name: group.name, pod: Self.podName(podmanName(Self.name(group))),
                                    container: "server", host: host, port: group.port, models: group.servedModels)
        }
        members.append(PodmanDeployment.Member(
            name: DeploymentSpec.gatewayName, pod: Self.podName(podmanName("shoal-gateway")), container: "gateway",
            host: host, port: configuration.server.gatewayPort, models: configuration.models.map(\.name)))
        return (members, [podmanName("shoal-plan")])
    }

    /// The podman secret standing for `shoal-s3` in the servers' pods.
    var podmanSecret: String { podmanName("shoal-s3") }

    /// podman names the one pod of Deployment `name` `name-pod-0`.
    static func podName(_ deployment: String) -> String { "\(deployment)-pod-0" }

    /// `shoal-group-0` as `NAMESPACE-group-0`.
    func podmanName(_ name: String) -> String { Self.podmanName(name, namespace: configuration.kubernetes.namespace) }

    /// `shoal-group-0` as `NAMESPACE-group-0`.
    static func podmanName(_ name: String, namespace: String) -> String {
        name.hasPrefix("shoal-") ? namespace + name.dropFirst("shoal".count) : name
    }

    private func podmanDeployment(_ deployment: Kubernetes.Deployment, host: String, storeFolder: URL?) -> Kubernetes.Deployment {
        var deployment = deployment
        deployment.metadata.name = deployment.metadata.name.map(podmanName)
        deployment.spec.replicas = 1
        var pod = deployment.spec.template.spec
        pod.hostNetwork = true
        pod.serviceAccountName = nil
        pod.containers = pod.containers.map { container in
            var container = container
            container.ports = nil
            container.startupProbe = nil
            container.readinessProbe = nil
            container.livenessProbe = nil
            container.args = Self.replacing("--host", with: host, in: container.args)
            container.args = Self.replacing("--group-url", with: "http://\(host):{port}", in: container.args)
            // No KEDA on one machine: serverless groups run like the others.
            if let index = container.args.firstIndex(of: "--serverless-proxy") { container.args.removeSubrange(index...index + 1) }
            container.envFrom = container.envFrom?.map { .init(secretRef: .init(name: podmanName($0.secretRef.name), optional: $0.secretRef.optional)) }
            return container
        }
        pod.volumes = pod.volumes.map { volume in
            var volume = volume
            if let configMap = volume.configMap { volume.configMap = .init(name: podmanName(configMap.name)) }
            if volume.persistentVolumeClaim != nil, let storeFolder {
                volume.persistentVolumeClaim = nil
                volume.hostPath = .init(path: storeFolder.path, type: "Directory")
            }
            return volume
        }
        deployment.spec.template.spec = pod
        return deployment
    }

    /// `arguments` with the value after `option` replaced, when the option is there.
    static func replacing(_ option: String, with value: String, in arguments: [String]) -> [String] {
        guard let index = arguments.firstIndex(of: option), index + 1 < arguments.count else { return arguments }
        var arguments = arguments
        arguments[index + 1] = value
        return arguments
    }
}
