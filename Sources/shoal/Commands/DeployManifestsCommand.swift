import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct DeployManifestsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "manifests",
        abstract: "Write the Kubernetes objects that run the plan (runtime: kubernetes), to apply with kubectl.",
        discussion: """
            Per group: a Deployment of `shoal serve` with the group's models pinned (memory from the plan, CPU from \
            the cores it gives the group, node selectors from the target), a Service and a HorizontalPodAutoscaler; \
            the gateway's Deployment and Service routing by the plan (a ConfigMap); a PodDisruptionBudget over the \
            servers; the ServiceAccount the servers run as (kubernetes.service_account, with \
            kubernetes.service_account_annotations such as eks.amazonaws.com/role-arn for IRSA). The image \
            (kubernetes.image) runs `shoal`; an S3 store is read as that account's IAM role, else with keys from the \
            optional Secret shoal-s3; a folder store comes from the PersistentVolumeClaim shoal-store. The plan's target must be an \
            instance type (not `local`): nodes are selected by it. runtime: podman plays the same Deployments here; \
            with runtime: kubernetes, `shoal deploy run` applies them with kubectl (docs/KUBERNETES.md).
            With --load-test, writes instead the load-test Job: --pods pods at once, each running `shoal test bmk` \
            with the test settings of shoal.yaml against the gateway's Service and writing results/RUN/POD.json \
            into the store, for `shoal test bma --from-store RUN`.
            Example: shoal deploy manifests --out shoal-k8s.yaml && kubectl apply -f shoal-k8s.yaml
            Example: shoal deploy manifests --load-test --pods 4 --run trial-1 | kubectl apply -f -
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "The plan to deploy; written by packing when absent.")
    var plan = "plan.json"
    @Option(name: .long, help: "Write the manifests here instead of standard output.")
    var out: String?
    @Flag(name: .customLong("load-test"), help: "Write the load-test Job (--pods, --run) instead of the deployment's objects.")
    var loadTest = false
    @OptionGroup var job: LoadTestJobOptions

    func run() async throws {
        var configuration = try options.load().configuration
        if loadTest { return try write(try job.job(configuration).yaml(), summary: "the load-test Job") }
        // The objects are for a cluster, whatever shoal.yaml's runtime: a plan packed here skips `local`.
        configuration.runtime = .kubernetes
        // A plan that exists is all the manifests need; only packing one reads the store.
        let store = FileManager.default.fileExists(atPath: plan) ? nil : try Self.localStore(configuration)
        let placement = try await DeployRunCommand.plan(at: plan, configuration: configuration, store: store, serving: false)
        let yaml = try KubernetesManifests(configuration: configuration, plan: placement).yaml()
        await Self.checkImage(configuration, plan: placement)
        try write(yaml, summary: "\(placement.groups.count) groups and the gateway")
    }

    /// Prints `yaml`, or writes it to --out and says what it holds.
    private func write(_ yaml: String, summary: String) throws {
        guard let out else {
            print(yaml, terminator: "")
            return
        }
        do {
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ControlError.file(path: out, reason: "cannot be written (\(error.localizedDescription))")
        }
        print("wrote \(summary) to \(out); apply with kubectl apply -f \(out)")
    }

    /// Warns when the image of the manifests, as built here, is for another architecture than the plan's
    /// target. Only a warning: the registry's image may be a multi-architecture one made elsewhere, and without
    /// podman or the image here there is nothing to compare.
    static func checkImage(_ configuration: ShoalConfiguration, plan: PlacementPlan) async {
        let image = configuration.kubernetes.image
        guard let target = configuration.targets.first(where: { $0.name == plan.target }),
              let podman = try? Podman.locate(configurationFile: FileManager.default.temporaryDirectory
                  .appendingPathComponent("shoal-manifests-podman").appendingPathComponent("containers.conf")),
              let architectures = try? await ContainerImage.architectures(of: image, podman: podman),
              let warning = ContainerImage.mismatch(image: image, architectures: architectures, target: target)
        else { return }
        PackCommand.warn(warning)
    }

    /// The store to read manifests from when packing; nil for an S3 store without keys here, since the
    /// cluster's servers use their own: packing then takes sizes from shoal.yaml alone, and says so.
    static func localStore(_ configuration: ShoalConfiguration) throws -> ModelStore? {
        let store = try StoreConfiguration(url: configuration.store.url)
        guard !store.isRemote || store.credentialSource != nil else {
            PackCommand.warn("no AWS keys here to read \(configuration.store.url); the plan packed now takes model "
                + "sizes from shoal.yaml alone (`shoal pack` where the keys are reads the store's manifests)")
            return nil
        }
        return try ModelStore(configuration: store)
    }
}
