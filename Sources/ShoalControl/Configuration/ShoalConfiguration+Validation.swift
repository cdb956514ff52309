import Foundation
import ShoalStore

extension ShoalConfiguration {
    /// Checks every value and every reference between entries; the first problem is thrown, naming its key.
    public func validate() throws {
        try checkNames(models.map(\.name), key: "models", isValid: ModelReference.isValidName)
        try checkNames(targets.map(\.name), key: "targets", isValid: ConfigurationSchema.isValidTargetName)
        let modelNames = models.map(\.name)
        let targetNames = targets.map(\.name)
        for model in models {
            let key = "models.\(model.name)"
            try check(model.version == "latest" || (Int(model.version).map { $0 >= 1 } ?? false), "\(key).version", model.version)
            try check(model.traffic >= 0 && model.traffic.isFinite, "\(key).traffic", model.traffic)
            try check(model.latencyP90Ms > 0 && model.latencyP90Ms.isFinite, "\(key).latency_p90_ms", model.latencyP90Ms)
            if let throughput = model.throughput {
                try check(throughput > 0 && throughput.isFinite, "\(key).throughput", throughput)
            }
            if let serverless = model.serverless {
                try check(serverless.idleSeconds > 0 && serverless.idleSeconds <= 86_400, "\(key).serverless.idle_seconds", serverless.idleSeconds)
                try check((1...100_000).contains(serverless.maxQueued), "\(key).serverless.max_queued", serverless.maxQueued)
            }
            if let base = model.base {
                try check(base != model.name, "\(key).base", base)
                guard modelNames.contains(base) else {
                    throw ControlError.unknownName(key: "\(key).base", name: base, valid: modelNames.filter { $0 != model.name })
                }
            }
        }
        try checkBaseChains()
        guard !targets.isEmpty else {
            throw ControlError.invalidValue(key: "targets", value: "[]", expected: "at least one target")
        }
        for target in targets {
            let key = "targets.\(target.name)"
            try check(target.cpus >= 1, "\(key).cpus", target.cpus)
            try check(target.memory.bytes > 0, "\(key).memory", target.memory)
            try check(target.pricePerHour >= 0 && target.pricePerHour.isFinite, "\(key).price_per_hour", target.pricePerHour)
            let devices = target.accelerator.count
            try check(target.hasAccelerator ? (1...16).contains(devices) : devices == 0, "\(key).accelerator.count", devices)
        }
        try check((1...65_535).contains(server.port) && server.port != server.gatewayPort, "server.port", server.port)
        try check((1...65_535).contains(server.gatewayPort), "server.gateway_port", server.gatewayPort)
        try check(!server.host.isEmpty, "server.host", server.host)
        if let violation = server.limits.violation, let key = violation.setting.configurationKey {
            let values: [ServingLimits.Setting: String] = [
                .maxBatchTokens: "\(server.maxBatchTokens)", .maxBatchInputs: "\(server.maxBatchInputs)",
                .maxQueueDelay: "\(server.maxQueueDelayMs)", .memoryBudget: server.memoryBudget.description,
            ]
            throw ControlError.invalidValue(key: key, value: values[violation.setting] ?? "", expected: ConfigurationSchema.expected(for: key))
        }
        try check(server.threads >= 0, "server.threads", server.threads)
        try check(server.asyncMaxQueued >= 0, "server.async_max_queued", server.asyncMaxQueued)
        try check((1...64).contains(server.asyncConcurrency), "server.async_concurrency", server.asyncConcurrency)
        try check((try? CallbackHosts(server.asyncCallbackHosts)) != nil, "server.async_callback_hosts", server.asyncCallbackHosts)
        if !pack.target.isEmpty, !targetNames.contains(pack.target) {
            throw ControlError.unknownName(key: "pack.target", name: pack.target, valid: targetNames)
        }
        try check(pack.cpuUtilization > 0 && pack.cpuUtilization <= 1, "pack.cpu_utilization", pack.cpuUtilization)
        try check(pack.memoryReserve >= 0 && pack.memoryReserve < 1, "pack.memory_reserve", pack.memoryReserve)
        try check(pack.defaultThroughput > 0 && pack.defaultThroughput.isFinite, "pack.default_throughput", pack.defaultThroughput)
        try validateTest(targetNames: targetNames)
        try check(ConfigurationSchema.isDNSLabel(kubernetes.namespace), "kubernetes.namespace", kubernetes.namespace)
        try check(!kubernetes.image.isEmpty && !kubernetes.image.contains(where: \.isWhitespace), "kubernetes.image", kubernetes.image)
        try check((1...100).contains(kubernetes.maxReplicas), "kubernetes.max_replicas", kubernetes.maxReplicas)
        try check((1...100).contains(kubernetes.gatewayReplicas), "kubernetes.gateway_replicas", kubernetes.gatewayReplicas)
        let prometheus = URL(string: kubernetes.prometheusURL)
        try check(kubernetes.prometheusURL.isEmpty || (["http", "https"].contains(prometheus?.scheme ?? "") && prometheus?.host != nil),
                  "kubernetes.prometheus_url", kubernetes.prometheusURL)
        try check(kubernetes.asyncQueuedPerPod >= 1, "kubernetes.async_queued_per_pod", kubernetes.asyncQueuedPerPod)
        try check(!kubernetes.context.contains(where: \.isNewline), "kubernetes.context", kubernetes.context)
        try check(ConfigurationSchema.isDNSSubdomain(kubernetes.serviceAccount), "kubernetes.service_account", kubernetes.serviceAccount)
        for name in kubernetes.serviceAccountAnnotations.keys.sorted() {
            try check(ConfigurationSchema.isQualifiedName(name), "kubernetes.service_account_annotations", name)
        }
        try validateCluster()
        try check(train.localBudgetS > 0 && train.localBudgetS.isFinite, "train.local_budget_s", train.localBudgetS)
        try check((1...1_000).contains(train.shards), "train.shards", train.shards)
        try check(train.rowsPerSecond > 0 && train.rowsPerSecond.isFinite, "train.rows_per_second", train.rowsPerSecond)
    }

    /// The names eksctl accepts: a cluster name as CloudFormation stacks allow it, a region like `eu-west-1`,
    /// a version like `1.33`.
    private func validateCluster() throws {
        let name = cluster.name.unicodeScalars
        let nameIsValid = (1...100).contains(name.count) && name.first.map { $0.isASCII && $0.properties.isAlphabetic } == true
            && name.allSatisfy { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "-") }
        try check(nameIsValid, "cluster.name", cluster.name)
        let region = cluster.region.split(separator: "-", omittingEmptySubsequences: false)
        let regionIsValid = region.count >= 3 && region.allSatisfy { part in
            !part.isEmpty && part.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) }
        }
        try check(regionIsValid, "cluster.region", cluster.region)
        let version = cluster.version.split(separator: ".", omittingEmptySubsequences: false)
        try check(cluster.version.isEmpty || (version.count == 2 && version.allSatisfy { Int($0) != nil && !$0.hasPrefix("+") }),
                  "cluster.version", cluster.version)
    }

    private func validateTest(targetNames: [String]) throws {
        let url = URL(string: test.url)
        try check(url?.scheme == "http" && url?.host != nil, "test.url", test.url)
        try check((1...4_096).contains(test.concurrency), "test.concurrency", test.concurrency)
        try check(test.rate > 0 && test.rate <= 1_000_000, "test.rate", test.rate)
        try check(test.durationS > 0 && test.durationS <= 3_600, "test.duration_s", test.durationS)
        try check(test.requests >= 0, "test.requests", test.requests)
        try check((1...256).contains(test.batch), "test.batch", test.batch)
        try check(test.timeoutS > 0 && test.timeoutS.isFinite, "test.timeout_s", test.timeoutS)
        if !targetNames.contains(test.target) {
            throw ControlError.unknownName(key: "test.target", name: test.target, valid: targetNames)
        }
    }

    private func checkNames(_ names: [String], key: String, isValid: (String) -> Bool) throws {
        var seen = Set<String>()
        for (index, name) in names.enumerated() {
            try check(isValid(name), "\(key).\(index).name", name)
            guard seen.insert(name).inserted else { throw ControlError.duplicateName(key: key, name: name) }
        }
    }

    /// A base may not itself have a base: a model shares one encoder, not a chain of them.
    private func checkBaseChains() throws {
        let byName = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for model in models {
            guard let base = model.base, let baseModel = byName[base], let grandBase = baseModel.base else { continue }
            throw ControlError.invalidValue(
                key: "models.\(model.name).base", value: base,
                expected: "a model without a base of its own ('\(base)' has base '\(grandBase)'); name '\(grandBase)' instead")
        }
    }

    private func check(_ condition: Bool, _ key: String, _ value: some CustomStringConvertible) throws {
        guard condition else {
            throw ControlError.invalidValue(key: key, value: value.description, expected: ConfigurationSchema.expected(for: key))
        }
    }
}
