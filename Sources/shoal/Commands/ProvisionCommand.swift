import ArgumentParser
import Foundation
import ShoalControl

struct ProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Write the EKS cluster the plan runs on, as an eksctl ClusterConfig to create with eksctl.",
        discussion: """
            One managed node group per target of the plan (its instance type, Amazon Linux 2023, as many nodes as \
            the plan has groups on it and up to kubernetes.max_replicas times as many); accelerator targets' \
            groups are tainted as the manifests' server pods tolerate, and a plan on accelerators alone gets a \
            small CPU node group for the gateway. The IAM OIDC provider and, for an S3 store, a role for the \
            servers' ServiceAccount that may list the bucket and read the store; the add-ons vpc-cni, coredns, \
            kube-proxy and metrics-server (for the autoscalers). Name, region and version come from the cluster \
            section of shoal.yaml unless given here. The plan is read like `shoal deploy manifests` reads it \
            (packed first when absent); a plan for `local` is refused.
            Example: shoal pack --target c7i.xlarge && shoal provision --region eu-west-1 --out cluster.yaml \
            && eksctl create cluster -f cluster.yaml && shoal deploy manifests | kubectl apply -f -
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "The plan to provision for; written by packing when absent.")
    var plan = "plan.json"
    @Option(name: .long, help: "Write the cluster definition here instead of standard output.")
    var out: String?
    @Option(name: .long, help: "The cluster's name (default: cluster.name).")
    var name: String?
    @Option(name: .long, help: "The AWS region (default: cluster.region).")
    var region: String?
    @Option(name: .long, help: "The Kubernetes version, such as 1.33 (default: cluster.version, else eksctl's).")
    var version: String?

    func run() async throws {
        var configuration = try options.load().configuration
        configuration.cluster.name = name ?? configuration.cluster.name
        configuration.cluster.region = region ?? configuration.cluster.region
        configuration.cluster.version = version ?? configuration.cluster.version
        try configuration.validate()
        // The same plan as the manifests: packed for a cluster when there is none, skipping `local`.
        configuration.runtime = .kubernetes
        let store = FileManager.default.fileExists(atPath: plan) ? nil : try DeployManifestsCommand.localStore(configuration)
        let placement = try await DeployRunCommand.plan(at: plan, configuration: configuration, store: store, serving: false)
        let yaml = try ClusterProvisioning(configuration: configuration, plan: placement).yaml()
        guard let out else {
            print(yaml, terminator: "")
            return
        }
        do {
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ControlError.file(path: out, reason: "cannot be written (\(error.localizedDescription))")
        }
        let cluster = configuration.cluster
        print("wrote the cluster \(cluster.name) (\(cluster.region)) to \(out); create it with eksctl create cluster -f \(out)")
    }
}
