import Foundation
import ShoalStore
import Testing
@testable import ShoalControl

@Suite struct PackerTests {
    static func configuration(targets: [ShoalConfiguration.TargetSpec], target: String = "") -> ShoalConfiguration {
        var configuration = ShoalConfiguration()
        configuration.targets = targets
        configuration.pack.target = target
        configuration.pack.memoryReserve = 0
        configuration.pack.serverOverhead = ByteCount(0)
        configuration.pack.cpuUtilization = 1
        return configuration
    }

    static let small = ShoalConfiguration.TargetSpec(name: "small", cpus: 4, memory: ByteCount(1 << 30), pricePerHour: 0.2)
    static let large = ShoalConfiguration.TargetSpec(name: "large", cpus: 16, memory: ByteCount(4 << 30), pricePerHour: 1.0)
    static let mib: Int64 = 1 << 20

    /// Every placement fits its group, every model is placed with all its replicas, and no plan beats the bound.
    static func checkInvariants(_ plan: PlacementPlan, _ models: [PackingModel]) {
        #expect(plan.groups.count >= plan.lowerBound)
        for group in plan.groups {
            #expect(group.memory <= group.memoryCapacity)
            #expect(group.cores <= group.coreCapacity + 1e-9)
            #expect(Set(group.placements.map(\.model)).count == group.placements.count, "replicas share \(group.name)")
        }
        for model in models {
            let placements = plan.groups.flatMap(\.placements).filter { $0.model == model.name }
            #expect(!placements.isEmpty, "\(model.name) is not placed")
            #expect(placements.count == placements.first?.replicas)
            #expect(abs(placements.reduce(0) { $0 + $1.traffic } - model.traffic) < 1e-6)
        }
    }

    @Test func aModelBiggerThanEveryTargetIsRefusedByName() {
        let models = [PackingModel(name: "giant", memory: 5 << 30, traffic: 1, throughputPerCore: 100)]
        #expect(throws: ControlError.self) {
            _ = try Packer(configuration: Self.configuration(targets: [Self.small, Self.large])).plan(models)
        }
        do {
            _ = try Packer(configuration: Self.configuration(targets: [Self.small, Self.large])).plan(models)
        } catch let error as ControlError {
            guard case .modelTooLarge(let model, _, let largest) = error else { Issue.record("\(error)"); return }
            #expect(model == "giant")
            #expect(largest.hasPrefix("large"))
        } catch {
            Issue.record("\(error)")
        }
    }

    @Test func noModelsIsAnError() {
        #expect(throws: ControlError.self) { _ = try Packer(configuration: Self.configuration(targets: [Self.small])).plan([]) }
    }

    @Test func aModelTooLargeForOneTargetIsPackedOnAnother() throws {
        let models = [PackingModel(name: "big", memory: 2 << 30, traffic: 1, throughputPerCore: 100)]
        let plan = try Packer(configuration: Self.configuration(targets: [Self.small, Self.large])).plan(models)
        #expect(plan.target == "large")
        #expect(plan.alternatives.first?.note.contains("cannot hold big") == true)
    }

    @Test func sharedBasesAreCountedOncePerGroup() throws {
        let models = [
            PackingModel(name: "base", memory: 400 * Self.mib, traffic: 0, throughputPerCore: 100),
            PackingModel(name: "a", memory: 10 * Self.mib, base: "base", traffic: 10, throughputPerCore: 100),
            PackingModel(name: "b", memory: 10 * Self.mib, base: "base", traffic: 10, throughputPerCore: 100),
            PackingModel(name: "c", memory: 10 * Self.mib, base: "base", traffic: 10, throughputPerCore: 100),
        ]
        let plan = try Packer(configuration: Self.configuration(targets: [Self.small])).plan(models)
        #expect(plan.groups.count == 1)
        #expect(plan.groups[0].memory == 430 * Self.mib)
        #expect(plan.groups[0].bases == ["base"])
        Self.checkInvariants(plan, models)
    }

    @Test func headsFollowTheirBaseWhenGroupsFill() throws {
        // Two bases of 600 MiB cannot share a 1 GiB group; each head must land beside its own base.
        let models = [
            PackingModel(name: "x", memory: 600 * Self.mib, traffic: 0, throughputPerCore: 100),
            PackingModel(name: "y", memory: 600 * Self.mib, traffic: 0, throughputPerCore: 100),
            PackingModel(name: "x1", memory: 5 * Self.mib, base: "x", traffic: 1, throughputPerCore: 100),
            PackingModel(name: "y1", memory: 5 * Self.mib, base: "y", traffic: 1, throughputPerCore: 100),
        ]
        let plan = try Packer(configuration: Self.configuration(targets: [Self.small])).plan(models)
        #expect(plan.groups.count == 2)
        #expect(plan.groups.allSatisfy { $0.bases.count == 1 })
        #expect(plan.groups(serving: "x1").first?.bases == ["x"])
        #expect(plan.groups(serving: "y1").first?.bases == ["y"])
        Self.checkInvariants(plan, models)
    }

    @Test func hotModelsGetReplicasOnDistinctGroups() throws {
        let models = [PackingModel(name: "hot", memory: 90 * Self.mib, traffic: 1_000, throughputPerCore: 100)]
        let plan = try Packer(configuration: Self.configuration(targets: [Self.small])).plan(models)
        #expect(plan.groups.count == 3)  // 10 cores of demand over 4-core groups
        #expect(plan.lowerBound == 3)
        #expect(plan.groups.allSatisfy { $0.placements.map(\.model) == ["hot"] })
        Self.checkInvariants(plan, models)
    }

    @Test func theCheapestTargetWinsUnlessOneIsNamed() throws {
        // 24 cores of demand: 6 small groups ($1.2/h) or 2 large ones ($2/h).
        let models = (0..<24).map { PackingModel(name: "m\($0)", memory: 50 * Self.mib, traffic: 100, throughputPerCore: 100) }
        let cheapest = try Packer(configuration: Self.configuration(targets: [Self.small, Self.large])).plan(models)
        #expect(cheapest.target == "small")
        #expect(cheapest.groups.count == 6)
        #expect(abs(cheapest.costPerHour - 1.2) < 1e-9)
        let named = try Packer(configuration: Self.configuration(targets: [Self.small, Self.large], target: "large")).plan(models)
        #expect(named.target == "large")
        #expect(named.groups.count == 2)
        Self.checkInvariants(named, models)
    }

    @Test func randomInstancesKeepEveryInvariant() throws {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let count = Int.random(in: 1...40, using: &generator)
            var models: [PackingModel] = []
            for index in 0..<count {
                let base = index > 0 && Bool.random(using: &generator) ? models.first { $0.base == nil }?.name : nil
                models.append(PackingModel(
                    name: "m\(index)", memory: Int64.random(in: 1...700, using: &generator) * Self.mib, base: base,
                    traffic: Double.random(in: 0...900, using: &generator), throughputPerCore: 100))
            }
            let plan = try Packer(configuration: Self.configuration(targets: [Self.small, Self.large])).plan(models)
            Self.checkInvariants(plan, models)
        }
    }

    @Test func storeManifestsFillWhatTheConfigurationLeavesOut() throws {
        var spec = ShoalConfiguration.ModelSpec()
        spec.memory = nil
        let profile = Manifest.Profile(cpus: 2, threads: 2, provider: "amx", measurements: [
            .init(workload: "b1_short", batch: 1, tokensPerSequence: 12, latencyP50Ms: 4, latencyP99Ms: 6,
                  sequencesPerSecond: 240, tokensPerSecond: 2_880),
            .init(workload: "b32_short", batch: 32, tokensPerSequence: 12, latencyP50Ms: 40, latencyP99Ms: 60,
                  sequencesPerSecond: 800, tokensPerSecond: 9_600),
        ])
        let manifest = Manifest(
            name: "minilm", architecture: "bert", task: "embedding", labels: [], dimensions: 384,
            footprint: .init(weightBytes: 91_000_000, activationBytesPerToken: 20_000, precision: "fp32"),
            maxSequenceLength: 256, source: "test", profile: profile)
        let model = try PackingModel(spec: spec, manifest: manifest, settings: ShoalConfiguration.PackSettings())
        #expect(model.memory == 91_000_000)
        #expect(model.throughputPerCore == 120)
        #expect(model.activationBytesPerToken == 20_000)
        #expect(model.source == .init(memory: .manifest, throughput: .profile))
        #expect(throws: ControlError.self) {
            _ = try PackingModel(spec: spec, manifest: nil, settings: ShoalConfiguration.PackSettings())
        }

        // The plan explains every fact shoal.yaml did not give, and only those.
        spec.memory = ByteCount(90 * Self.mib)
        let configured = ShoalConfiguration.ModelSpec(name: "fixed", traffic: 10, memory: ByteCount(Self.mib), throughput: 50)
        let models = [
            try PackingModel(spec: spec, manifest: manifest, settings: ShoalConfiguration.PackSettings()),
            try PackingModel(spec: configured, manifest: nil, settings: ShoalConfiguration.PackSettings()),
        ]
        #expect(models.map(\.source) == [.init(memory: .configuration, throughput: .profile), .init(memory: .configuration, throughput: .configuration)])
        let reasons = try Packer(configuration: Self.configuration(targets: [Self.small])).plan(models).reasons
        #expect(reasons.contains("minilm: memory from shoal.yaml, throughput from the store's profile"), "\(reasons)")
        #expect(!reasons.contains { $0.hasPrefix("fixed:") }, "\(reasons)")
    }

    @Test func thePlanRoundTripsThroughJSON() throws {
        let models = [PackingModel(name: "a", memory: 90 * Self.mib, traffic: 10, throughputPerCore: 100)]
        let plan = try Packer(configuration: Self.configuration(targets: [Self.small]))
            .plan(models, now: Date(timeIntervalSince1970: 1_700_000_000))
        #expect(try PlacementPlan.decode(plan.encoded(), path: "plan.json") == plan)
        #expect(plan.rendered.contains("group-0"))
    }

    /// The engine computes on CPUs: with the default targets, a cluster plan picks a CPU machine whatever the
    /// traffic; an accelerator target is packed for when named, and says that its devices stay idle.
    @Test(arguments: [30.0, 3_000.0])
    func acceleratorTargetsAreChosenOnlyWhenNamed(traffic: Double) throws {
        var configuration = ShoalConfiguration()
        configuration.runtime = .kubernetes
        let models = [PackingModel(name: "m", memory: 256 * Self.mib, traffic: traffic, throughputPerCore: 100)]
        let cheapest = try Packer(configuration: configuration).plan(models)
        #expect(!(configuration.targets.first { $0.name == cheapest.target }?.hasAccelerator ?? true), "\(cheapest.target)")
        #expect(!cheapest.reasons.contains { $0.contains("devices stay idle") })
        #expect(cheapest.alternatives.contains { $0.target == "g5.xlarge" && ($0.costPerHour ?? 0) > cheapest.costPerHour })

        configuration.pack.target = "g5.xlarge"
        let named = try Packer(configuration: configuration).plan(models)
        #expect(named.target == "g5.xlarge")
        #expect(named.reasons.contains { $0.contains("1 nvidia-gpu device(s)") && $0.contains("devices stay idle") }, "\(named.reasons)")
    }

    /// At equal cost the CPU machine wins; an accelerator machine that really is cheaper for the CPU work wins.
    @Test func anAcceleratorTargetWinsOnlyWhenItIsCheaper() throws {
        let gpu = { (price: Double) in
            ShoalConfiguration.TargetSpec(name: "gpu", cpus: 4, memory: ByteCount(1 << 30), pricePerHour: price,
                                          accelerator: .init(kind: .nvidiaGPU))
        }
        let models = [PackingModel(name: "m", memory: 64 * Self.mib, traffic: 10, throughputPerCore: 100)]
        let tie = try Packer(configuration: Self.configuration(targets: [gpu(0.2), Self.small])).plan(models)
        #expect(tie.target == "small")
        let cheaper = try Packer(configuration: Self.configuration(targets: [gpu(0.1), Self.small])).plan(models)
        #expect(cheaper.target == "gpu")
        #expect(cheaper.reasons.contains { $0.contains("devices stay idle") })
    }
}
