import Foundation
import ShoalTesting
import Testing

/// `shoal deploy run | status | logs | stop` with runtime: kubernetes, through the `shoal` executable, with an
/// S3 store, no AWS keys here and the IRSA annotation set by `config set`; kubectl is `FakeKubectl`, first on
/// PATH, since no cluster runs here.
@Suite(.timeLimit(.minutes(2))) struct KubernetesRuntimeTests {
    /// A workspace whose `shoal` runs with `environment`, its own HOME, and `fake` first on PATH.
    static func workspace(kubectl fake: FakeKubectl, _ environment: [String: String]) throws -> Workspace {
        var work = try Workspace("shoal-k8s")
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        work.environment = environment.merging(["HOME": work.root.path, "PATH": "\(fake.path):\(path)"]) { $1 }
        return work
    }

    @Test func deployRunStatusLogsAndStopGoThroughKubectl() async throws {
        let fake = try FakeKubectl()
        defer { fake.remove() }
        var work = try Self.workspace(kubectl: fake, ["AWS_ACCESS_KEY_ID": "", "AWS_SECRET_ACCESS_KEY": ""])
        defer { work.remove() }
        work.environment["AWS_SHARED_CREDENTIALS_FILE"] = work.root.appendingPathComponent("none").path
        let role = "arn:aws:iam::123456789012:role/shoal-store-reader"
        try await work.shoal(["config", "init", "--store", "s3://models/prod"])
        try await work.shoal(["config", "set", "runtime", "kubernetes"])
        try await work.shoal(["config", "set", "kubernetes.context", "prod-eu"])
        try await work.shoal(["config", "set", "kubernetes.service_account_annotations", "{eks.amazonaws.com/role-arn: \(role)}"])

        let run = try await work.shoal(["deploy", "run", "--timeout", "20"])
        #expect(run.output.contains("kubernetes (context prod-eu, namespace shoal)"), "\(run.output)")
        #expect(run.output.contains("port-forward service/shoal-gateway"), "\(run.output)")
        let scope = "--context prod-eu --namespace shoal"
        let manifest = work.root.appendingPathComponent(".shoal/deploy/kubernetes.yaml").standardizedFileURL.path
        #expect(Array(fake.calls().prefix(2)) == [
            "\(scope) get namespace shoal --output name",
            "\(scope) apply --server-side --field-manager=shoal -f \(manifest)",
        ])
        let applied = try fake.applied()
        #expect(applied.contains("kind: ServiceAccount") && applied.contains("serviceAccountName: shoal"))
        #expect(applied.contains("eks.amazonaws.com/role-arn: \(role)") && applied.contains("s3://models/prod"))
        #expect(!applied.contains("AWS_ACCESS_KEY_ID"))

        // A second run is refused while this one is recorded.
        let again = try await work.run(["deploy", "run"])
        #expect(again.status != 0 && again.error.contains("a kubernetes deployment is already running"), "\(again.error)")

        let statuses = try #require(try await work.json(["deploy", "status", "--json"]) as? [[String: Any]])
        #expect(statuses.compactMap { $0["name"] as? String }.last == "gateway")
        let gateway = try #require(statuses.last)
        #expect(gateway["desired"] as? Int == 2 && gateway["ready"] as? Int == 2 && gateway["pods"] as? Int == 2)
        let first = try #require(statuses.first)
        #expect(first["deployment"] as? String == "shoal-group-0" && first["restarts"] as? Int == 2, "\(first)")
        #expect(fake.calls().last == "\(scope) get deployments,pods -l app.kubernetes.io/name=shoal --output json")

        let logs = try await work.shoal(["deploy", "logs", "gateway"])
        #expect(logs.output.contains("[pod/shoal-gateway-7c9f/gateway] ready"), "\(logs.output)")
        #expect(fake.calls().last == "\(scope) logs -l app.kubernetes.io/component=gateway,app.kubernetes.io/name=shoal "
            + "--prefix --all-containers --tail=-1")

        let stop = try await work.shoal(["deploy", "stop"])
        #expect(stop.output.contains("deleted the configmap,serviceaccount,deployment.apps"), "\(stop.output)")
        #expect(!stop.output.contains("no deployment was running"), "\(stop.output)")
        #expect(fake.calls().last?.hasPrefix("\(scope) delete configmap,serviceaccount,deployment.apps,service,") == true)
        #expect(fake.calls().last?.hasSuffix(" -l app.kubernetes.io/name=shoal --ignore-not-found --wait=false") == true)
        let status = try await work.shoal(["deploy", "status"])
        #expect(status.output.contains("no deployment"), "\(status.output)")
    }

    /// A store this machine cannot reach, when it must read it to pack a plan: one error naming the endpoint,
    /// before kubectl is called or anything is recorded, so there is nothing for `deploy stop` to remove.
    @Test func anUnreachableStoreIsAnErrorBeforeKubectlIsCalled() async throws {
        let fake = try FakeKubectl()
        defer { fake.remove() }
        let work = try Self.workspace(kubectl: fake, ["AWS_ACCESS_KEY_ID": "AKIDEXAMPLE", "AWS_SECRET_ACCESS_KEY": "secret",
                                                      "AWS_REGION": "us-east-1"])
        defer { work.remove() }
        try await work.shoal(["config", "init", "--store", "s3://models/prod?endpoint=http://127.0.0.1:1"])
        try await work.shoal(["config", "set", "runtime", "kubernetes"])

        let run = try await work.run(["deploy", "run", "--timeout", "20"])
        #expect(run.status != 0 && run.error.contains("cannot reach http://127.0.0.1:1"), "\(run.error)")
        #expect(fake.calls().isEmpty, "\(fake.calls())")
        #expect(!work.exists("plan.json") && !work.exists(".shoal/deploy/kubernetes.json"))
        let stop = try await work.shoal(["deploy", "stop"])
        #expect(stop.output.contains("no deployment was running"), "\(stop.output)")
    }
}
