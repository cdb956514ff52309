import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct DeployLoadTestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-test",
        abstract: "Run the load-test Job's pods against the deployment (runtime: podman), each writing its result to the store.",
        discussion: """
            The pods of the Job that `shoal deploy manifests --load-test` writes: each runs `shoal test bmk` with \
            the test settings of shoal.yaml against the gateway and writes results/RUN/POD.json into the store \
            (--store, else $SHOAL_STORE, else store.url; an S3 store gets this machine's AWS keys in a podman \
            secret for the run). The command waits for every pod, prints how each ended, removes the pods and \
            the secret, and exits non-zero if any pod failed; `shoal test bma --from-store RUN` merges the results.
            Example: shoal deploy load-test --pods 2 --run trial-1 && shoal test bma --from-store trial-1
            """)

    @OptionGroup var options: ConfigOptions
    @OptionGroup var deploy: DeployOptions
    @OptionGroup var job: LoadTestJobOptions
    @Option(name: .long, help: "The store the results go to: a folder or s3://BUCKET/PREFIX (default: $SHOAL_STORE, else store.url).")
    var store: String?
    @Option(name: .long, help: "Seconds to wait for every pod to finish, beyond test.duration_s.")
    var timeout = 120

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let configuration = try options.load(store: store).configuration
        guard configuration.runtime == .podman else {
            throw ValidationError("runtime is \(configuration.runtime.rawValue); `shoal deploy load-test` plays the load-test pods "
                + "with runtime: podman. For a cluster, write the Job with `shoal deploy manifests --load-test` and apply it "
                + "with kubectl; on this machine without containers, run `shoal test bmk --out-store RUN`")
        }
        guard let deployment = try deploy.podmanDeployment(), try deployment.state() != nil else {
            throw ValidationError("no podman deployment runs from \(deploy.dir); start one with `shoal deploy run`")
        }
        try await deployment.requireImage(configuration.kubernetes.image)
        let job = try job.job(configuration)
        let store = try StoreConfiguration(url: configuration.store.url)
        let loadTest = PodmanLoadTest(directory: deploy.directory, podman: deployment.podman)
        let exits = try await loadTest.run(
            job, host: configuration.server.host, storeFolder: store.folder, credentials: try Podman.s3Variables(for: store, neededBy: "the load-test pods to write results to"),
            timeout: .seconds(Double(timeout) + configuration.test.durationS))
        var table = TextTable(["POD", "EXIT", "RESULT"])
        for exit in exits {
            table.add([exit.pod, "\(exit.status)", exit.status == 0 ? "\(LoadResultStore.folder(job.run))/\(exit.pod).json" : "-"])
        }
        print(table.rendered)
        let failed = exits.filter { $0.status != 0 }
        for exit in failed {
            FileHandle.standardError.write(Data("\(exit.pod) exited with \(exit.status):\n\(exit.log)\n".utf8))
        }
        print("run \(job.run): \(exits.count - failed.count) of \(exits.count) pods wrote results to "
            + "\(configuration.store.url); merge them with `shoal test bma --from-store \(job.run)`")
        if !failed.isEmpty { throw ExitCode(1) }
    }
}
