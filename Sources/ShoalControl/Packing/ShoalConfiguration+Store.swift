import ShoalStore

extension ShoalConfiguration {
    /// The store `store.url` names, opened; an S3 store needs keys here.
    public func openStore() throws -> ModelStore {
        try ModelStore(configuration: StoreConfiguration(url: store.url))
    }

    /// The manifest of every model of `models` that `store` holds, at the version the entry names; packing
    /// reads sizes and throughput from them where `shoal.yaml` is silent.
    public func manifests(in store: ModelStore) async throws -> [String: Manifest] {
        let names = Set(try await store.names())
        var manifests: [String: Manifest] = [:]
        for spec in models where names.contains(spec.name) {
            let version = spec.version == "latest" ? nil : spec.version
            manifests[spec.name] = try await store.manifest(ModelReference(name: spec.name, version: version))
        }
        return manifests
    }

    /// The names of `models` that `store` lacks, in the order of `models`.
    public func modelsMissing(from store: ModelStore) async throws -> [String] {
        let names = Set(try await store.names())
        return models.map(\.name).filter { !names.contains($0) }
    }
}

extension PlacementPlan {
    /// Every model a server of the plan loads (shared bases and placements), each once, sorted.
    public var models: [String] {
        Set(groups.flatMap(\.servedModels)).sorted()
    }

    /// Throws, naming them, when `store` lacks models of the plan: a server would start and answer 404 for
    /// each, so a deployment checks this before it starts anything.
    public func requireModels(in store: ModelStore) async throws {
        let names = Set(try await store.names())
        let missing = models.filter { !names.contains($0) }
        guard missing.isEmpty else { throw ControlError.modelsNotInStore(store: store.description, models: missing) }
    }
}
