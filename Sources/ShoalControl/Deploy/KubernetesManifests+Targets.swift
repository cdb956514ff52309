extension KubernetesManifests {
    /// The node labels a server pod of `target` is selected by: the well-known labels every node carries, set
    /// by the kubelet from its cloud instance.
    static func nodeSelector(of target: ShoalConfiguration.TargetSpec) -> [String: String] {
        [architectureLabel: target.architecture.rawValue, instanceTypeLabel: target.name]
    }

    /// The devices a server pod of `target` requests (requests and limits alike, as extended resources need):
    /// `nvidia.com/gpu: "1"` on a one-GPU machine, none on a CPU machine. The engine does not use them; the
    /// request keeps one pod per machine's devices and lets it tolerate nothing but its own node group.
    static func devices(of target: ShoalConfiguration.TargetSpec) -> [String: String] {
        guard let resource = target.accelerator.kind.resourceName else { return [:] }
        return [resource: String(target.accelerator.count)]
    }

    /// The tolerations of a server pod of `target`: the taint of its node group, if it has one.
    static func tolerations(of target: ShoalConfiguration.TargetSpec) -> [Kubernetes.Toleration]? {
        NodeTaint(target).map { [Kubernetes.Toleration(key: $0.key, operator: "Equal", value: $0.value, effect: $0.effect)] }
    }

    static let architectureLabel = "kubernetes.io/arch"
    static let instanceTypeLabel = "node.kubernetes.io/instance-type"
}

/// The taint `shoal provision` puts on the node group of an accelerator target, which the manifests' server
/// pods of that target tolerate: only pods that want the devices run there (the gateway stays on CPU nodes).
/// The key is the device's resource name, which the device plugins' own DaemonSets tolerate too.
struct NodeTaint: Equatable {
    var key: String
    var value = "true"
    var effect = "NoSchedule"

    /// The taint of `target`'s node group; nil for a machine without accelerators.
    init?(_ target: ShoalConfiguration.TargetSpec) {
        guard let resource = target.accelerator.kind.resourceName else { return nil }
        key = resource
    }
}
