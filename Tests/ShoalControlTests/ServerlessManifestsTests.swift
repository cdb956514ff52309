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

    /// What a KEDA CRD's schema (`http.keda.sh_httpscaledobjects` or `keda.sh_scaledobjects`) finds wrong with
    /// each object of `yaml`, with `additionalProperties: false` wherever the schema lists properties (what a
    /// structural schema prunes), and the CEL rules that bear on what Shoal writes checked by hand: an
    /// HTTPScaledObject's `port` or `portName`, not both; a ScaledObject's fewest replicas at most its most.
    static func crdErrors(_ yaml: String, crd name: String = "http.keda.sh_httpscaledobjects") throws -> [String] {
        let crd = try #require(Bundle.module.url(forResource: name, withExtension: "yaml", subdirectory: "Fixtures/keda"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-keda-\(UUID().uuidString).yaml")
        try Data(yaml.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            from sys import argv
            from yaml import safe_load, safe_load_all
            from jsonschema import Draft7Validator
            crd = safe_load(open(argv[1]))
            schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
            def close(node):
                if isinstance(node, dict):
                    if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                        node["additionalProperties"] = False
                    for value in node.values(): close(value)
                elif isinstance(node, list):
                    for value in node: close(value)
            close(schema)
            for document in safe_load_all(open(argv[2])):
                for error in Draft7Validator(schema).iter_errors(document):
                    print("/".join(map(str, error.absolute_path)) + ": " + error.message)
                spec = document.get("spec", {})
                target = spec.get("scaleTargetRef", {})
                if document.get("kind") == "HTTPScaledObject" and ("port" in target) == ("portName" in target):
                    print("spec/scaleTargetRef: must define either the 'portName' or the 'port'")
                if spec.get("minReplicaCount", 0) > spec.get("maxReplicaCount", 100):
                    print("spec: minReplicaCount must be less than or equal to maxReplicaCount")
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

    /// With Prometheus scraping the pods, each group that is not serverless is scaled by a KEDA ScaledObject on
    /// CPU and on its asynchronous queue, which passes KEDA's own CRD schema; a serverless group keeps the HTTP
    /// add-on and takes no asynchronous requests, whose queue would go with its pod when scaled to zero.
    @Test func withPrometheusGroupsScaleOnTheirAsynchronousQueue() throws {
        var fixture = try DeployFixture(target: DeployFixture.clusterTarget, extra: [ServerlessTests.gamma])
        defer { fixture.remove() }
        fixture.configuration.kubernetes.prometheusURL = "http://prometheus.monitoring.svc:9090"
        try fixture.configuration.validate()
        let manifests = KubernetesManifests(configuration: fixture.configuration, plan: fixture.plan)
        let objects = try manifests.objects()
        let scaled = objects.compactMap { object -> Kubernetes.ScaledObject? in
            if case .scaledObject(let scaled) = object { return scaled }
            return nil
        }
        let steady = fixture.plan.groups.filter { $0.serverless == nil }
        #expect(scaled.map(\.metadata.name) == steady.map(KubernetesManifests.name))
        #expect(!objects.contains { $0.kind == "HorizontalPodAutoscaler" })
        let triggers = try #require(scaled.first?.spec.triggers)
        #expect(triggers.map(\.type) == ["cpu", "prometheus"])
        #expect(triggers[1].metadata["query"] == "sum(shoal_async_queued{namespace=\"shoal\",pod=~\"shoal-\(steady[0].name)-.*\"}) or vector(0)")
        #expect(triggers[1].metadata["threshold"] == "100" && scaled.first?.spec.minReplicaCount == 1)

        let yaml = try KubernetesManifests.yaml(objects.filter { $0.kind == "ScaledObject" })
        #expect(try Self.crdErrors(yaml, crd: "keda.sh_scaledobjects").isEmpty)
        let broken = yaml.replacingOccurrences(of: "minReplicaCount: 1", with: "minReplicaCount: 9")
            .replacingOccurrences(of: "    metadata:\n      value:", with: "    metadata:\n      valu:")
            .replacingOccurrences(of: "  triggers:", with: "  trigger:")
        #expect(try Self.crdErrors(broken, crd: "keda.sh_scaledobjects").count >= 2)

        for case .deployment(let deployment) in objects where deployment.metadata.name?.hasPrefix("shoal-group") == true {
            let arguments = deployment.spec.template.spec.containers[0].args
            let serverless = fixture.plan.groups.first { KubernetesManifests.name($0) == deployment.metadata.name }?.serverless != nil
            #expect(arguments.contains("--async-dir") != serverless, "\(deployment.metadata.name)")
        }
        fixture.configuration.kubernetes.prometheusURL = "prometheus:9090"
        #expect(throws: ControlError.self) { try fixture.configuration.validate() }
    }
}
