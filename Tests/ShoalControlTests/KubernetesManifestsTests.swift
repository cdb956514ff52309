import Foundation
import Testing
import Yams
@testable import ShoalControl

@Suite struct KubernetesManifestsTests {
    /// The fixture's two groups (alpha on both, beta beside one) as Kubernetes objects.
    static func manifests(store: String = "./.shoal/store") throws -> (KubernetesManifests, [[String: Any]]) {
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget)
        defer { fixture.remove() }
        var configuration = fixture.configuration
        configuration.store.url = store
        let manifests = KubernetesManifests(configuration: configuration, plan: fixture.plan)
        let documents = try Yams.load_all(yaml: try manifests.yaml()).map { $0 as? [String: Any] ?? [:] }
        return (manifests, documents)
    }

    static func objects(_ documents: [[String: Any]], kind: String) -> [[String: Any]] {
        documents.filter { $0["kind"] as? String == kind }
    }

    static func name(_ object: [String: Any]) -> String? { (object["metadata"] as? [String: Any])?["name"] as? String }

    static func container(_ deployment: [String: Any]) -> [String: Any]? {
        let spec = (deployment["spec"] as? [String: Any])?["template"] as? [String: Any]
        return ((spec?["spec"] as? [String: Any])?["containers"] as? [[String: Any]])?.first
    }

    @Test func everyGroupGetsADeploymentServiceAndAutoscalerServingItsModels() throws {
        let (manifests, documents) = try Self.manifests()
        let plan = manifests.plan
        #expect(documents.compactMap { $0["kind"] as? String } == ["ConfigMap"]
            + plan.groups.flatMap { _ in ["Deployment", "Service", "HorizontalPodAutoscaler"] }
            + ["PodDisruptionBudget", "Deployment", "Service"])
        #expect(documents.allSatisfy { ($0["metadata"] as? [String: Any])?["namespace"] as? String == "shoal" })
        let deployments = Self.objects(documents, kind: "Deployment")
        for group in plan.groups {
            let deployment = try #require(deployments.first { Self.name($0) == "shoal-\(group.name)" })
            let arguments = try #require(Self.container(deployment)?["args"] as? [String])
            let pinned = stride(from: 0, to: arguments.count - 1, by: 1).filter { arguments[$0] == "--pin" }.map { arguments[$0 + 1] }
            #expect(Set(pinned) == Set(group.placements.map(\.model)))
            #expect(arguments.starts(with: ["serve", "--store", KubernetesManifests.storeFolder]))
            let resources = try #require(Self.container(deployment)?["resources"] as? [String: [String: Any]])
            #expect(resources["requests"]?["memory"] as? String == KubernetesManifests.mebibytes(group.memory))
            #expect(resources["requests"]?["cpu"] as? String == KubernetesManifests.millicores(group.cores))
            let service = try #require(Self.objects(documents, kind: "Service").first { Self.name($0) == "shoal-\(group.name)" })
            let ports = (service["spec"] as? [String: Any])?["ports"] as? [[String: Any]]
            #expect(ports?.first?["port"] as? Int == group.port)
        }
        let autoscaler = try #require(Self.objects(documents, kind: "HorizontalPodAutoscaler").first)
        let spec = try #require(autoscaler["spec"] as? [String: Any])
        #expect(spec["maxReplicas"] as? Int == manifests.configuration.kubernetes.maxReplicas)
        #expect(KubernetesManifests.millicores(1.4) == "1400m" && KubernetesManifests.mebibytes(1 << 20 + 1) == "2Mi")
    }

    /// The gateway reads the plan from the ConfigMap and reaches each group at its Service's name and port.
    @Test func theGatewayRoutesToTheGroupsServices() throws {
        let (manifests, documents) = try Self.manifests()
        let configMap = try #require(Self.objects(documents, kind: "ConfigMap").first)
        let json = try #require((configMap["data"] as? [String: String])?["plan.json"])
        #expect(try PlacementPlan.decode(Data(json.utf8), path: "configmap").groups == manifests.plan.groups)
        let gateway = try #require(Self.objects(documents, kind: "Deployment").first { Self.name($0) == "shoal-gateway" })
        let arguments = try #require(Self.container(gateway)?["args"] as? [String])
        let template = try #require(arguments.firstIndex(of: "--group-url").map { arguments[$0 + 1] })
        let routes = GatewayRoutes(plan: manifests.plan, groupURL: template)
        let services = Self.objects(documents, kind: "Service").compactMap { service -> String? in
            guard let name = Self.name(service), let port = ((service["spec"] as? [String: Any])?["ports"] as? [[String: Any]])?.first?["port"] as? Int
            else { return nil }
            return "http://\(name).shoal.svc:\(port)"
        }
        #expect(routes.replicas["alpha"]?.count == 2)
        for url in routes.replicas.values.flatMap({ $0 }) { #expect(services.contains(url), "\(url) is no Service") }
    }

    @Test func anS3StoreIsReadDirectlyWithKeysFromASecret() throws {
        let (_, documents) = try Self.manifests(store: "s3://models/prod?endpoint=http://minio:9000")
        let deployment = try #require(Self.objects(documents, kind: "Deployment").first)
        let container = try #require(Self.container(deployment))
        let arguments = try #require(container["args"] as? [String])
        #expect(arguments.starts(with: ["serve", "--store", "s3://models/prod?endpoint=http://minio:9000", "--cache-dir"]))
        let secret = (container["envFrom"] as? [[String: Any]])?.first?["secretRef"] as? [String: Any]
        #expect(secret?["name"] as? String == "shoal-s3")
    }

    /// The YAML reads back into the same typed objects, for both kinds of store.
    @Test func theYAMLDecodesBackToTheObjects() throws {
        for store in ["./.shoal/store", "s3://models/prod"] {
            let (manifests, _) = try Self.manifests(store: store)
            let documents = try manifests.yaml().components(separatedBy: "---\n")
            let decoded = try documents.map { try YAMLDecoder().decode(Kubernetes.Object.self, from: $0) }
            #expect(decoded == (try manifests.objects()))
            #expect(decoded.map(\.kind).first == "ConfigMap")
        }
    }

    /// `kubernetes-validate --strict` (offline schemas) accepts every object, with no warning either: an
    /// unknown apiVersion only warns, so a WARN line fails the test too.
    @Test func manifestsPassStrictSchemaValidation() throws {
        for store in ["./.shoal/store", "s3://models/prod"] {
            let (manifests, _) = try Self.manifests(store: store)
            try Self.expectStrictlyValid(manifests)
        }
    }

    /// Runs `kubernetes-validate --strict` on the manifests' YAML: every object passes, none warns.
    static func expectStrictlyValid(_ manifests: KubernetesManifests, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let yaml = try manifests.yaml()
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-k8s-\(UUID().uuidString).yaml")
        try Data(yaml.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["kubernetes-validate", "--strict", file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "kubernetes-validate (pip install kubernetes-validate): \(text)", sourceLocation: sourceLocation)
        #expect(!text.contains("WARN"), "\(text)", sourceLocation: sourceLocation)
        let objects = yaml.components(separatedBy: "---\n").count
        #expect(text.components(separatedBy: "passed").count - 1 == objects, "\(text)", sourceLocation: sourceLocation)
    }
}
