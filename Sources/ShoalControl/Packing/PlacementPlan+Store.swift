import ShoalStore

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
