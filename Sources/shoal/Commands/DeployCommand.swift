import ArgumentParser

struct DeployCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Run the plan's server groups on this machine (runtime: local or podman) or on a Kubernetes cluster.",
        discussion: """
            `run` starts one `shoal serve` per group of plan.json (packing first when there is none), each on its \
            group's port with the server settings of shoal.yaml, and the gateway on server.gateway_port; a \
            detached supervisor restarts a process that exits, with exponential back-off, and keeps pids, ports, \
            restarts and logs under .shoal/deploy. The deployment outlives this command; `stop` ends all of it.
            `manifests` writes the same groups as Kubernetes objects (runtime: kubernetes). With runtime: podman, \
            `run` plays those objects' Deployments and ConfigMap on this machine with podman kube play (the image \
            from `shoal image build`; host networking, the store folder mounted), and status, logs and stop ask \
            podman; stop removes every pod, container and volume. With runtime: kubernetes, `run` applies the \
            manifests with kubectl (kubernetes.context, kubernetes.namespace; server-side apply) and waits for every \
            Deployment's rollout, naming the pods not ready and why when it does not finish; status reads replicas \
            and restarts from the cluster, logs runs kubectl logs, stop deletes what was applied. \
            `manifests --load-test` writes a Job of load-test pods writing their results into the store; \
            `load-test` plays those pods against the podman deployment.
            Example: shoal deploy run --models ./models && shoal deploy status && shoal deploy stop
            """,
        subcommands: [
            DeployRunCommand.self, DeployStatusCommand.self, DeployLogsCommand.self, DeployStopCommand.self,
            DeployManifestsCommand.self, DeployLoadTestCommand.self, DeploySuperviseCommand.self,
        ])
}
