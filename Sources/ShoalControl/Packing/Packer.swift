import Foundation
import ShoalStore

/// Packs models into server groups: every group fits its target's memory and CPU budget and the expected
/// traffic, shared encoders are held once per group, and hot models get replicas on distinct groups.
///
/// The heuristic is first-fit decreasing by dominant share (the larger of a replica's memory and CPU share of
/// one group), choosing among the groups a replica fits the one it adds the least memory to, so that heads
/// land beside their base. Every target is packed and the cheapest plan wins unless `pack.target` names one;
/// at equal cost a target without accelerators wins, since the engine computes on CPUs.
public struct Packer: Sendable {
    public var targets: [ShoalConfiguration.TargetSpec]
    public var settings: ShoalConfiguration.PackSettings
    public var server: ShoalConfiguration.ServerSettings

    public init(configuration: ShoalConfiguration) {
        // A cluster's nodes are selected by instance type, which `local` is not: it is packed for only when named.
        let cluster = configuration.runtime == .kubernetes && configuration.pack.target.isEmpty
        targets = configuration.targets.filter { !cluster || $0.name != KubernetesManifests.machineTarget }
        settings = configuration.pack
        server = configuration.server
    }

    /// Most replicas one model may be given before the plan is refused as unreasonable.
    static let maxReplicas = 1_000

    /// The plan for `models`; throws before anything is written if a model fits no target.
    public func plan(_ models: [PackingModel], now: Date = Date()) throws -> PlacementPlan {
        guard !models.isEmpty else {
            throw ControlError.invalidValue(key: "models", value: "[]", expected: "at least one model to place")
        }
        try checkBases(models)
        let candidates = settings.target.isEmpty ? targets : targets.filter { $0.name == settings.target }
        var plans: [PlacementPlan] = []
        var alternatives: [PlacementPlan.Alternative] = []
        var largestMiss: Miss?
        for target in candidates {
            switch pack(models, on: target, now: now) {
            case .success(let plan):
                plans.append(plan)
            case .failure(let miss):
                alternatives.append(.init(target: target.name, note: "cannot hold \(miss.model): needs \(ByteCount(miss.needs)), "
                    + "a group offers \(ByteCount(capacity(of: target).memory))"))
                if miss.needs > (largestMiss?.needs ?? -1) { largestMiss = miss }
            }
        }
        // The engine computes on CPUs: at equal cost a machine without accelerators wins, its devices would idle.
        let accelerated = Set(candidates.filter(\.hasAccelerator).map(\.name))
        let ranked = plans.sorted {
            ($0.costPerHour, accelerated.contains($0.target) ? 1 : 0, $0.groups.count, $0.target)
                < ($1.costPerHour, accelerated.contains($1.target) ? 1 : 0, $1.groups.count, $1.target)
        }
        guard var best = ranked.first else {
            let largest = candidates.max { capacity(of: $0).memory < capacity(of: $1).memory }
            throw ControlError.modelTooLarge(
                model: largestMiss?.model ?? "?", needs: ByteCount(largestMiss?.needs ?? 0).description,
                largest: largest.map { "\($0.name), \(ByteCount(capacity(of: $0).memory)) per group after reserve and overhead" } ?? "no targets")
        }
        for other in ranked.dropFirst() {
            alternatives.append(.init(
                target: other.target, groups: other.groups.count, lowerBound: other.lowerBound, costPerHour: other.costPerHour,
                note: String(format: "$%.4f/h more", other.costPerHour - best.costPerHour)))
        }
        best.alternatives = alternatives.sorted { $0.target < $1.target }
        if settings.target.isEmpty, ranked.count > 1 {
            best.reasons.append("\(best.target) is the cheapest of \(ranked.count) targets that can hold every model")
        }
        if let target = candidates.first(where: { $0.name == best.target }), target.hasAccelerator {
            best.reasons.append("\(target.name) has \(target.accelerator.count) \(target.accelerator.kind.rawValue) device(s), which "
                + "its pods request so that they land there; the engine computes on its \(target.cpus) CPUs, the devices stay idle")
        }
        return best
    }

    /// Memory and cores one group may use on `target`.
    func capacity(of target: ShoalConfiguration.TargetSpec) -> (memory: Int64, cores: Double) {
        let memory = Int64(Double(target.memory.bytes) * (1 - settings.memoryReserve)) - settings.serverOverhead.bytes
        return (memory, Double(target.cpus) * settings.cpuUtilization)
    }

    /// One replica to place.
    struct Item {
        var model: PackingModel
        var replica: Int
        var replicas: Int
        /// Bytes of the model's own part (0 for a base, whose weights are its encoder).
        var head: Int64
        /// The shared encoder it needs, with its bytes.
        var encoder: String?
        var encoderBytes: Int64
        var cores: Double
    }

    /// A group being filled.
    struct Bin {
        var items: [Item] = []
        var encoders: [String: Int64] = [:]
        var memory: Int64 = 0
        var cores: Double = 0

        func added(_ item: Item) -> Int64 {
            item.head + (item.encoder.map { encoders[$0] == nil ? item.encoderBytes : 0 } ?? 0)
        }

        func holds(_ model: String) -> Bool { items.contains { $0.model.name == model } }
    }

    func pack(_ models: [PackingModel], on target: ShoalConfiguration.TargetSpec, now: Date)
        -> Result<PlacementPlan, Miss> {
        let (memoryCapacity, coreCapacity) = capacity(of: target)
        let activation = (models.map(\.activationBytesPerToken).max() ?? 0) * Int64(server.maxBatchTokens)
        let usable = memoryCapacity - activation
        let items: [Item]
        switch self.items(models, usable: usable, coreCapacity: coreCapacity) {
        case .success(let built): items = built
        case .failure(let miss): return .failure(miss)
        }
        // Serverless models start and stop with their group, so they share one only with models of the same settings.
        var bins: [(bin: Bin, serverless: PlacementPlan.Serverless?)] = []
        let kinds = Dictionary(grouping: items) { $0.model.serverless.map(PlacementPlan.Serverless.init) }
        let order = kinds.keys.sorted { ($0?.idleSeconds ?? -1, $0?.maxQueued ?? -1) < ($1?.idleSeconds ?? -1, $1?.maxQueued ?? -1) }
        for kind in order {
            bins += fill(kinds[kind] ?? [], usable: usable, coreCapacity: coreCapacity).map { ($0, kind) }
        }
        let lowerBound = self.lowerBound(items, usable: usable, coreCapacity: coreCapacity)
        let overhead = settings.serverOverhead.bytes + activation
        let groups = bins.enumerated().map { index, entry in
            let bin = entry.bin
            return PlacementPlan.Group(
                name: "group-\(index)", target: target.name, port: server.port + index,
                placements: bin.items.sorted { ($0.model.name, $0.replica) < ($1.model.name, $1.replica) }.map {
                    .init(model: $0.model.name, replica: $0.replica, replicas: $0.replicas, memory: $0.head,
                          cores: $0.cores, traffic: $0.model.traffic / Double($0.replicas))
                },
                bases: bin.encoders.keys.sorted(), memory: bin.memory + overhead, memoryCapacity: memoryCapacity + settings.serverOverhead.bytes,
                cores: bin.cores, coreCapacity: coreCapacity, serverless: entry.serverless)
        }
        let reasons = self.reasons(models, items: items, target: target, usable: usable, coreCapacity: coreCapacity,
                                   activation: activation, groups: groups.count, lowerBound: lowerBound)
        return .success(PlacementPlan(
            target: target.name, pricePerHour: target.pricePerHour, groups: groups, lowerBound: lowerBound,
            costPerHour: Double(groups.count) * target.pricePerHour,
            lowerBoundCostPerHour: Double(lowerBound) * target.pricePerHour,
            algorithm: "first-fit decreasing by dominant share, least added memory among fitting groups",
            reasons: reasons, alternatives: [], created: now))
    }

    /// First-fit decreasing of `items` into groups of `usable` bytes and `coreCapacity` cores.
    func fill(_ items: [Item], usable: Int64, coreCapacity: Double) -> [Bin] {
        let share = { (item: Item) in max(Double(item.head + item.encoderBytes) / Double(usable), item.cores / coreCapacity) }
        var bins: [Bin] = []
        for item in items.sorted(by: { (share($0), $0.model.name) > (share($1), $1.model.name) }) {
            let fitting = bins.indices.filter { index in
                !bins[index].holds(item.model.name) && bins[index].memory + bins[index].added(item) <= usable
                    && bins[index].cores + item.cores <= coreCapacity + 1e-9
            }
            let chosen = fitting.min { (bins[$0].added(item), $0) < (bins[$1].added(item), $1) }
            let index = chosen ?? { bins.append(Bin()); return bins.count - 1 }()
            bins[index].memory += bins[index].added(item)
            if let encoder = item.encoder { bins[index].encoders[encoder] = item.encoderBytes }
            bins[index].cores += item.cores
            bins[index].items.append(item)
        }
        return bins
    }

    /// A model that does not fit one group of a target, and the bytes it needs.
    struct Miss: Error {
        var model: String
        var needs: Int64
    }

    func items(_ models: [PackingModel], usable: Int64, coreCapacity: Double) -> Result<[Item], Miss> {
        let bases = Set(models.compactMap(\.base))
        let byName = Dictionary(models.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        var items: [Item] = []
        for model in models {
            let isBase = bases.contains(model.name)
            let encoder = model.base ?? (isBase ? model.name : nil)
            let encoderBytes = model.base.flatMap { byName[$0]?.memory } ?? (isBase ? model.memory : 0)
            let head = isBase ? 0 : model.memory
            guard head + encoderBytes <= usable else { return .failure(Miss(model: model.name, needs: head + encoderBytes)) }
            let replicas = min(Self.maxReplicas, max(1, Int((model.cores / coreCapacity - 1e-9).rounded(.up))))
            for replica in 1...replicas {
                items.append(Item(model: model, replica: replica, replicas: replicas, head: head, encoder: encoder,
                                  encoderBytes: encoderBytes, cores: model.cores / Double(replicas)))
            }
        }
        return .success(items)
    }

    /// The most of: all memory (each encoder once) over one group's, all cores over one group's, and the
    /// replicas of the hottest model (replicas never share a group).
    func lowerBound(_ items: [Item], usable: Int64, coreCapacity: Double) -> Int {
        var encoders: [String: Int64] = [:]
        for item in items { if let encoder = item.encoder { encoders[encoder] = item.encoderBytes } }
        let memory = items.reduce(Int64(0)) { $0 + $1.head } + encoders.values.reduce(0, +)
        let cores = items.reduce(0) { $0 + $1.cores }
        let byMemory = Int((Double(memory) / Double(usable) - 1e-9).rounded(.up))
        let byCores = Int((cores / coreCapacity - 1e-9).rounded(.up))
        return max(1, byMemory, byCores, items.map(\.replicas).max() ?? 1)
    }

    func reasons(_ models: [PackingModel], items: [Item], target: ShoalConfiguration.TargetSpec, usable: Int64,
                 coreCapacity: Double, activation: Int64, groups: Int, lowerBound: Int) -> [String] {
        var reasons = [
            "a group on \(target.name) may use \(ByteCount(usable)) for weights: \(target.memory) less "
                + "\(Int(settings.memoryReserve * 100))% reserve, \(settings.serverOverhead) server overhead"
                + (activation > 0 ? " and \(ByteCount(activation)) of activations (\(server.maxBatchTokens) batch tokens)" : ""),
            String(format: "a group may keep %.2f of %d cores busy (pack.cpu_utilization %.2f leaves headroom for latency)",
                   coreCapacity, target.cpus, settings.cpuUtilization),
            groups == lowerBound
                ? "\(groups) group(s), equal to the lower bound: no plan on \(target.name) uses fewer"
                : String(format: "%d groups against a lower bound of %d: at most %.0f%% above the optimum",
                         groups, lowerBound, (Double(groups) / Double(lowerBound) - 1) * 100),
        ]
        for model in models where items.contains(where: { $0.model.name == model.name && $0.replicas > 1 }) {
            let replicas = items.first { $0.model.name == model.name }?.replicas ?? 1
            reasons.append(String(format: "%@: %.0f req/s at %.0f req/s per core needs %.2f cores, so %d replicas on distinct groups",
                                  model.name, model.traffic, model.throughputPerCore, model.cores, replicas))
        }
        let serverless = models.filter { $0.serverless != nil }.map(\.name)
        if !serverless.isEmpty {
            reasons.append("\(serverless.joined(separator: ", ")) are serverless: they share groups only with models of the same "
                + "serverless settings, which are stopped when idle and started by the gateway on the next request")
        }
        let shared = Dictionary(grouping: models.filter { $0.base != nil }, by: { $0.base ?? "" })
        for (base, heads) in shared.sorted(by: { $0.key < $1.key }) {
            reasons.append("\(heads.map(\.name).joined(separator: ", ")) share the encoder of \(base); a group holds it once")
        }
        for model in models where !model.source.isConfigured {
            reasons.append("\(model.name): \(model.source)")
        }
        return reasons
    }

    func checkBases(_ models: [PackingModel]) throws {
        let names = models.map(\.name)
        for model in models {
            guard let base = model.base, !names.contains(base) else { continue }
            throw ControlError.unknownName(key: "models.\(model.name).base", name: base, valid: names.filter { $0 != model.name })
        }
    }
}
