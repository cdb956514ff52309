import Foundation
import ShoalStore
import ShoalTesting
@testable import ShoalControl

/// Two tiny embedding models packed into two groups on loopback ports: `alpha` is hot enough for a replica
/// on each group, `beta` sits beside one of them.
struct DeployFixture {
    let root: URL
    var configuration: ShoalConfiguration
    let plan: PlacementPlan
    let directory: DeployDirectory

    /// A 2-core target named like an instance type, for objects a cluster runs (`local` names none).
    static let clusterTarget = ShoalConfiguration.TargetSpec(name: "c7i.large", cpus: 2, memory: ByteCount(4 << 30), pricePerHour: 0.0893)

    /// The fixture packed for `target` (default: this machine's `local`), with `extra` models beside alpha and beta.
    init(target: ShoalConfiguration.TargetSpec? = nil, extra: [ShoalConfiguration.ModelSpec] = []) throws {
        root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-deploy-\(UUID().uuidString)")
        let models = root.appendingPathComponent("models")
        for (seed, name) in (["alpha", "beta"] + extra.map(\.name)).enumerated() {
            try TinyModel.write(to: models.appendingPathComponent(name), architecture: .bert,
                                task: .embedding(pooling: .mean, normalize: true), seed: UInt64(seed + 1))
        }
        var configuration = ShoalConfiguration()
        configuration.models = [
            .init(name: "alpha", traffic: 200, memory: ByteCount(1 << 20), throughput: 100),
            .init(name: "beta", traffic: 30, memory: ByteCount(1 << 20), throughput: 100),
        ] + extra
        configuration.pack.target = "local"
        if let target {
            configuration.targets.append(target)
            configuration.pack.target = target.name
        }
        configuration.server.port = try LoopbackPorts.forDeployment()
        configuration.server.gatewayPort = configuration.server.port + 100
        configuration.server.threads = 1
        self.configuration = configuration
        let packing = try configuration.models.map {
            try PackingModel(spec: $0, manifest: nil, settings: configuration.pack)
        }
        plan = try Packer(configuration: configuration).plan(packing)
        directory = DeployDirectory(root: root.appendingPathComponent("deploy"))
    }

    /// The models folder the groups link to.
    var models: URL { root.appendingPathComponent("models") }

    /// The spec of the plan's groups, restarting after `restartDelayMs`; with `gateway`, the gateway too.
    func spec(gateway: Bool = false, restartDelayMs: Int = 100) throws -> DeploymentSpec {
        var gatewayPlan: String?
        if gateway {
            let file = root.appendingPathComponent("plan.json")
            try plan.encoded().write(to: file)
            gatewayPlan = file.path
        }
        var spec = try DeploymentSpec.local(
            configuration: configuration, plan: plan, source: .directory(models), executable: ShoalExecutable.executable.path,
            directory: directory, gatewayPlan: gatewayPlan)
        spec.restart.initialDelayMs = restartDelayMs
        return spec
    }

    /// Waits until `condition` holds for the deployment's state, up to `timeout`.
    func waitForState(timeout: Duration = .seconds(30), _ condition: (DeploymentState) -> Bool) async throws -> DeploymentState? {
        let deadline = ContinuousClock.now + timeout
        while true {
            // Checked once more after the deadline: a stalled test process may wake up only after it.
            let passed = ContinuousClock.now >= deadline
            if let state = try LocalDeployment(directory: directory).state(), condition(state) { return state }
            if passed { return nil }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    func remove() {
        try? FileManager.default.removeItem(at: root)
    }
}
