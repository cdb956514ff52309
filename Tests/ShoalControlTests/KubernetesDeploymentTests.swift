import Foundation
import ShoalTesting
import Testing
@testable import ShoalControl

/// runtime: kubernetes up to the kubectl command lines and the objects they carry, against `FakeKubectl`
/// (no cluster runs here): the exact calls, the applied file passing strict schema validation, status from
/// real-shaped kubectl JSON, a rollout that never gets ready, and `stop` deleting by label what was applied.
@Suite struct KubernetesDeploymentTests {
    /// The fixture's plan for a cluster target with `context`, and a deployment whose kubectl is `fake`.
    static func deployment(_ fake: FakeKubectl, context: String = "", target: ShoalConfiguration.TargetSpec? = DeployFixture.clusterTarget)
        throws -> (DeployFixture, KubernetesManifests, KubernetesDeployment)
    {
        let fixture = try DeployFixture(target: target)
        var configuration = fixture.configuration
        configuration.kubernetes.context = context
        configuration.store.url = "s3://models/prod"
        let manifests = KubernetesManifests(configuration: configuration, plan: fixture.plan)
        return (fixture, manifests, KubernetesDeployment(directory: fixture.directory, path: fake.path))
    }

    static let kinds = ["configmap", "serviceaccount", "deployment.apps", "service", "horizontalpodautoscaler.autoscaling",
                        "poddisruptionbudget.policy"]

    @Test func runAppliesServerSideInTheContextAndNamespaceAndWaitsForEveryRollout() async throws {
        let fake = try FakeKubectl()
        defer { fake.remove() }
        let (fixture, manifests, deployment) = try Self.deployment(fake)
        defer { fixture.remove() }
        let state = try await deployment.start(manifests, timeout: .seconds(30))

        let scope = "--context kind-fleet --namespace shoal"
        let file = fixture.directory.kubernetesManifest.path
        let deployments = ["shoal-group-0", "shoal-group-1", "shoal-gateway"]
        let calls = fake.calls()
        #expect(Array(calls.prefix(3)) == [
            "--namespace shoal config current-context",
            "\(scope) get namespace shoal --output name",
            "\(scope) apply --server-side --field-manager=shoal -f \(file)",
        ])
        let rollouts = Array(calls.dropFirst(3))
        #expect(rollouts.count == deployments.count)
        for (call, name) in zip(rollouts, deployments) {
            let prefix = "\(scope) rollout status deployment/\(name) --timeout="
            #expect(call.hasPrefix(prefix), "\(call)")
            let seconds = Int(call.dropFirst(prefix.count).dropLast())
            #expect(call.hasSuffix("s") && seconds.map { (1...30).contains($0) } == true, "\(call)")
        }
        // What was applied is the manifests, and passes strict validation.
        let applied = try fake.applied()
        #expect(applied == (try manifests.yaml()))
        _ = try KubernetesManifestsTests.validate(applied)
        #expect(state.context == "kind-fleet" && state.namespace == "shoal" && state.kinds == Self.kinds)
        #expect(state.members.map(\.deployment) == deployments)
        #expect(state.members.map(\.name) == ["group-0", "group-1", "gateway"])
        #expect(try deployment.state() == state)

        // Status from the API: replicas per Deployment, restarts summed over its pods.
        let statuses = try await deployment.status(state)
        #expect(fake.calls().last == "\(scope) get deployments,pods -l app.kubernetes.io/name=shoal --output json")
        #expect(statuses.map(\.member.name) == ["group-0", "group-1", "gateway"])
        #expect(statuses.map(\.desired) == [1, 2, 2] && statuses.map(\.ready) == [1, 1, 2] && statuses.map(\.available) == [1, 1, 2])
        #expect(statuses.map(\.pods) == [1, 2, 2] && statuses.map(\.restarts) == [2, 3, 0] && statuses.allSatisfy(\.found))
        #expect(statuses[1].member.models == fixture.plan.groups[1].servedModels)

        try await deployment.logs(state, group: "group-1", follow: true)
        #expect(fake.calls().last == "\(scope) logs -l app.kubernetes.io/component=server,app.kubernetes.io/name=shoal,shoal.dev/group=group-1 "
            + "--prefix --all-containers --tail=-1 --follow --max-log-requests=100")
        try await deployment.logs(state, group: nil, follow: false)
        #expect(fake.calls().last == "\(scope) logs -l app.kubernetes.io/name=shoal --prefix --all-containers --tail=-1")
        await #expect(throws: ControlError.self) { try await deployment.logs(state, group: "group-9", follow: false) }

        #expect(try await deployment.stop() == state)
        #expect(fake.calls().last == "\(scope) delete \(Self.kinds.joined(separator: ",")) -l app.kubernetes.io/name=shoal --ignore-not-found --wait=false")
        #expect(try deployment.state() == nil)
        #expect(!FileManager.default.fileExists(atPath: file))
        let count = fake.calls().count
        #expect(try await deployment.stop() == nil)
        #expect(fake.calls().count == count)
    }

    @Test func aRolloutThatNeverGetsReadyNamesThePodsAndWhyAndStopDeletesByLabel() async throws {
        var cluster = FakeKubectl.Cluster()
        cluster.rolloutFinishes = false
        let fake = try FakeKubectl(cluster)
        defer { fake.remove() }
        let (fixture, manifests, deployment) = try Self.deployment(fake, context: "prod-eu")
        defer { fixture.remove() }
        let error = await #expect(throws: ControlError.self) { try await deployment.start(manifests, timeout: .seconds(2)) }
        let message = error?.description ?? ""
        #expect(message.contains("shoal-group-0 did not finish rolling out within 2 s"), "\(message)")
        #expect(message.contains("timed out waiting for the condition"), "\(message)")
        #expect(message.contains(#"pod shoal-group-0-7c9f5d8b4-x2lq9 (group-0): container server: ImagePullBackOff: Back-off pulling image "registry.example.com/shoal:1.0""#),
                "\(message)")
        #expect(message.contains("pod shoal-group-1-7c9f5d8b4-h8k2m (group-1): PodScheduled Unschedulable: 0/3 nodes are available: "
            + "3 node(s) didn't match Pod's node affinity/selector."), "\(message)")
        #expect(!message.contains("shoal-gateway-7c9f5d8b4-a1b2c"), "the ready gateway pod is not named: \(message)")
        #expect(message.contains("`shoal deploy stop` removes what was applied"), "\(message)")

        let scope = "--context prod-eu --namespace shoal"
        let calls = fake.calls()
        #expect(calls.first == "\(scope) get namespace shoal --output name")
        #expect(calls.filter { $0.contains("rollout status") }.count == 1)
        #expect(calls.last == "\(scope) get pods -l app.kubernetes.io/name=shoal --output json")

        // What was applied is recorded, and `stop` deletes it by label with the kinds applied.
        let state = try #require(try deployment.state())
        #expect(state.context == "prod-eu" && state.kinds == Self.kinds)
        try await deployment.stop()
        #expect(fake.calls().last == "\(scope) delete \(Self.kinds.joined(separator: ",")) -l app.kubernetes.io/name=shoal --ignore-not-found --wait=false")
        #expect(try deployment.state() == nil)
    }

    @Test func withoutKubectlOrItsNamespaceNothingIsRecordedOrApplied() async throws {
        let fake = try FakeKubectl()
        defer { fake.remove() }
        let (fixture, manifests, _) = try Self.deployment(fake)
        defer { fixture.remove() }
        let empty = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-empty-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: empty) }
        let missing = KubernetesDeployment(directory: fixture.directory, path: empty.path)
        let error = await #expect(throws: ControlError.self) { try await missing.start(manifests) }
        #expect(error?.description.contains("kubectl is not on PATH") == true, "\(String(describing: error))")
        #expect(error?.description.contains("https://kubernetes.io/docs/tasks/tools/") == true)
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.root.path))

        var cluster = FakeKubectl.Cluster()
        cluster.namespaceExists = false
        let withoutNamespace = try FakeKubectl(cluster)
        defer { withoutNamespace.remove() }
        let refused = KubernetesDeployment(directory: fixture.directory, path: withoutNamespace.path)
        let namespaceError = await #expect(throws: ControlError.self) { try await refused.start(manifests) }
        #expect(namespaceError?.description.contains("does not exist") == true, "\(String(describing: namespaceError))")
        #expect(namespaceError?.description.contains("create it with kubectl --context kind-fleet create namespace shoal") == true)
        #expect(!withoutNamespace.calls().contains { $0.contains(" apply ") })
        #expect(!FileManager.default.fileExists(atPath: fixture.directory.root.path))
    }

    /// A plan packed for this machine names no instance type: refused before kubectl is even looked for.
    @Test func aPlanForThisMachineIsRefusedBeforeKubectlIsCalled() async throws {
        let fake = try FakeKubectl()
        defer { fake.remove() }
        let (fixture, manifests, deployment) = try Self.deployment(fake, target: nil)
        defer { fixture.remove() }
        let error = await #expect(throws: ControlError.self) { try await deployment.start(manifests) }
        #expect(error?.description.contains("plan.target: 'local' is not valid") == true, "\(String(describing: error))")
        #expect(fake.calls().isEmpty)
        #expect(try deployment.state() == nil)
    }
}
