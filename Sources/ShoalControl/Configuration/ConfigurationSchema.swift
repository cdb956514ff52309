import ShoalStore

/// What every key of `shoal.yaml` accepts, in words, for error messages and `shoal config show --keys`.
public enum ConfigurationSchema {
    /// Key patterns (`*` stands for one entry of a list) and the values each accepts.
    public static let expectations: [(key: String, expected: String)] = [
        ("store.url", "a folder or s3://bucket/prefix"),
        ("runtime", oneOf(ShoalConfiguration.Runtime.self)),
        ("models.*.name", ModelReference.nameRule),
        ("models.*.version", "a whole number ≥ 1, or latest"),
        ("models.*.traffic", "requests per second at peak, a number ≥ 0"),
        ("models.*.latency_p90_ms", "milliseconds, a number > 0"),
        ("models.*.memory", ByteCount.expected + " (absent: taken from the store's manifest)"),
        ("models.*.base", "the name of another entry of models"),
        ("models.*.throughput", "requests per second one core serves, a number > 0"),
        ("models.*.serverless.idle_seconds", "seconds without a request before the model's group is stopped, a number > 0 and ≤ 86400"),
        ("models.*.serverless.max_queued", "requests held while the group starts (429 beyond), a whole number 1...100000"),
        ("targets.*.name", targetNameRule),
        ("targets.*.cpus", "a whole number of cores ≥ 1"),
        ("targets.*.memory", ByteCount.expected + ", > 0"),
        ("targets.*.price_per_hour", "dollars per hour, a number ≥ 0"),
        ("targets.*.architecture", oneOf(ShoalConfiguration.TargetSpec.Architecture.self)),
        ("targets.*.accelerator.kind", oneOf(ShoalConfiguration.TargetSpec.Accelerator.Kind.self)
            + " (the engine computes on the CPUs; an accelerator only steers where the pods run)"),
        ("targets.*.accelerator.count", "devices per machine: 0 with kind none, 1...16 otherwise (absent: 1)"),
        ("server.host", "an IP address or host name to bind"),
        ("server.port", "a port number 1...65535, different from server.gateway_port"),
        ("server.gateway_port", "a port number 1...65535, different from server.port"),
        ("server.max_batch_tokens", "a whole number ≥ 1"),
        ("server.max_batch_inputs", "a whole number ≥ 1"),
        ("server.max_queue_delay_ms", "milliseconds, a number ≥ 0"),
        ("server.memory_budget", ByteCount.expected + " (0: sized from the plan)"),
        ("server.threads", "a whole number ≥ 0 (0: the target's cores)"),
        ("server.async_max_queued", "a whole number ≥ 0 (0: no asynchronous requests)"),
        ("server.async_concurrency", "a whole number 1...64"),
        ("server.async_callback_hosts", "hosts callbacks may go to, separated by commas: host, *.domain or address, each with an optional :PORT (empty: none)"),
        ("pack.target", "empty (cheapest of all targets) or the name of an entry of targets"),
        ("pack.cpu_utilization", "a fraction > 0 and ≤ 1"),
        ("pack.memory_reserve", "a fraction ≥ 0 and < 1"),
        ("pack.server_overhead", ByteCount.expected),
        ("pack.default_throughput", "requests per second one core serves, a number > 0"),
        ("test.url", "an http:// URL such as http://127.0.0.1:8080"),
        ("test.protocol", oneOf(LoadProtocol.self)),
        ("test.mode", oneOf(LoadMode.self)),
        ("test.concurrency", "a whole number 1...4096"),
        ("test.rate", "requests per second, a number > 0 and ≤ 1000000"),
        ("test.duration_s", "seconds, a number > 0 and ≤ 3600"),
        ("test.requests", "a whole number ≥ 0 (0: no limit but the duration)"),
        ("test.mix", oneOf(RequestMix.Kind.self)),
        ("test.batch", "a whole number of texts per request, 1...256"),
        ("test.timeout_s", "seconds, a number > 0"),
        ("test.target", "the name of an entry of targets"),
        ("kubernetes.namespace", "a DNS label: 1 to 63 of a-z, 0-9 and '-', starting and ending with a letter or digit"),
        ("kubernetes.context", "empty (kubectl's current context) or the name of a context of the kubeconfig"),
        ("kubernetes.image", "a container image reference such as registry.example.com/shoal:1.0"),
        ("kubernetes.max_replicas", "a whole number 1...100"),
        ("kubernetes.gateway_replicas", "a whole number 1...100"),
        ("kubernetes.prometheus_url", "empty (autoscale on CPU) or the http(s) URL of a Prometheus server scraping the pods"),
        ("kubernetes.async_queued_per_pod", "a whole number ≥ 1"),
        ("train.target", oneOf(TrainingTarget.self)),
        ("train.local_budget_s", "seconds, a number > 0"),
        ("train.shards", "a whole number 1...1000"),
        ("train.rows_per_second", "rows per second per thread, a number > 0"),
        ("cluster.name", "an EKS cluster name: 1 to 100 letters, digits and '-', starting with a letter"),
        ("cluster.region", "an AWS region such as us-east-1"),
        ("cluster.version", "a Kubernetes version such as 1.33, or empty for eksctl's default"),
        ("kubernetes.service_account", "a DNS subdomain: up to 253 of a-z, 0-9, '-' and '.', each part a DNS label"),
        ("kubernetes.service_account_annotations", "a mapping of annotation names (such as eks.amazonaws.com/role-arn) "
            + "to strings, given to `config set` as {NAME: VALUE}"),
    ]

    static let targetNameRule = "a name of 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit"

    static func oneOf<T: CaseIterable & RawRepresentable>(_: T.Type) -> String where T.RawValue == String {
        "one of " + T.allCases.map(\.rawValue).joined(separator: ", ")
    }

    /// Keys whose value is a mapping of names the user chooses, not keys of the schema.
    static let freeMappings = ["kubernetes.service_account_annotations"]

    /// What `key` accepts; list indices and entry names in `key` match `*`, names with dots (`c7i.xlarge`) too,
    /// and a name inside a free mapping is the mapping.
    public static func expected(for key: String) -> String {
        if let mapping = freeMappings.first(where: { key.hasPrefix($0 + ".") }) { return expected(for: mapping) }
        let list = ["models.", "targets."].first { key.hasPrefix($0) }
        let match = expectations.filter { expectation in
            guard let list else { return expectation.key == key }
            let field = expectation.key.dropFirst(list.count + 2)  // after `targets.*.`
            return expectation.key.hasPrefix(list + "*.") && key.hasSuffix("." + field) && key.count > list.count + field.count + 1
        }.max { $0.key.count < $1.key.count }
        return match?.expected ?? "a value of the documented type"
    }

    /// Whether `name` is a DNS label (RFC 1123), as Kubernetes names and namespaces must be.
    public static func isDNSLabel(_ name: String) -> Bool {
        let allowed = name.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
        return allowed && (1...63).contains(name.count) && name.first != "-" && name.last != "-"
    }

    /// Whether `name` is a DNS subdomain (RFC 1123), as the names of most Kubernetes objects must be.
    public static func isDNSSubdomain(_ name: String) -> Bool {
        name.count <= 253 && name.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { isDNSLabel(String($0)) }
    }

    /// Whether `name` is a Kubernetes annotation or label name: an optional DNS subdomain and `/`, then 1 to
    /// 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit.
    public static func isQualifiedName(_ name: String) -> Bool {
        let parts = name.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let last = parts.last else { return false }
        if parts.count == 2, !isDNSSubdomain(String(parts[0])) { return false }
        let isAlphanumeric = { (scalar: Unicode.Scalar) in
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || ("0"..."9").contains(scalar)
        }
        guard let first = last.unicodeScalars.first, let end = last.unicodeScalars.last, last.count <= 63,
              isAlphanumeric(first), isAlphanumeric(end) else { return false }
        return last.unicodeScalars.allSatisfy { isAlphanumeric($0) || "-_.".unicodeScalars.contains($0) }
    }

    /// Whether `name` is a valid target name: a Kubernetes label value (the node selector), so at most 63
    /// characters. Model names follow `ModelReference.isValidName`.
    public static func isValidTargetName(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, name.unicodeScalars.count <= 63,
              first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first)
        else { return false }
        return name.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII && (("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar)
                || ("0"..."9").contains(scalar) || ".-_".unicodeScalars.contains(scalar))
        }
    }
}
