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
