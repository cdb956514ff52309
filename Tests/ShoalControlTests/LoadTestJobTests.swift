import Foundation
import ShoalStore
import Testing
import Yams
@testable import ShoalControl

/// The load-test Job: N pods of `shoal test bmk` against the gateway's Service, each writing its result into the
/// store under its own name; what podman plays of it; and results kept in a store and read back.
@Suite struct LoadTestJobTests {
    static func job(store: String = "./.shoal/store", pods: Int = 3, run: String = "trial-1") throws -> LoadTestJob {
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget)
        defer { fixture.remove() }
        var configuration = fixture.configuration
        configuration.store.url = store
        configuration.kubernetes.namespace = "trial"
        configuration.test.durationS = 2
        return try LoadTestJob(configuration: configuration, run: run, pods: pods)
    }

    @Test func theJobRunsNPodsOfTheLoadGeneratorAgainstTheGatewaysService() throws {
        let job = try Self.job()
        let object = job.job()
        #expect(object.metadata.name == "shoal-load-trial-1" && object.metadata.namespace == "trial")
        #expect(object.spec.completions == 3 && object.spec.parallelism == 3 && object.spec.backoffLimit == 0)
        let pod = object.spec.template.spec
        #expect(pod.restartPolicy == "Never")
        let container = try #require(pod.containers.first)
        let arguments = container.args
        func value(_ option: String) -> String? { arguments.firstIndex(of: option).map { arguments[$0 + 1] } }
        #expect(arguments.starts(with: ["test", "bmk"]))
        #expect(value("--url") == "http://shoal-gateway.trial.svc:\(job.configuration.server.gatewayPort)")
        #expect(value("--duration") == "2.0")
        #expect(value("--out-store") == "trial-1" && value("--out-name") == "$(POD_NAME)")
        #expect(value("--store") == KubernetesManifests.storeFolder)
        let models = stride(from: 0, to: arguments.count - 1, by: 1).filter { arguments[$0] == "--model" }.map { arguments[$0 + 1] }
        #expect(models == job.configuration.models.map(\.name))
        #expect(container.env == [.init(name: "POD_NAME", valueFrom: .init(fieldRef: .init(fieldPath: "metadata.name")))])
        // A folder store: the servers' claim, writable, since the pods write their results into it.
        #expect(container.volumeMounts == [.init(name: "store", mountPath: KubernetesManifests.storeFolder)])
        #expect(pod.volumes.first?.persistentVolumeClaim == .init(claimName: "shoal-store", readOnly: false))
        #expect(container.securityContext == KubernetesManifests.securityContext)

        // An S3 store: read directly, keys from the servers' optional Secret, nothing mounted.
        let s3 = try Self.job(store: "s3://results/shoal?endpoint=http://minio:9000").job().spec.template.spec
        #expect(s3.volumes.isEmpty && s3.containers[0].volumeMounts.isEmpty)
        #expect(s3.containers[0].envFrom == [.init(secretRef: .init(name: "shoal-s3", optional: true))])
        #expect(s3.containers[0].args.contains("s3://results/shoal?endpoint=http://minio:9000"))

        // The arguments are ones `shoal test bmk` takes: no option it does not know.
        let known = Set(["--url", "--protocol", "--mode", "--concurrency", "--rate", "--duration", "--requests", "--mix", "--batch",
                         "--timeout", "--model", "--store", "--out-store", "--out-name", "--quiet"])
        #expect(Set(arguments.filter { $0.hasPrefix("--") }).isSubset(of: known))
    }

    @Test func aBadRunIdOrPodCountIsRefused() throws {
        for run in ["", "Trial", "a_b", "-a", "a-", String(repeating: "a", count: 41)] {
            #expect(throws: ControlError.self, "\(run)") { try Self.job(run: run) }
        }
        #expect(throws: ControlError.self) { try Self.job(pods: 0) }
        #expect(LoadResultStore.isValidRun(LoadResultStore.generatedRun()))
    }

    /// Podman plays no Jobs: one Pod per pod of the Job, with only the listed differences.
    @Test func podmanPlaysOnePodPerPodOfTheJobWithOnlyTheListedDifferences() throws {
        let job = try Self.job(store: "./.shoal/store", pods: 2)
        let store = URL(fileURLWithPath: "/srv/shoal-store")
        let pods = job.podmanPods(host: "127.0.0.1", storeFolder: store)
        #expect(pods.map { $0.metadata.name ?? "" } == ["trial-load-trial-1-0", "trial-load-trial-1-1"])
        #expect(pods.map { $0.metadata.name ?? "" } == job.podmanPodNames)
        let template = job.job().spec.template
        for pod in pods {
            var expected = template.spec
            expected.hostNetwork = true
            var container = expected.containers[0]
            container.args = container.args.map {
                $0 == "$(POD_NAME)" ? pod.metadata.name ?? "" : $0 == "http://shoal-gateway.trial.svc:\(job.configuration.server.gatewayPort)"
                    ? "http://127.0.0.1:\(job.configuration.server.gatewayPort)" : $0
            }
            expected.containers = [container]
            expected.volumes = [.init(name: "store", hostPath: .init(path: store.path, type: "Directory"))]
            #expect(pod.spec == expected)
            #expect(pod.metadata.labels == template.metadata.labels && pod.metadata.namespace == nil)
        }
        let s3 = try Self.job(store: "s3://results/shoal", pods: 1).podmanPods(host: "127.0.0.1", storeFolder: nil)
        #expect(s3[0].spec.containers[0].envFrom == [.init(secretRef: .init(name: "trial-load-s3", optional: true))])
        // The YAML reads back as Pods.
        let documents = try job.podmanYAML(host: "127.0.0.1", storeFolder: store).components(separatedBy: "---\n")
        #expect(try documents.map { try YAMLDecoder().decode(Kubernetes.Object.self, from: $0) } == pods.map { .pod($0) })
    }

    /// `kubernetes-validate --strict` (offline schemas) accepts the Job for both kinds of store, without a warning.
    @Test func theJobPassesStrictSchemaValidation() throws {
        for store in ["./.shoal/store", "s3://results/shoal"] {
            let job = try Self.job(store: store)
            let yaml = try job.yaml()
            #expect(try YAMLDecoder().decode(Kubernetes.Object.self, from: yaml) == .job(job.job()))
            let text = try KubernetesManifestsTests.validate(yaml)
            #expect(text.contains("passed for resource job/shoal-load-trial-1"), "\(text)")
        }
    }

    /// Results go into a folder store as results/RUN/NAME.json, are never replaced, and come back merged;
    /// a run without results and a corrupt result are errors that say which.
    @Test func resultsAreKeptInTheStoreAndReadBack() async throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        let backend = FileSystemBackend(root: fixture.root.appendingPathComponent("store"))
        let results = LoadResultStore(backend: backend)
        let missing = await #expect(throws: ControlError.self) { try await results.results(of: "trial-1") }
        #expect(missing?.description.contains("no results under \(backend.root.path)/results/trial-1/") == true, "\(String(describing: missing))")

        let one = Self.result(ok: 3, seconds: [0.010, 0.020, 0.030])
        let two = Self.result(ok: 2, seconds: [0.040, 0.050])
        #expect(try await results.write(one, run: "trial-1", name: "pod-a") == "\(backend.root.path)/results/trial-1/pod-a.json")
        try await results.write(two, run: "trial-1", name: "pod-b")
        await #expect(throws: StoreError.objectExists("\(backend.root.path)/results/trial-1/pod-a.json")) {
            try await results.write(two, run: "trial-1", name: "pod-a")
        }
        let read = try await results.results(of: "trial-1")
        #expect(read.map(\.path) == ["pod-a", "pod-b"].map { "\(backend.root.path)/results/trial-1/\($0).json" })
        #expect(read.map(\.result) == [one, two])
        let analysis = try LoadAnalysis(results: read, target: "local", pricePerHour: 0, servers: 1)
        #expect(analysis.total.ok == 5 && analysis.latency.count == 5)
        // Nothing but the two results is left in the folder (no staged copies).
        let files = try FileManager.default.contentsOfDirectory(atPath: backend.root.appendingPathComponent("results/trial-1").path)
        #expect(files.sorted() == ["pod-a.json", "pod-b.json"])

        try await backend.write(Data("{\"format\": 2".utf8), to: "results/trial-1/pod-c.json")
        let corrupt = await #expect(throws: ControlError.self) { try await results.results(of: "trial-1") }
        #expect(corrupt?.description.contains("results/trial-1/pod-c.json") == true, "\(String(describing: corrupt))")
    }

    static func result(ok: Int, seconds: [Double]) -> LoadResult {
        var histogram = LatencyHistogram()
        for value in seconds { histogram.record(seconds: value) }
        let settings = LoadSettings(test: "bmk", configuration: ShoalConfiguration().test, models: ["alpha"])
        return LoadResult(settings: settings, machine: .current(), started: Date(timeIntervalSince1970: 1_000_000), durationS: 1,
                          sent: ok, completed: ok, ok: ok, statusCounts: ["200": ok], errors: [:], timeline: [],
                          latency: histogram, perModel: ["alpha": histogram], modelErrors: [:])
    }
}
