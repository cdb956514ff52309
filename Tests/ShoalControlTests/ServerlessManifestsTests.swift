import Foundation
import Testing
import Yams
@testable import ShoalControl

/// The Kubernetes objects of serverless groups: a KEDA HTTP add-on HTTPScaledObject scaling each to zero, its
/// Deployment without a fixed replica count, and the gateway sending its requests through the interceptor.
@Suite struct ServerlessManifestsTests {
    static func manifests() throws -> (KubernetesManifests, [[String: Any]]) {
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget, extra: [ServerlessTests.gamma])
        defer { fixture.remove() }
        let manifests = KubernetesManifests(configuration: fixture.configuration, plan: fixture.plan)
        let documents = try Yams.load_all(yaml: try manifests.yaml()).map { $0 as? [String: Any] ?? [:] }
        return (manifests, documents)
    }

    @Test func aServerlessGroupScalesToZeroThroughTheInterceptor() throws {
        let (manifests, documents) = try Self.manifests()
        let group = try #require(manifests.plan.groups.first { $0.serverless != nil })
        let name = "shoal-\(group.name)"
        let scaled = KubernetesManifestsTests.objects(documents, kind: "HTTPScaledObject")
        #expect(scaled.compactMap(KubernetesManifestsTests.name) == [name])
        let spec = try #require(scaled.first?["spec"] as? [String: Any])
        #expect((spec["replicas"] as? [String: Int]) == ["min": 0, "max": manifests.configuration.kubernetes.maxReplicas])
        #expect(spec["scaledownPeriod"] as? Int == 1)
        #expect((spec["hosts"] as? [String]) == ["\(name).shoal.svc", "\(name).shoal.svc:\(group.port)"])
        let target = try #require(spec["scaleTargetRef"] as? [String: Any])
        #expect(target["name"] as? String == name && target["service"] as? String == name && target["port"] as? Int == group.port)

        let autoscaled = KubernetesManifestsTests.objects(documents, kind: "HorizontalPodAutoscaler").compactMap(KubernetesManifestsTests.name)
        #expect(autoscaled.count == manifests.plan.groups.count - 1 && !autoscaled.contains(name), "KEDA owns the group's replicas")
        let deployments = KubernetesManifestsTests.objects(documents, kind: "Deployment")
        for deployment in deployments {
            let replicas = (deployment["spec"] as? [String: Any])?["replicas"]
            #expect((replicas == nil) == (KubernetesManifestsTests.name(deployment) == name))
        }
        let gateway = try #require(deployments.first { KubernetesManifestsTests.name($0) == "shoal-gateway" })
        let arguments = try #require(KubernetesManifestsTests.container(gateway)?["args"] as? [String])
        #expect(arguments.suffix(2) == ["--serverless-proxy", KubernetesManifests.kedaInterceptor])

        let podman = try manifests.podmanObjects(host: "127.0.0.1", storeFolder: nil)
        #expect(!podman.contains { $0.kind == "HTTPScaledObject" })
        let podmanGateway = podman.compactMap { object -> Kubernetes.Deployment? in
            if case .deployment(let deployment) = object, deployment.metadata.name == "shoal-gateway" { return deployment }
            return nil
        }.first
        #expect(podmanGateway?.spec.template.spec.containers.first?.args.contains("--serverless-proxy") == false)
    }

    /// The built-in kinds pass `kubernetes-validate --strict`, which only warns that it has no schema for the
    /// HTTPScaledObject; that one passes the add-on's own CRD schema (a checked-in copy), unknown fields refused.
    @Test func theObjectsPassTheirSchemas() throws {
        let (manifests, _) = try Self.manifests()
        let objects = try manifests.objects()
        let builtIn = objects.filter { $0.kind != "HTTPScaledObject" }
        let text = try KubernetesManifestsTests.validate(try KubernetesManifests.yaml(builtIn))
        #expect(text.components(separatedBy: "passed").count - 1 == builtIn.count, "\(text)")
        let keda = try KubernetesManifests.yaml(objects.filter { $0.kind == "HTTPScaledObject" })
        #expect(try Self.crdErrors(keda).isEmpty)
        // The check is a real one: a misspelt field, a wrong type and a port given twice are refused.
        let broken = keda.replacingOccurrences(of: "scaledownPeriod: 1", with: "scaleDownPeriod: 1")
            .replacingOccurrences(of: "min: 0", with: "min: none")
            .replacingOccurrences(of: "\n    service: ", with: "\n    portName: http\n    service: ")
        let errors = try Self.crdErrors(broken)
        #expect(errors.count == 3, "\(errors)")
    }

    /// What the HTTPScaledObject CRD's schema finds wrong with each object of `yaml`, with
    /// `additionalProperties: false` wherever the schema lists properties (what a structural schema prunes), and
    /// its one CEL rule (`port` or `portName`, not both) checked by hand.
    static func crdErrors(_ yaml: String) throws -> [String] {
        let crd = try #require(Bundle.module.url(forResource: "http.keda.sh_httpscaledobjects", withExtension: "yaml", subdirectory: "Fixtures/keda"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-keda-\(UUID().uuidString).yaml")
        try Data(yaml.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            import sys, yaml, jsonschema
            crd = yaml.safe_load(open(sys.argv[1]))
            schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            def close(node):
                if isinstance(node, dict):
                    if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                        node["additionalProperties"] = False
                    for value in node.values(): close(value)
                elif isinstance(node, list):
                    for value in node: close(value)
            close(schema)
            for document in yaml.safe_load_all(open(sys.argv[2])):
                for error in jsonschema.Draft7Validator(schema).iter_errors(document):
                    print("/".join(map(str, error.absolute_path)) + ": " + error.message)
                target = document.get("spec", {}).get("scaleTargetRef", {})
                if ("port" in target) == ("portName" in target):
                    print("spec/scaleTargetRef: must define either the 'portName' or the 'port'")
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, crd.path, file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "python3 with jsonschema and pyyaml (pip install jsonschema pyyaml): \(text)")
        return text.split(separator: "\n").map(String.init)
    }
}
