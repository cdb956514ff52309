import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct DeployRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start every group of the plan and the gateway, supervised, and wait until they are ready.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var deploy: DeployOptions
    @Option(name: .long, help: "The plan to deploy; written by packing when absent.")
    var plan = "plan.json"
    @Option(name: .long, help: "A folder of model folders to serve instead of the store of shoal.yaml.")
    var models: String?
    @Option(name: .long, help: "Seconds to wait for every server to become ready (runtime: kubernetes: for the whole rollout).")
    var timeout = 120

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let configuration = try options.load().configuration
        switch configuration.runtime {
        case .kubernetes:
            try await runKubernetes(configuration)
        case .podman:
            try await runPodman(configuration)
        case .local:
            try await runLocal(configuration)
        }
    }

    private func runLocal(_ configuration: ShoalConfiguration) async throws {
        try deploy.refuseIfRunning()
        // Served from the store, the plan's models must be in it (a models folder is checked when linked); the
        // store is also read to pack a plan when there is none.
        let readsStore = models == nil || !FileManager.default.fileExists(atPath: plan)
        let store = readsStore ? try configuration.openStore() : nil
        let placement = try await Self.plan(at: plan, configuration: configuration, store: store, serving: models == nil)
        let source: DeploymentSpec.ModelSource = models.map { .directory(URL(fileURLWithPath: $0).standardizedFileURL) }
            ?? .store(configuration.store.url)
        let spec = try DeploymentSpec.local(
            configuration: configuration, plan: placement, source: source, executable: Self.executable,
            directory: deploy.directory, gatewayPlan: URL(fileURLWithPath: plan).standardizedFileURL.path)
        let state = try await deploy.deployment.start(spec, timeout: .seconds(timeout))
        print(DeployStatusCommand.table(state))
        print("gateway: http://\(configuration.server.host):\(configuration.server.gatewayPort)")
    }

    /// Plays the manifests' Deployments with podman, serving the store of shoal.yaml.
    private func runPodman(_ configuration: ShoalConfiguration) async throws {
        guard models == nil else {
            throw ValidationError("--models is for runtime: local; runtime: podman serves the store of shoal.yaml (store.url)")
        }
        try deploy.refuseIfRunning()
        let deployment = PodmanDeployment(directory: deploy.directory, podman: try deploy.podman())
        // The image and the servers' keys before a plan is packed and written.
        try await deployment.requireImage(configuration.kubernetes.image)
        let store = try StoreConfiguration(url: configuration.store.url)
        let credentials = try Podman.s3Variables(for: store, neededBy: "the servers to read")
        let placement = try await Self.plan(at: plan, configuration: configuration, store: try ModelStore(configuration: store), serving: true)
        let began = ContinuousClock.now
        let state = try await deployment.start(
            KubernetesManifests(configuration: configuration, plan: placement), storeFolder: store.folder, credentials: credentials,
            timeout: .seconds(timeout))
        let ready = ContinuousClock.now - began
        print(DeployStatusCommand.table(try await deployment.status(state)))
        print("ready in \(String(format: "%.1f", Double(ready.components.seconds) + Double(ready.components.attoseconds) / 1e18)) s; "
            + "gateway: http://\(configuration.server.host):\(configuration.server.gatewayPort)")
    }

    /// Applies the manifests to the cluster of kubernetes.context with kubectl and waits for the rollout.
    private func runKubernetes(_ configuration: ShoalConfiguration) async throws {
        guard models == nil else {
            throw ValidationError("--models is for runtime: local; runtime: kubernetes serves the store of shoal.yaml (store.url)")
        }
        try deploy.refuseIfRunning()
        // As for `deploy manifests`: the cluster's servers read the store; this machine reads it only to pack a plan.
        let store = FileManager.default.fileExists(atPath: plan) ? nil : try DeployManifestsCommand.localStore(configuration)
        let placement = try await Self.plan(at: plan, configuration: configuration, store: store, serving: false)
        let deployment = KubernetesDeployment(directory: deploy.directory)
        let began = ContinuousClock.now
        let state = try await deployment.start(KubernetesManifests(configuration: configuration, plan: placement), timeout: .seconds(timeout))
        let ready = ContinuousClock.now - began
        print(DeployStatusCommand.table(try await deployment.status(state), state: state))
        print("rolled out in \(ready.components.seconds) s; gateway: Service shoal-gateway, port \(configuration.server.gatewayPort), "
            + "namespace \(state.namespace) (kubectl --context \(state.context) --namespace \(state.namespace) "
            + "port-forward service/shoal-gateway \(configuration.server.gatewayPort))")
    }

    /// The plan at `path`, or a new one packed from `configuration` with `store`'s manifests and written there.
    /// With `serving`, a plan naming models `store` lacks is refused before it is written or anything starts.
    static func plan(at path: String, configuration: ShoalConfiguration, store: ModelStore?, serving: Bool) async throws
        -> PlacementPlan
    {
        let existing = FileManager.default.contents(atPath: path)
        let plan = if let existing {
            try PlacementPlan.decode(existing, path: path)
        } else {
            try await PackCommand.plan(configuration, store: store)
        }
        if serving, let store { try await plan.requireModels(in: store) }
        if existing == nil { try PackCommand.write(plan, to: path) }
        return plan
    }

    /// This `shoal` executable, which the supervisor runs for every member.
    static var executable: String {
        (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).standardizedFileURL.path
    }
}
