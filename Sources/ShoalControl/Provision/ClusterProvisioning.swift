import ShoalStore
import Yams

/// The EKS cluster a plan runs on, as the eksctl `ClusterConfig` that `shoal provision` writes:
///
/// - one managed node group per target of the plan, of that instance type, holding as many nodes as the
///   plan has groups on it and up to `kubernetes.max_replicas` times as many for the autoscaler's pods;
///   an accelerator target's group is tainted (`NodeTaint`) as the manifests' server pods tolerate;
/// - a small CPU node group for the gateway when every target of the plan has accelerators (the gateway does
///   not tolerate their taints);
/// - the IAM OIDC provider, and for an S3 store on AWS a role for the servers' ServiceAccount allowed to list
///   the bucket and read the store's objects;
/// - the add-ons the manifests rely on: the VPC CNI, CoreDNS and kube-proxy, and metrics-server, which
///   feeds the HorizontalPodAutoscalers.
public struct ClusterProvisioning: Sendable {
    public let configuration: ShoalConfiguration
    public let plan: PlacementPlan
    /// The ServiceAccount the server pods run as (`kubernetes.service_account`), which the IAM role is for.
    var serviceAccount: String { configuration.kubernetes.serviceAccount }

    /// The add-ons every cluster gets.
    static let addons = ["vpc-cni", "coredns", "kube-proxy", "metrics-server"]
    /// The node label naming the Shoal target of a node group, and the one saying what runs there.
    static let targetLabel = "shoal.dev/target"
    static let roleLabel = "shoal.dev/role"
    /// EKS-optimised Amazon Linux 2023: eksctl picks its x86-64, arm64, NVIDIA or Neuron variant from the
    /// instance type, and installs the NVIDIA device plugin on GPU node groups.
    static let amiFamily = "AmazonLinux2023"

    public init(configuration: ShoalConfiguration, plan: PlacementPlan) {
        self.configuration = configuration
        self.plan = plan
    }

    /// The cluster definition; refuses a plan packed for `local`, a target the configuration does not define,
    /// and a plan on accelerators alone when no CPU target is defined for the gateway.
    func clusterConfig() throws -> EKSClusterConfig {
        guard plan.target != KubernetesManifests.machineTarget else {
            throw ControlError.invalidValue(
                key: "plan.target", value: plan.target,
                expected: "a target naming a real instance type (such as c7i.xlarge) for a cluster's node groups; pack for one "
                    + "(`shoal pack --target c7i.xlarge`, or set pack.target) and provision again")
        }
        let used = try usedTargets()
        var nodeGroups = used.map { target, groups in
            nodeGroup(target, role: "server", minSize: groups, maxSize: groups * configuration.kubernetes.maxReplicas)
        }
        if used.allSatisfy({ $0.target.hasAccelerator }) {
            nodeGroups.append(nodeGroup(try gatewayTarget(architecture: used[0].target.architecture), role: "gateway",
                                        minSize: 1, maxSize: configuration.kubernetes.gatewayReplicas))
        }
        return EKSClusterConfig(
            metadata: .init(name: configuration.cluster.name, region: configuration.cluster.region,
                            version: configuration.cluster.version.isEmpty ? nil : configuration.cluster.version),
            iam: .init(withOIDC: true, serviceAccounts: try storeAccount().map { [$0] }),
            addons: Self.addons.map { .init(name: $0) },
            managedNodeGroups: nodeGroups)
    }

    /// The definition as YAML with sorted keys, headed by the command that creates the cluster from it.
    public func yaml() throws -> String {
        let encoder = YAMLEncoder()
        encoder.options.width = -1
        encoder.options.sortKeys = true  // labels and conditions are dictionaries, whose order varies by process
        return "# eksctl create cluster -f THIS_FILE, then kubectl apply -f the output of `shoal deploy manifests`.\n"
            + (try encoder.encode(clusterConfig()))
    }

    /// The targets of the plan's groups, in the plan's order, with how many groups each has.
    func usedTargets() throws -> [(target: ShoalConfiguration.TargetSpec, groups: Int)] {
        var used: [(target: ShoalConfiguration.TargetSpec, groups: Int)] = []
        for group in plan.groups {
            if let index = used.firstIndex(where: { $0.target.name == group.target }) {
                used[index].groups += 1
                continue
            }
            guard let target = configuration.targets.first(where: { $0.name == group.target }) else {
                throw ControlError.unknownName(
                    key: "plan.groups.\(group.name).target", name: group.target, valid: configuration.targets.map(\.name))
            }
            used.append((target, 1))
        }
        return used
    }

    /// The cheapest CPU target of `architecture` (the image's) for the gateway's node group.
    func gatewayTarget(architecture: ShoalConfiguration.TargetSpec.Architecture) throws -> ShoalConfiguration.TargetSpec {
        let candidates = configuration.targets.filter {
            !$0.hasAccelerator && $0.architecture == architecture && $0.name != KubernetesManifests.machineTarget
        }
        guard let cheapest = candidates.min(by: { ($0.pricePerHour, $0.name) < ($1.pricePerHour, $1.name) }) else {
            throw ControlError.invalidValue(
                key: "targets", value: configuration.targets.map(\.name).joined(separator: ", "),
                expected: "a target without accelerators, of architecture \(architecture.rawValue), for the gateway's node group "
                    + "(the gateway does not tolerate the accelerator nodes' taints), such as c7i.xlarge")
        }
        return cheapest
    }

    func nodeGroup(_ target: ShoalConfiguration.TargetSpec, role: String, minSize: Int, maxSize: Int) -> EKSClusterConfig.ManagedNodeGroup {
        EKSClusterConfig.ManagedNodeGroup(
            name: Self.nodeGroupName(target, role: role), instanceType: target.name, amiFamily: Self.amiFamily,
            minSize: minSize, maxSize: max(minSize, maxSize), desiredCapacity: minSize,
            labels: [Self.targetLabel: target.name, Self.roleLabel: role],
            taints: NodeTaint(target).map { [.init(key: $0.key, value: $0.value, effect: $0.effect)] })
    }

    /// `shoal-c7i-xlarge`: eksctl's node group names allow letters, digits and '-' only.
    static func nodeGroupName(_ target: ShoalConfiguration.TargetSpec, role: String) -> String {
        let name = "shoal-" + (role == "server" ? "" : "\(role)-") + target.name
        return String(name.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "-" })
    }

    /// The servers' ServiceAccount with a policy to read an S3 store on AWS: list the bucket (under the
    /// prefix) and get its objects. Nil for a folder store (mounted from a volume) and for an S3-compatible
    /// server at another endpoint, which AWS IAM does not govern.
    func storeAccount() throws -> EKSClusterConfig.ServiceAccount? {
        // The environment's endpoint belongs to this machine, not to the cluster: only the URL's own counts.
        let store: StoreConfiguration
        do {
            store = try StoreConfiguration(url: configuration.store.url, environment: [:])
        } catch {
            throw ControlError.invalidValue(
                key: "store.url", value: configuration.store.url, expected: "a folder or s3://bucket/prefix (\(error))")
        }
        guard case .s3(let bucket, let prefix) = store.location, store.endpoint == nil else { return nil }
        let objects = prefix.isEmpty ? "arn:aws:s3:::\(bucket)/*" : "arn:aws:s3:::\(bucket)/\(prefix)/*"
        let list = EKSClusterConfig.PolicyDocument.Statement(
            action: ["s3:ListBucket"], resource: ["arn:aws:s3:::\(bucket)"],
            condition: prefix.isEmpty ? nil : ["StringLike": ["s3:prefix": [prefix, "\(prefix)/*"]]])
        let read = EKSClusterConfig.PolicyDocument.Statement(action: ["s3:GetObject"], resource: [objects])
        return EKSClusterConfig.ServiceAccount(
            metadata: .init(name: serviceAccount, namespace: configuration.kubernetes.namespace),
            attachPolicy: .init(statement: [list, read]))
    }
}
