import Foundation
import ShoalStore
import Testing
@testable import ShoalControl

@Suite final class ConfigurationTests {
    /// Holds the folders of one test; removed when the test is done (each test has its own instance).
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-config-\(UUID().uuidString)")

    deinit { try? FileManager.default.removeItem(at: root) }

    /// A fresh folder holding `shoal.yaml` with `text`, or no file when `text` is nil.
    func folder(_ text: String?) throws -> String {
        let folder = root.appendingPathComponent(UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        if let text { try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/shoal.yaml")) }
        return folder
    }

    func load(_ text: String?, environment: [String: String] = [:]) throws -> ShoalConfiguration {
        try ConfigurationFile.load(path: nil, directory: folder(text), environment: environment).configuration
    }

    func failure(_ text: String, environment: [String: String] = [:]) -> ControlError? {
        do {
            _ = try load(text, environment: environment)
            return nil
        } catch {
            return error as? ControlError
        }
    }

    @Test func noFileGivesTheDefaults() throws {
        #expect(try load(nil) == ShoalConfiguration())
    }

    @Test func theTemplateIsTheDefaults() throws {
        #expect(try load(ConfigurationTemplate.text) == ShoalConfiguration())
    }

    @Test func aPartialFileKeepsOtherDefaults() throws {
        let configuration = try load("""
            server:
              port: 9000
            models:
              - name: a
                memory: 1GiB
              - name: b
                base: a
                memory: 2MiB
                traffic: 5
            """)
        #expect(configuration.server.port == 9000)
        #expect(configuration.server.gatewayPort == 8000)
        #expect(configuration.models.map(\.name) == ["a", "b"])
        #expect(configuration.models[0].memory == ByteCount(1 << 30))
        #expect(configuration.models[0].version == "latest")
        #expect(configuration.models[1].base == "a")
        #expect(configuration.targets == ShoalConfiguration.TargetSpec.defaults)
    }

    @Test func anUnknownKeyIsNamedWithTheValidKeys() {
        let error = failure("server:\n  prot: 9000\n")
        guard case .unknownKey(let key, let valid) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(key == "server.prot")
        #expect(valid.contains("port"))
        #expect(error?.description.contains("gateway_port") == true)
    }

    @Test func anUnknownKeyInAListEntryNamesTheEntry() {
        let error = failure("models:\n  - name: a\n    memroy: 1GiB\n")
        #expect(error == .unknownKey(key: "models.a.memroy", valid: ["name", "version", "traffic", "latency_p90_ms", "memory", "base", "throughput", "serverless"]))
    }

    @Test func duplicateNamesAreRefused() {
        #expect(failure("models:\n  - {name: a, memory: 1GiB}\n  - {name: a, memory: 2GiB}\n")
            == .duplicateName(key: "models", name: "a"))
        #expect(failure("targets:\n  - {name: t, cpus: 2, memory: 4GiB}\n  - {name: t, cpus: 4, memory: 8GiB}\ntest: {target: t}\n")
            == .duplicateName(key: "targets", name: "t"))
    }

    @Test func aDuplicateKeyIsRefused() {
        guard case .configurationSyntax(_, let reason) = failure("server:\n  port: 1\n  port: 2\n") else {
            Issue.record("no syntax error"); return
        }
        #expect(reason.contains("port"))
    }

    @Test func aBadEnumNamesTheValidValues() {
        let error = failure("runtime: docker\n")
        #expect(error == .invalidValue(key: "runtime", value: "docker", expected: "one of local, kubernetes, podman"))
        #expect(failure("test:\n  mode: burst\n")?.description.contains("closed, open") == true)
    }

    @Test func aBadTypeNamesTheKey() {
        let error = failure("models:\n  - name: a\n    traffic: lots\n    memory: 1GiB\n")
        guard case .invalidValue(let key, let value, _) = error else { Issue.record("got \(String(describing: error))"); return }
        #expect(key == "models.a.traffic")
        #expect(value == "lots")
        #expect(failure("models:\n  - name: a\n    memory: huge\n")?.description.contains("16GiB") == true)
    }

    @Test func outOfRangeValuesAndBadReferencesAreRefused() {
        #expect(failure("server: {port: 70000}\n") == .invalidValue(
            key: "server.port", value: "70000", expected: ConfigurationSchema.expected(for: "server.port")))
        #expect(failure("models:\n  - {name: a, memory: 1GiB, base: nope}\n")
            == .unknownName(key: "models.a.base", name: "nope", valid: []))
        #expect(failure("pack: {target: m5.large}\n")
            == .unknownName(key: "pack.target", name: "m5.large", valid: ShoalConfiguration.TargetSpec.defaults.map(\.name)))
        #expect(failure("targets:\n  - {name: t, cpus: 0, memory: 4GiB}\ntest: {target: t}\n")?.description.contains("targets.t.cpus") == true)
        #expect(failure("models:\n  - {name: 'bad name', memory: 1GiB}\n")?.description.contains("models.0.name") == true)
        #expect(failure("kubernetes: {namespace: Prod_1}\n") == .invalidValue(
            key: "kubernetes.namespace", value: "Prod_1", expected: ConfigurationSchema.expected(for: "kubernetes.namespace")))
        #expect(failure("kubernetes: {max_replicas: 0}\n")?.description.contains("kubernetes.max_replicas") == true)
    }

    @Test func environmentVariablesOverrideKeys() throws {
        let file = try ConfigurationFile.load(
            path: nil, directory: folder("server: {port: 9000}\n"),
            environment: ["SHOAL_SERVER_PORT": "9100", "SHOAL_TEST_MODE": "open", "SHOAL_STORE": "s3://bucket/models"])
        #expect(file.configuration.server.port == 9100)
        #expect(file.configuration.test.mode == .open)
        #expect(file.configuration.store.url == "s3://bucket/models")
        #expect(file.overrides.count == 3)
        #expect(throws: ControlError.self) {
            _ = try load(nil, environment: ["SHOAL_TEST_CONCURRENCY": "zero"])
        }
    }

    /// One rule for the store of every command: `--store`, else `$SHOAL_STORE`, else `store.url`, else the default.
    @Test func theStoreIsTheOptionElseTheEnvironmentElseTheFileElseTheDefault() throws {
        let directory = try folder("store: {url: /srv/file}\n")
        func store(_ option: String?, _ environment: [String: String]) throws -> String {
            try ConfigurationFile.load(path: nil, directory: directory, environment: environment, store: option).configuration.store.url
        }
        #expect(try store("/srv/option", ["SHOAL_STORE": "/srv/env"]) == "/srv/option")
        #expect(try store(nil, ["SHOAL_STORE": "/srv/env"]) == "/srv/env")
        #expect(try store(nil, ["SHOAL_STORE": ""]) == "/srv/file")
        #expect(try store(nil, [:]) == "/srv/file")
        #expect(try ConfigurationFile.load(path: nil, directory: folder(""), environment: [:]).configuration.store.url
            == ShoalConfiguration.StoreSettings().url)
        #expect(try ConfigurationFile.defaults(environment: ["SHOAL_STORE": "/srv/env"]).store.url == "/srv/env")
        #expect(try ConfigurationFile.defaults(environment: ["SHOAL_STORE": "/srv/env"], store: "/srv/option").store.url == "/srv/option")
        #expect(ConfigurationFile.environmentVariable(for: "store.url") == "SHOAL_STORE")
    }

    @Test func setEditsOneKeyAndKeepsTheRest() throws {
        let path = try folder("# mine\nserver:\n  port: 9000\n") + "/shoal.yaml"
        _ = try ConfigurationFile.set("server.gateway_port", to: "9001", path: path)
        _ = try ConfigurationFile.set("models.bert.memory", to: "420MiB", path: path)
        let configuration = try ConfigurationFile.set("models.bert.traffic", to: "12.5", path: path)
        #expect(configuration.server.port == 9000)
        #expect(configuration.server.gatewayPort == 9001)
        #expect(configuration.models.map(\.name) == ["bert"])
        #expect(configuration.models[0].traffic == 12.5)
        #expect(configuration.models[0].memory == ByteCount(420 << 20))
        #expect(throws: ControlError.self) { try ConfigurationFile.set("server.porrt", to: "1", path: path) }
        #expect(throws: ControlError.self) { try ConfigurationFile.set("server.port", to: "http", path: path) }
        #expect(try ConfigurationFile.load(path: path).configuration.server.port == 9000)
    }

    @Test func setKeepsCommentsWhenTheKeyExists() throws {
        let path = try folder(nil) + "/shoal.yaml"
        try ConfigurationFile.initialise(path: path, force: false)
        _ = try ConfigurationFile.set("models.minilm.traffic", to: "200", path: path)
        _ = try ConfigurationFile.set("test.url", to: "http://127.0.0.1:9000", path: path)
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(text.contains("    traffic: 200                # expected requests per second at peak"))
        #expect(text.contains("# Shoal configuration."))
        let configuration = try ConfigurationFile.load(path: path).configuration
        #expect(configuration.models[0].traffic == 200)
        #expect(configuration.test.url == "http://127.0.0.1:9000")
        #expect(ConfigurationTree.plainOrQuoted("a: b") == "\"a: b\"")
    }

    @Test func anAcceleratorIsReadWithItsCountAndChecked() throws {
        let targets = """
            targets:
              - {name: local, cpus: 2, memory: 8GiB}
              - {name: g6.xlarge, cpus: 4, memory: 16GiB, accelerator: {kind: nvidia-gpu}}
              - {name: trn1.2xlarge, cpus: 8, memory: 32GiB, accelerator: {kind: aws-neuron, count: 1}}

            """
        let configuration = try load(targets)
        #expect(configuration.targets.map(\.accelerator) == [.init(), .init(kind: .nvidiaGPU, count: 1), .init(kind: .awsNeuron, count: 1)])
        #expect(configuration.targets[0].accelerator.count == 0 && !configuration.targets[0].hasAccelerator)
        #expect(failure(targets.replacingOccurrences(of: "kind: aws-neuron, count: 1", with: "kind: aws-neuron, count: 0"))
            == .invalidValue(key: "targets.trn1.2xlarge.accelerator.count", value: "0", expected: ConfigurationSchema.expected(for: "targets.x.accelerator.count")))
        #expect(failure(targets.replacingOccurrences(of: "{kind: nvidia-gpu}", with: "{count: 2}"))?.description
            .contains("targets.g6.xlarge.accelerator.count") == true)
        let wrongKind = failure(targets.replacingOccurrences(of: "nvidia-gpu", with: "tpu"))
        #expect(wrongKind?.description.contains("targets.g6.xlarge.accelerator.kind") == true, "\(String(describing: wrongKind))")
        #expect(wrongKind?.description.contains("none, nvidia-gpu, aws-neuron") == true)
        #expect(failure(targets.replacingOccurrences(of: "{kind: nvidia-gpu}", with: "{kind: nvidia-gpu, model: A10G}"))
            == .unknownKey(key: "targets.g6.xlarge.accelerator.model", valid: ["kind", "count"]))
    }

    /// Target names hold dots (`c7i.xlarge`): `set` finds the entry by its whole name, and a file without
    /// targets edits the default ones instead of replacing them.
    @Test func setReachesTargetsWhoseNamesHoldDots() throws {
        let path = try folder("runtime: kubernetes\n") + "/shoal.yaml"
        var configuration = try ConfigurationFile.set("targets.g5.xlarge.accelerator.count", to: "2", path: path)
        #expect(configuration.targets.map(\.name) == ShoalConfiguration.TargetSpec.defaults.map(\.name))
        #expect(configuration.targets.first { $0.name == "g5.xlarge" }?.accelerator == .init(kind: .nvidiaGPU, count: 2))
        configuration = try ConfigurationFile.set("targets.c7i.xlarge.price_per_hour", to: "0.2", path: path)
        #expect(configuration.targets.first { $0.name == "c7i.xlarge" }?.pricePerHour == 0.2)
        #expect(configuration.targets.first { $0.name == "g5.xlarge" }?.accelerator.count == 2)
        #expect(throws: ControlError.self) { try ConfigurationFile.set("targets.inf2.xlarge.accelerator.kind", to: "tpu", path: path) }

        let commented = try folder(nil) + "/shoal.yaml"
        try ConfigurationFile.initialise(path: commented, force: false)
        _ = try ConfigurationFile.set("targets.inf2.xlarge.accelerator.count", to: "4", path: commented)
        let text = try String(contentsOfFile: commented, encoding: .utf8)
        #expect(text.contains("# Shoal configuration.") && text.contains("count: 4"))
        #expect(try ConfigurationFile.load(path: commented).configuration.targets.first { $0.name == "inf2.xlarge" }?.accelerator.count == 4)
    }

    @Test func theClusterSectionIsChecked() throws {
        let configuration = try load("cluster: {name: fleet-1, region: eu-west-1, version: '1.33'}\n")
        #expect(configuration.cluster.name == "fleet-1" && configuration.cluster.region == "eu-west-1" && configuration.cluster.version == "1.33")
        #expect(try load(nil).cluster.version.isEmpty)
        for (key, value) in [("name", "1fleet"), ("name", "fleet_1"), ("region", "mars"), ("region", "US-EAST-1"), ("version", "1.x"), ("version", "latest")] {
            let error = failure("cluster: {\(key): '\(value)'}\n")
            #expect(error?.description.hasPrefix("cluster.\(key): '\(value)' is not valid") == true, "\(String(describing: error))")
        }
    }

    /// The kubectl context and the servers' ServiceAccount with its annotations: names any annotation may have,
    /// checked as Kubernetes checks them, and `config set` of the whole mapping.
    @Test func theServiceAccountAndItsAnnotationsAreSettings() throws {
        let role = "arn:aws:iam::123456789012:role/shoal-store-reader"
        let configuration = try load("""
            kubernetes:
              context: arn:aws:eks:us-east-1:123456789012:cluster/fleet
              service_account: store-reader
              service_account_annotations:
                eks.amazonaws.com/role-arn: \(role)
                team: search
            """)
        #expect(configuration.kubernetes.context == "arn:aws:eks:us-east-1:123456789012:cluster/fleet")
        #expect(configuration.kubernetes.serviceAccount == "store-reader")
        #expect(configuration.kubernetes.serviceAccountAnnotations == ["eks.amazonaws.com/role-arn": role, "team": "search"])
        #expect(ShoalConfiguration().kubernetes.serviceAccount == "shoal" && ShoalConfiguration().kubernetes.context.isEmpty)

        #expect(failure("kubernetes: {service_account: Store_Reader}\n") == .invalidValue(
            key: "kubernetes.service_account", value: "Store_Reader", expected: ConfigurationSchema.expected(for: "kubernetes.service_account")))
        #expect(failure("kubernetes:\n  service_account_annotations: {'bad key/x/y': v}\n") == .invalidValue(
            key: "kubernetes.service_account_annotations", value: "bad key/x/y",
            expected: ConfigurationSchema.expected(for: "kubernetes.service_account_annotations")))
        #expect(failure("kubernetes:\n  service_account_annotations: [a]\n")?.description.contains("kubernetes.service_account_annotations") == true)
        #expect(!ConfigurationFile.overridableKeys().contains { $0.hasPrefix("kubernetes.service_account_annotations") })
        #expect(ConfigurationFile.overridableKeys().contains("kubernetes.context"))

        let path = try folder(nil) + "/shoal.yaml"
        try ConfigurationFile.initialise(path: path, force: false)
        let set = try ConfigurationFile.set("kubernetes.service_account_annotations", to: "{eks.amazonaws.com/role-arn: \(role)}", path: path)
        #expect(set.kubernetes.serviceAccountAnnotations == ["eks.amazonaws.com/role-arn": role])
        #expect(try ConfigurationFile.load(path: path).configuration.kubernetes.serviceAccountAnnotations == ["eks.amazonaws.com/role-arn": role])
        #expect(try ConfigurationFile.set("kubernetes.service_account_annotations", to: "{}", path: path).kubernetes.serviceAccountAnnotations.isEmpty)
        #expect(throws: ControlError.self) { try ConfigurationFile.set("kubernetes.service_account_annotations", to: "role", path: path) }
        #expect(try ConfigurationFile.set("kubernetes.context", to: "staging", path: path).kubernetes.context == "staging")
        #expect(ConfigurationSchema.isQualifiedName("eks.amazonaws.com/role-arn") && !ConfigurationSchema.isQualifiedName("-x"))
        #expect(ConfigurationSchema.isDNSSubdomain("a.b-c") && !ConfigurationSchema.isDNSSubdomain("a..b"))
    }

    @Test func initRefusesToOverwrite() throws {
        let path = try folder("runtime: local\n") + "/shoal.yaml"
        #expect(throws: ControlError.self) { try ConfigurationFile.initialise(path: path, force: false) }
        try ConfigurationFile.initialise(path: path, force: true)
        #expect(try ConfigurationFile.load(path: path).configuration == ShoalConfiguration())
    }

    @Test func aMissingNamedFileIsAnError() {
        #expect(throws: ControlError.configurationNotFound(path: "/nonexistent/shoal.yaml")) {
            _ = try ConfigurationFile.load(path: "/nonexistent/shoal.yaml")
        }
    }

    @Test func byteCountsParseAndPrint() {
        #expect(ByteCount(parsing: "16GiB") == ByteCount(16 << 30))
        #expect(ByteCount(parsing: "800MB") == ByteCount(800_000_000))
        #expect(ByteCount(parsing: "1.5KiB") == ByteCount(1536))
        #expect(ByteCount(parsing: "12") == ByteCount(12))
        #expect(ByteCount(parsing: "-1GiB") == nil)
        #expect(ByteCount(parsing: "lots") == nil)
        #expect(ByteCount(90 << 20).description == "90MiB")
    }
}
