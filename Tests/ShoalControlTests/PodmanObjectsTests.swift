import Foundation
import Testing
import Yams
@testable import ShoalControl

/// What runtime: podman plays is the cluster's Deployments and ConfigMap with a short, fixed list of
/// differences; the image's files are what `ldd` lists; Kubernetes refuses a plan packed for `local`.
@Suite struct PodmanObjectsTests {
    static func deployments(_ objects: [Kubernetes.Object]) -> [Kubernetes.Deployment] {
        objects.compactMap { if case .deployment(let deployment) = $0 { deployment } else { nil } }
    }

    @Test func podmanPlaysTheClustersDeploymentsWithOnlyTheListedDifferences() throws {
        let fixture = try DeployFixture(target: DeployFixture.clusterTarget)
        defer { fixture.remove() }
        var configuration = fixture.configuration
        configuration.kubernetes.namespace = "trial"
        let manifests = KubernetesManifests(configuration: configuration, plan: fixture.plan)
        let store = URL(fileURLWithPath: "/srv/shoal-store")
        let played = try manifests.podmanObjects(host: "127.0.0.1", storeFolder: store)
        #expect(played.map(\.kind) == ["ConfigMap"] + Array(repeating: "Deployment", count: fixture.plan.groups.count + 1))

        let cluster = Self.deployments(try manifests.objects())
        let local = Self.deployments(played)
        #expect(local.map { $0.metadata.name ?? "" } == cluster.map { ($0.metadata.name ?? "").replacingOccurrences(of: "shoal-", with: "trial-") })
        for (podman, original) in zip(local, cluster) {
            var expected = original
            expected.metadata.name = podman.metadata.name
            expected.spec.replicas = 1
            expected.spec.template.spec.hostNetwork = true
            expected.spec.template.spec.serviceAccountName = nil
            for index in expected.spec.template.spec.containers.indices {
                var container = expected.spec.template.spec.containers[index]
                container.ports = nil
                (container.startupProbe, container.readinessProbe, container.livenessProbe) = (nil, nil, nil)
                for (option, value) in [("--host", "127.0.0.1"), ("--group-url", "http://127.0.0.1:{port}")] {
                    if let at = container.args.firstIndex(of: option) { container.args[at + 1] = value }
                }
                expected.spec.template.spec.containers[index] = container
            }
            expected.spec.template.spec.volumes = expected.spec.template.spec.volumes.map { volume in
                var volume = volume
                if volume.configMap != nil { volume.configMap = .init(name: "trial-plan") }
                if volume.persistentVolumeClaim != nil {
                    volume.persistentVolumeClaim = nil
                    volume.hostPath = .init(path: store.path, type: "Directory")
                }
                return volume
            }
            #expect(podman == expected)
        }
        // Every group's server and the gateway listen on the host at their own ports, and the members say so.
        let (members, volumes) = manifests.podmanMembers(host: "127.0.0.1")
        #expect(volumes == ["trial-plan"])
        #expect(members.map(\.port) == fixture.plan.groups.map(\.port) + [configuration.server.gatewayPort])
        #expect(members.first?.containerName == "trial-group-0-pod-0-server")
        for (member, deployment) in zip(members, local) {
            let arguments = deployment.spec.template.spec.containers[0].args
            #expect(arguments.firstIndex(of: "--port").map { arguments[$0 + 1] } == String(member.port))
        }

        // With an S3 store, the servers read their keys from the podman secret standing for `shoal-s3`.
        configuration.store.url = "s3://models/prod"
        let s3 = Self.deployments(try KubernetesManifests(configuration: configuration, plan: fixture.plan)
            .podmanObjects(host: "127.0.0.1", storeFolder: nil))
        let servers = s3.filter { $0.spec.template.spec.containers[0].name == "server" }
        #expect(!servers.isEmpty && servers.allSatisfy {
            $0.spec.template.spec.containers[0].envFrom == [.init(secretRef: .init(name: "trial-s3", optional: true))]
        })
    }

    @Test func aPlanForThisMachineIsRefusedForKubernetesAndClustersAreNotPackedForIt() throws {
        let fixture = try DeployFixture()
        defer { fixture.remove() }
        #expect(fixture.plan.target == "local")
        let error = #expect(throws: ControlError.self) {
            try KubernetesManifests(configuration: fixture.configuration, plan: fixture.plan).yaml()
        }
        #expect(error?.description.contains("plan.target: 'local' is not valid") == true, "\(String(describing: error))")
        #expect(error?.description.contains("instance type") == true)

        // Left to choose, packing for runtime: kubernetes passes over `local`, the cheapest target.
        var configuration = fixture.configuration
        configuration.pack.target = ""
        let models = try configuration.models.map { try PackingModel(spec: $0, manifest: nil, settings: configuration.pack) }
        #expect(try Packer(configuration: configuration).plan(models).target == "local")
        configuration.runtime = .kubernetes
        #expect(try Packer(configuration: configuration).plan(models).target != "local")
    }

    @Test func lddOutputGivesTheLibrariesAndTheLoader() throws {
        let output = """
            \tlinux-vdso.so.1 (0x00007ffd5a1f2000)
            \tlibopenblas.so.0 => /lib/x86_64-linux-gnu/libopenblas.so.0 (0x00007f0e1c000000)
            \tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e1be1f000)
            \t/lib64/ld-linux-x86-64.so.2 (0x00007f0e1e6b5000)
            """
        #expect(try ContainerImage.parseLDD(output, binary: "shoal") == [
            "/lib/x86_64-linux-gnu/libopenblas.so.0", "/lib/x86_64-linux-gnu/libc.so.6", "/lib64/ld-linux-x86-64.so.2",
        ])
        let missing = "\tlibgone.so.1 => not found\n"
        #expect(throws: ControlError.container("shoal needs libgone.so.1, which ldd does not find; install it before building the image")) {
            try ContainerImage.parseLDD(missing, binary: "shoal")
        }
    }

    /// The running executable (this test's, built with symbols) staged beside itself, where a hard link is
    /// possible: the staged copy is stripped and the original is left as it was. Linked, strip rewrote the file in
    /// place, failing on the running binary (ETXTBSY), and would have stripped any other.
    @Test func theStagedBinaryIsAStrippedCopyAndTheOriginalIsLeftWhole() throws {
        let running = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let files = FileManager.default
        let before = try files.attributesOfItem(atPath: running.path)
        let context = running.deletingLastPathComponent().appendingPathComponent("shoal-image-\(UUID().uuidString)")
        defer { try? files.removeItem(at: context) }
        try ContainerImage(binary: running).stage(in: context, libraries: [])
        let staged = try files.attributesOfItem(atPath: context.appendingPathComponent("rootfs").path + ContainerImage.binaryPath)
        let size = try #require(before[.size] as? Int)
        #expect((staged[.size] as? Int ?? .max) < size, "the staged binary was not stripped")
        let after = try files.attributesOfItem(atPath: running.path)
        #expect(after[.size] as? Int == size && after[.modificationDate] as? Date == before[.modificationDate] as? Date)
    }

    /// A real executable's context: the binary, each library ldd lists at its path, certificates, the user, /tmp.
    @Test func theContextHoldsTheBinaryItsLibrariesAndAnUnprivilegedUser() async throws {
        let binary = URL(fileURLWithPath: "/bin/ls")
        let libraries = try await ContainerImage.libraries(of: binary)
        #expect(libraries.contains { $0.contains("libc.so") } && libraries.contains { $0.contains("ld-linux") })
        let context = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-image-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: context) }
        try ContainerImage(binary: binary).stage(in: context, libraries: libraries)
        let root = context.appendingPathComponent("rootfs")
        let files = FileManager.default
        // The binary, stripped: no larger, and it still runs.
        let staged = root.path + ContainerImage.binaryPath
        #expect(try files.attributesOfItem(atPath: staged)[.size] as? Int ?? .max <= files.attributesOfItem(atPath: binary.path)[.size] as? Int ?? 0)
        let run = Process()
        run.executableURL = URL(fileURLWithPath: staged)
        run.arguments = ["--version"]
        run.standardOutput = FileHandle.nullDevice
        try run.run()
        run.waitUntilExit()
        #expect(run.terminationStatus == 0)
        // Libraries with the contents of what the host's paths lead to (links followed), not links.
        for (staged, original) in libraries.map({ ($0, $0) }) {
            let attributes = try files.attributesOfItem(atPath: root.path + staged)
            #expect(attributes[.type] as? FileAttributeType == .typeRegular, "\(staged)")
            #expect(try Data(contentsOf: URL(fileURLWithPath: root.path + staged)) == Data(contentsOf: URL(fileURLWithPath: original)), "\(staged)")
        }
        #expect(files.fileExists(atPath: root.path + "/etc/ssl/certs/ca-certificates.crt"))
        #expect(try String(contentsOfFile: root.path + "/etc/passwd", encoding: .utf8).contains("shoal:x:65532:65532:"))
        let tmp = try files.attributesOfItem(atPath: root.path + "/tmp")[.posixPermissions] as? Int
        #expect(tmp == 0o1777)
        let containerfile = try String(contentsOf: context.appendingPathComponent("Containerfile"), encoding: .utf8)
        #expect(containerfile.hasPrefix("FROM scratch\nCOPY rootfs/ /\nUSER 65532:65532\n"))
        // Nothing else: the model is not in the image.
        let all = files.enumerator(atPath: root.path)?.compactMap { $0 as? String } ?? []
        #expect(!all.contains { $0.contains("safetensors") || $0.contains("minilm") })
    }

    @Test func withoutPodmanOnThePathTheErrorNamesTheSetupScript() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-podman-\(UUID().uuidString).conf")
        let error = #expect(throws: ControlError.self) { try Podman.locate(configurationFile: file, path: "/nonexistent") }
        #expect(error?.description.contains("scripts/setup.sh") == true)
        #expect(!FileManager.default.fileExists(atPath: file.path))
    }
}
