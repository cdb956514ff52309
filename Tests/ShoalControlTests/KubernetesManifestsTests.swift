import Foundation
import Testing
import Yams
@testable import ShoalControl

@Suite struct KubernetesManifestsTests {
    /// The fixture's two groups (alpha on both, beta beside one) as Kubernetes objects.
    static func manifests(store: String = "./.shoal/store", annotations: [String: String] = [:]) throws -> (KubernetesManifests, [[String: Any]]) {
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget)
        defer { fixture.remove() }
        var configuration = fixture.configuration
        configuration.store.url = store
        configuration.kubernetes.serviceAccountAnnotations = annotations
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
        #expect(documents.compactMap { $0["kind"] as? String } == ["ConfigMap", "ServiceAccount"]
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

    /// Servers run as the ServiceAccount the manifests hold, annotated for IRSA when asked: an S3 store is read
    /// with the role bound to it, and no key is written anywhere (the Secret stays optional).
    @Test func serversRunAsTheServiceAccountAnIAMRoleIsBoundTo() throws {
        let role = "arn:aws:iam::123456789012:role/shoal-store-reader"
        let (manifests, documents) = try Self.manifests(store: "s3://models/prod", annotations: ["eks.amazonaws.com/role-arn": role])
        let account = try #require(Self.objects(documents, kind: "ServiceAccount").first)
        let metadata = try #require(account["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "shoal" && metadata["namespace"] as? String == "shoal")
        #expect((metadata["annotations"] as? [String: String]) == ["eks.amazonaws.com/role-arn": role])
        #expect((metadata["labels"] as? [String: String])?[KubernetesManifests.nameLabel] == "shoal")
        for deployment in Self.objects(documents, kind: "Deployment") {
            let pod = ((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
            let isServer = Self.name(deployment) != "shoal-gateway"
            #expect((pod?["serviceAccountName"] as? String) == (isServer ? "shoal" : nil), "\(Self.name(deployment) ?? "")")
            let secret = (Self.container(deployment)?["envFrom"] as? [[String: Any]])?.first?["secretRef"] as? [String: Any]
            #expect(secret?["optional"] as? Bool == (isServer ? true : nil))
        }
        let yaml = try manifests.yaml()
        #expect(!yaml.contains("AWS_ACCESS_KEY_ID") && !yaml.contains("AWS_SECRET_ACCESS_KEY"))

        // Without annotations (EKS Pod Identity: the association is made on the cluster's side) none is written.
        let (_, plain) = try Self.manifests(store: "s3://models/prod")
        let plainAccount = try #require(Self.objects(plain, kind: "ServiceAccount").first)
        #expect((plainAccount["metadata"] as? [String: Any])?["annotations"] == nil)
    }

    /// The YAML reads back into the same typed objects, for both kinds of store.
    @Test func theYAMLDecodesBackToTheObjects() throws {
        for store in ["./.shoal/store", "s3://models/prod"] {
            let (manifests, _) = try Self.manifests(store: store)
            let documents = try manifests.yaml().components(separatedBy: "---\n")
            let decoded = try documents.map { try YAMLDecoder().decode(Kubernetes.Object.self, from: $0) }
            #expect(decoded == (try manifests.objects()))
            #expect(decoded.map(\.kind).prefix(2) == ["ConfigMap", "ServiceAccount"])
        }
    }

    /// `kubernetes-validate --strict` (offline schemas) accepts every object, with no warning either: an
    /// unknown apiVersion only warns, so a WARN line fails the test too.
    @Test func manifestsPassStrictSchemaValidation() throws {
        let irsa = ["eks.amazonaws.com/role-arn": "arn:aws:iam::123456789012:role/shoal-store-reader"]
        for (store, annotations) in [("./.shoal/store", [:]), ("s3://models/prod", [:]), ("s3://models/prod", irsa)] {
            let (manifests, _) = try Self.manifests(store: store, annotations: annotations)
            try Self.expectStrictlyValid(manifests)
        }
    }

    /// Runs `kubernetes-validate --strict` on the manifests' YAML: every object passes, none warns.
    static func expectStrictlyValid(_ manifests: KubernetesManifests, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let yaml = try manifests.yaml()
        let text = try validate(yaml, sourceLocation: sourceLocation)
        let objects = yaml.components(separatedBy: "---\n").count
        #expect(text.components(separatedBy: "passed").count - 1 == objects, "\(text)", sourceLocation: sourceLocation)
    }

    /// Runs `kubernetes-validate --strict` on `yaml` and returns what it printed; records an issue unless it
    /// passed without a warning (an unknown apiVersion only warns).
    static func validate(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws -> String {
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
        return text
    }
}
