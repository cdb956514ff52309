import Foundation
import ShoalStore
import Testing
import Yams
@testable import ShoalControl

/// `shoal provision`'s eksctl cluster definitions: checked against eksctl's own JSON Schema (a fixture), and
/// against the manifests of the same plan, which must land on the node groups defined.
@Suite struct ClusterProvisioningTests {
    /// A plan of two models on `target` of the default targets, for runtime: kubernetes: `alpha`'s traffic
    /// needs several groups on a 4-core machine.
    static func plan(on target: String, store: String = "./.shoal/store") throws -> (ShoalConfiguration, PlacementPlan) {
        var configuration = ShoalConfiguration()
        configuration.runtime = .kubernetes
        configuration.store.url = store
        configuration.pack.target = target
        configuration.models = [
            .init(name: "alpha", traffic: 900, memory: ByteCount(64 << 20), throughput: 100),
            .init(name: "beta", traffic: 30, memory: ByteCount(64 << 20), throughput: 100),
        ]
        let packing = try configuration.models.map { try PackingModel(spec: $0, manifest: nil, settings: configuration.pack) }
        return (configuration, try Packer(configuration: configuration).plan(packing))
    }

    /// The definition as YAML, checked against the schema, and as the dictionaries it decodes to.
    static func provision(_ configuration: ShoalConfiguration, _ plan: PlacementPlan) throws -> [String: Any] {
        let yaml = try ClusterProvisioning(configuration: configuration, plan: plan).yaml()
        try expectValid(yaml)
        return try #require(try Yams.load(yaml: yaml) as? [String: Any])
    }

    static func nodeGroups(_ config: [String: Any]) -> [[String: Any]] { config["managedNodeGroups"] as? [[String: Any]] ?? [] }

    /// The server Deployments' pod specs of the plan's manifests, which pass `kubernetes-validate --strict`.
    static func serverPods(_ configuration: ShoalConfiguration, _ plan: PlacementPlan) throws -> (servers: [[String: Any]], gateway: [String: Any]) {
        let manifests = KubernetesManifests(configuration: configuration, plan: plan)
        try KubernetesManifestsTests.expectStrictlyValid(manifests)
        let documents = try Yams.load_all(yaml: try manifests.yaml()).compactMap { $0 as? [String: Any] }
        let pods = KubernetesManifestsTests.objects(documents, kind: "Deployment").map { deployment in
            (KubernetesManifestsTests.name(deployment) ?? "",
             ((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any] ?? [:])
        }
        return (pods.filter { $0.0 != "shoal-gateway" }.map(\.1), try #require(pods.first { $0.0 == "shoal-gateway" }?.1))
    }

    /// eksctl's schema accepts `yaml`, per python3's `jsonschema` (Draft 7, as the schema declares).
    static func expectValid(_ yaml: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        let result = try validate(yaml)
        #expect(result.status == 0, "eksctl schema (pip install jsonschema pyyaml): \(result.output)", sourceLocation: sourceLocation)
    }

    static func validate(_ yaml: String) throws -> (status: Int32, output: String) {
        let schema = try #require(Bundle.module.url(forResource: "schema", withExtension: "json", subdirectory: "Fixtures/eksctl"))
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-cluster-\(UUID().uuidString).yaml")
        try Data(yaml.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let script = """
            json, sys, yaml, jsonschema = map(__import__, ["json", "sys", "yaml", "jsonschema"])
            schema = json.load(open(sys.argv[1]))
            document = yaml.safe_load(open(sys.argv[2]))
            errors = ["/".join(map(str, e.absolute_path)) + ": " + e.message for e in jsonschema.Draft7Validator(schema).iter_errors(document)]
            print("\\n".join(errors) or "valid")
            sys.exit(1 if errors else 0)
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", script, schema.path, file.path]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    /// The schema check is a real one: a misspelt field and a wrong type are both refused.
    @Test func theSchemaRefusesWhatEksctlWouldRefuse() throws {
        let misspelt = try Self.validate("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: a, region: us-east-1}\n"
            + "managedNodeGroups:\n  - {name: g, instanceTyp: c7i.xlarge}\n")
        #expect(misspelt.status != 0 && misspelt.output.contains("instanceTyp"), "\(misspelt.output)")
        let wrongType = try Self.validate("apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\nmetadata: {name: a, region: us-east-1}\n"
            + "managedNodeGroups:\n  - {name: g, minSize: two}\n")
        #expect(wrongType.status != 0, "\(wrongType.output)")
    }

    @Test func aCPUPlanGetsOneNodeGroupSizedByThePlan() throws {
        var (configuration, plan) = try Self.plan(on: "c7i.xlarge")
        configuration.cluster.name = "fleet"
        configuration.cluster.region = "eu-west-1"
        configuration.cluster.version = "1.33"
        #expect(plan.groups.count > 1)
        let config = try Self.provision(configuration, plan)
        #expect(config["apiVersion"] as? String == "eksctl.io/v1alpha5" && config["kind"] as? String == "ClusterConfig")
        let metadata = try #require(config["metadata"] as? [String: Any])
        #expect(metadata["name"] as? String == "fleet" && metadata["region"] as? String == "eu-west-1" && metadata["version"] as? String == "1.33")
        let groups = Self.nodeGroups(config)
        #expect(groups.count == 1)
        let group = try #require(groups.first)
        #expect(group["name"] as? String == "shoal-c7i-xlarge")
        #expect(group["instanceType"] as? String == "c7i.xlarge" && group["amiFamily"] as? String == "AmazonLinux2023")
        #expect(group["minSize"] as? Int == plan.groups.count && group["desiredCapacity"] as? Int == plan.groups.count)
        #expect(group["maxSize"] as? Int == plan.groups.count * configuration.kubernetes.maxReplicas)
        #expect(group["taints"] == nil)
        let addons = (config["addons"] as? [[String: Any]])?.compactMap { $0["name"] as? String }
        #expect(addons == ["vpc-cni", "coredns", "kube-proxy", "metrics-server"])
        #expect((config["iam"] as? [String: Any])?["withOIDC"] as? Bool == true)

        // Every server pod selects the node group's instance type and architecture and requests no device.
        let (servers, gateway) = try Self.serverPods(configuration, plan)
        #expect(servers.count == plan.groups.count)
        for pod in servers {
            #expect(pod["nodeSelector"] as? [String: String] == ["node.kubernetes.io/instance-type": "c7i.xlarge", "kubernetes.io/arch": "amd64"])
            #expect(pod["tolerations"] == nil)
        }
        #expect(gateway["tolerations"] == nil)
    }

    @Test func aGravitonPlanSelectsArm64Nodes() throws {
        let (configuration, plan) = try Self.plan(on: "c7g.4xlarge")
        let groups = Self.nodeGroups(try Self.provision(configuration, plan))
        #expect(groups.map { $0["instanceType"] as? String } == ["c7g.4xlarge"])
        #expect((groups.first?["labels"] as? [String: String])?["shoal.dev/target"] == "c7g.4xlarge")
        for pod in try Self.serverPods(configuration, plan).servers {
            #expect(pod["nodeSelector"] as? [String: String] == ["node.kubernetes.io/instance-type": "c7g.4xlarge", "kubernetes.io/arch": "arm64"])
        }
    }

    /// GPU and Inferentia node groups are tainted; the server pods request the devices and tolerate exactly
    /// those taints, and the gateway, which tolerates none, gets a CPU node group of its own.
    @Test(arguments: [("g5.xlarge", "nvidia.com/gpu"), ("inf2.xlarge", "aws.amazon.com/neuron")])
    func acceleratorNodeGroupsAreTaintedAsTheServersTolerate(target: String, resource: String) throws {
        let (configuration, plan) = try Self.plan(on: target)
        let groups = Self.nodeGroups(try Self.provision(configuration, plan))
        #expect(groups.map { $0["instanceType"] as? String } == [target, "c7i.xlarge"])
        let taints = try #require(groups.first?["taints"] as? [[String: String]])
        #expect(taints == [["key": resource, "value": "true", "effect": "NoSchedule"]])
        let gatewayGroup = try #require(groups.last)
        #expect(gatewayGroup["taints"] == nil && gatewayGroup["minSize"] as? Int == 1)
        #expect((gatewayGroup["labels"] as? [String: String])?["shoal.dev/role"] == "gateway")

        let (servers, gateway) = try Self.serverPods(configuration, plan)
        #expect(servers.count == plan.groups.count)
        for pod in servers {
            let tolerations = try #require(pod["tolerations"] as? [[String: String]])
            // A toleration with operator Equal matches a taint of the same key, value and effect.
            #expect(tolerations.map { [$0["key"], $0["value"], $0["effect"]] } == taints.map { [$0["key"], $0["value"], $0["effect"]] })
            #expect(tolerations.allSatisfy { $0["operator"] == "Equal" })
            #expect((pod["nodeSelector"] as? [String: String])?["node.kubernetes.io/instance-type"] == target)
            let container = try #require((pod["containers"] as? [[String: Any]])?.first)
            let resources = try #require(container["resources"] as? [String: [String: String]])
            #expect(resources["requests"]?[resource] == "1" && resources["limits"]?[resource] == "1")
        }
        #expect(gateway["tolerations"] == nil && gateway["nodeSelector"] == nil)
    }

    @Test func anAcceleratorPlanWithoutACPUTargetForTheGatewayIsRefused() throws {
        var (configuration, plan) = try Self.plan(on: "g5.xlarge")
        configuration.targets.removeAll { !$0.hasAccelerator && $0.name != "local" }
        #expect(throws: ControlError.self) { _ = try ClusterProvisioning(configuration: configuration, plan: plan).yaml() }
    }

    @Test func anS3StoreGetsARoleThatReadsItsBucketAndAFolderStoreNone() throws {
        let (s3, plan) = try Self.plan(on: "c7i.xlarge", store: "s3://shoal-models/prod/v1")
        let iam = try #require(try Self.provision(s3, plan)["iam"] as? [String: Any])
        let account = try #require((iam["serviceAccounts"] as? [[String: Any]])?.first)
        #expect(account["metadata"] as? [String: String] == ["name": "shoal", "namespace": "shoal"])
        let statements = try #require((account["attachPolicy"] as? [String: Any])?["Statement"] as? [[String: Any]])
        #expect(statements.map { $0["Action"] as? [String] ?? [] } == [["s3:ListBucket"], ["s3:GetObject"]])
        #expect(statements.map { $0["Resource"] as? [String] ?? [] } == [["arn:aws:s3:::shoal-models"], ["arn:aws:s3:::shoal-models/prod/v1/*"]])
        let condition = (statements[0]["Condition"] as? [String: [String: [String]]])?["StringLike"]?["s3:prefix"]
        #expect(condition == ["prod/v1", "prod/v1/*"])

        for store in ["./.shoal/store", "s3://shoal-models/prod?endpoint=http://minio:9000"] {
            let (configuration, plan) = try Self.plan(on: "c7i.xlarge", store: store)
            let iam = try #require(try Self.provision(configuration, plan)["iam"] as? [String: Any])
            #expect(iam["serviceAccounts"] == nil, "\(store)")
            #expect(iam["withOIDC"] as? Bool == true)
        }
    }

    @Test func aPlanForThisMachineIsRefused() throws {
        var (configuration, plan) = try Self.plan(on: "c7i.xlarge")
        plan.target = "local"
        plan.groups = plan.groups.map { var group = $0; group.target = "local"; return group }
        configuration.pack.target = "local"
        #expect {
            _ = try ClusterProvisioning(configuration: configuration, plan: plan).yaml()
        } throws: { error in
            (error as? ControlError)?.description.contains("plan.target: 'local' is not valid") == true
        }
    }
}
