import ShoalStore

/// The file `shoal config init` writes: every default, with a comment on what each key does.
public enum ConfigurationTemplate {
    /// One model of the models section.
    public struct Model: Sendable {
        public var name: String
        public var traffic: Double
        /// Said in a comment after the name: version, size, base.
        public var note: String

        public init(name: String, traffic: Double, note: String) {
            self.name = name
            self.traffic = traffic
            self.note = note
        }
    }

    /// The default file.
    public static var text: String { text(storeURL: defaultStore, models: nil) }

    public static let defaultStore = StoreConfiguration.defaultFolder

    /// The file with `storeURL` and, unless nil, `models` (their memory and base read from the store's
    /// manifests) instead of the default model.
    public static func text(storeURL: String, models: [Model]?) -> String {
        let section = models.map { models in
            "models:\n" + models.map { "  - name: \($0.name)    # \($0.note)\n    traffic: \($0.traffic)\n" }.joined()
        } ?? defaultModels
        let quoted = storeURL == defaultStore ? storeURL : "'" + storeURL.replacingOccurrences(of: "'", with: "''") + "'"
        return header.replacingOccurrences(of: "url: ./.shoal/store ", with: "url: \(quoted) ") + "\n" + section + "\n" + settings
    }

    static let header = """
        # Shoal configuration. Every key is optional; these are the defaults.
        # Environment variables override keys: SHOAL_SERVER_PORT=9000 sets server.port, SHOAL_STORE sets store.url.
        # `shoal config show` prints the effective configuration, `shoal config validate` checks it.

        store:
          url: ./.shoal/store          # a folder, or s3://bucket/prefix; a command's --store, else $SHOAL_STORE, wins

        runtime: local                 # local | kubernetes | podman

        # The models to serve. memory: absent means "read it from the store's manifest".
        # base: another entry whose encoder this model shares (held once per server group).
        # throughput: requests/s one core serves (absent: the store's profile, else pack.default_throughput).
        # serverless: {idle_seconds: 300, max_queued: 64} serves the model in a group of its own kind, stopped after
        # idle_seconds without requests and started by the gateway on the next one (docs/SERVERLESS.md).
        """

    static let defaultModels = """
        models:
          - name: minilm
            version: latest
            traffic: 50                # expected requests per second at peak
            latency_p90_ms: 100
            memory: 90MiB

        """

    static let settings = """
        # Machines a server group can run on: vCPUs, memory and the us-east-1 on-demand price in dollars per hour
        # (AWS's EC2 pricing and instance-type pages). accelerator (kind: none | nvidia-gpu | aws-neuron, count)
        # only steers where pods run: the node group is tainted, pods request the devices and tolerate the taint.
        # The engine computes on the CPUs, so packing picks such a target only when pack.target names it or it
        # is the cheapest for the CPU work.
        targets:
          - name: local
            cpus: 2
            memory: 8GiB
            price_per_hour: 0
            architecture: amd64
          - name: c7i.xlarge
            cpus: 4
            memory: 8GiB
            price_per_hour: 0.1785
            architecture: amd64
          - name: c7i.4xlarge
            cpus: 16
            memory: 32GiB
            price_per_hour: 0.714
            architecture: amd64
          - name: c7g.4xlarge
            cpus: 16
            memory: 32GiB
            price_per_hour: 0.58
            architecture: arm64        # Graviton3
          - name: g5.xlarge
            cpus: 4
            memory: 16GiB
            price_per_hour: 1.006
            architecture: amd64
            accelerator:
              kind: nvidia-gpu         # one NVIDIA A10G
              count: 1
          - name: inf2.xlarge
            cpus: 4
            memory: 16GiB
            price_per_hour: 0.7582
            architecture: amd64
            accelerator:
              kind: aws-neuron         # one Inferentia2 chip
              count: 1

        server:
          host: 127.0.0.1
          port: 8080                   # group i listens on port + i
          gateway_port: 8000
          max_batch_tokens: 16384
          max_batch_inputs: 64
          max_queue_delay_ms: 0
          memory_budget: 0             # 0: sized from the plan
          threads: 0                   # 0: the target's cores
          async_max_queued: 10000      # asynchronous requests queued per server (Prefer: respond-async); 0: none
          async_concurrency: 1         # run at once, each when no real-time input waits
          async_callback_hosts: ""     # hosts a Shoal-Callback-URL may name, e.g. "hooks.example.com,*.internal:8443"; empty: none

        pack:
          target: ""                   # empty: the cheapest plan over all targets
          cpu_utilization: 0.7         # share of cores a plan may fill, the rest is latency headroom
          memory_reserve: 0.1          # share of memory kept for the system
          server_overhead: 256MiB      # one server process before any model
          default_throughput: 100      # requests/s per core when nothing better is known

        test:
          url: http://127.0.0.1:8000   # the gateway, which reaches every group
          protocol: kserve             # kserve | openai | predictions | health
          mode: closed                 # closed (concurrency) | open (rate)
          concurrency: 8
          rate: 100
          duration_s: 10
          requests: 0                  # 0: no limit but the duration
          mix: mixed                   # short | paragraph | mixed
          batch: 1                     # texts per request
          timeout_s: 10
          target: local                # whose price gives the cost per million inferences

        # runtime: kubernetes. `shoal deploy manifests` writes a Deployment, Service and autoscaler per group,
        # the gateway, a disruption budget, the servers' ServiceAccount and the plan as a ConfigMap;
        # `shoal deploy run` applies them with kubectl and waits for the rollout (docs/KUBERNETES.md).
        # runtime: podman plays the same Deployments on this machine (`shoal deploy run`).
        kubernetes:
          namespace: shoal             # must exist: kubectl create namespace shoal
          context: ""                  # the kubectl context to apply to; empty: kubectl's current context
          image: localhost/shoal:latest  # an image holding the shoal binary (`shoal image build`)
          max_replicas: 3              # pods per group the autoscaler may run
          gateway_replicas: 2
          service_account: shoal       # the servers run as it; bind an IAM role to it to read S3 without keys
          service_account_annotations: {}  # e.g. {eks.amazonaws.com/role-arn: arn:aws:iam::123456789012:role/NAME}
          prometheus_url: ""           # set: KEDA scales groups on CPU and their asynchronous queue (docs/ASYNC.md)
          async_queued_per_pod: 100    # queued asynchronous requests per pod before KEDA adds one

        # `shoal train` fits classifier heads over a base's embeddings (docs/TRAINING.md).
        train:
          target: local                # local | kubernetes | auto
          local_budget_s: 600          # auto trains here when the encoder needs at most this long
          shards: 4                    # pods of the embedding Job
          rows_per_second: 100         # per thread, when the base has no measured profile

        # `shoal provision` writes an eksctl ClusterConfig with one node group per target of the plan.
        cluster:
          name: shoal
          region: us-east-1
          version: ""                  # a Kubernetes version such as 1.33; empty: eksctl's default

        """
}
