import Foundation

/// The `kubectl` command line bound to one context and namespace: every call names both, so that `status`,
/// `logs` and `stop` reach what `shoal deploy run` applied whatever kubectl's current context is by then.
public struct Kubectl: Sendable {
    /// The kubeconfig context; empty for kubectl's current one.
    public let context: String
    /// The namespace of every namespaced call.
    public let namespace: String
    /// The kubectl command line every call goes through.
    let command: ExternalCommand

    /// How to install kubectl, for the error that says it is missing.
    static let installation = "install it from https://kubernetes.io/docs/tasks/tools/ (on Linux: "
        + "curl -LO https://dl.k8s.io/release/$(curl -Ls https://dl.k8s.io/release/stable.txt)/bin/linux/amd64/kubectl "
        + "&& install kubectl /usr/local/bin/), or with your cloud's tools (aws eks, gcloud)"

    /// Finds `kubectl` on `path`; throws, saying how to install it, when it is not there.
    public static func locate(context: String, namespace: String,
                              path: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> Kubectl {
        guard let executable = ExternalCommand.find("kubectl", in: path) else {
            throw ControlError.kubernetes("kubectl is not on PATH; runtime: kubernetes applies the manifests with it: " + installation)
        }
        return Kubectl(executable: executable, context: context, namespace: namespace)
    }

    private init(executable: URL, context: String, namespace: String) {
        self.context = context
        self.namespace = namespace
        let scope = (context.isEmpty ? [] : ["--context", context]) + ["--namespace", namespace]
        command = ExternalCommand(executable: executable, leadingArguments: scope, failure: ControlError.kubernetes)
    }

    /// This kubectl with `context` named, kubectl's current context when it was empty, so that later calls keep
    /// to the cluster of this one.
    public func resolvingContext() async throws -> Kubectl {
        guard context.isEmpty else { return self }
        let result = try await command.run(["config", "current-context"])
        let current = result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        guard result.status == 0, !current.isEmpty else {
            throw ControlError.kubernetes("kubectl has no current context (\(result.error.trimmingCharacters(in: .whitespacesAndNewlines))); "
                + "set kubernetes.context in shoal.yaml, or choose one with kubectl config use-context NAME")
        }
        return Kubectl(executable: command.executable, context: current, namespace: namespace)
    }

    /// Runs `kubectl ARGUMENTS` in the context and namespace and returns what it printed.
    public func run(_ arguments: [String]) async throws -> ExternalCommand.Output { try await command.run(arguments) }

    /// Runs `kubectl ARGUMENTS` and returns its output; throws with kubectl's message when it fails.
    @discardableResult
    public func check(_ arguments: [String], doing: String) async throws -> String {
        try await command.check(arguments, doing: doing)
    }

    /// Runs `kubectl ARGUMENTS` with this process's standard output and error (`logs -f`); returns its status.
    public func passThrough(_ arguments: [String]) async throws -> Int32 { try await command.passThrough(arguments) }

    /// Throws unless the namespace exists, saying how to create it, or that the cluster cannot be reached.
    public func requireNamespace() async throws {
        let result = try await run(["get", "namespace", namespace, "--output", "name"])
        guard result.status != 0 else { return }
        let message = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
        if message.contains("NotFound") || message.contains("not found") {
            throw ControlError.kubernetes("the namespace \(namespace) (kubernetes.namespace) does not exist in context \(context); "
                + "create it with kubectl --context \(context) create namespace \(namespace)")
        }
        throw ControlError.kubernetes("kubectl cannot read the namespace \(namespace) in context \(context): \(message); "
            + "check that the cluster answers (kubectl --context \(context) cluster-info)")
    }
}
