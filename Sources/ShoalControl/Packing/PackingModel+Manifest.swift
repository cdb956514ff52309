import ShoalStore

extension PackingModel {
    /// A model's packing facts: `spec` first, then the store's `manifest`, then `settings`' defaults.
    public init(spec: ShoalConfiguration.ModelSpec, manifest: Manifest?, settings: ShoalConfiguration.PackSettings) throws {
        let memory = spec.memory?.bytes ?? manifest.map { Int64($0.footprint.weightBytes) }
        guard let memory else {
            throw ControlError.invalidValue(
                key: "models.\(spec.name).memory", value: "(absent)",
                expected: "a size (e.g. `shoal config set models.\(spec.name).memory 90MiB`), or the model imported "
                    + "into the store (`shoal models import FOLDER --name \(spec.name)`)")
        }
        let measured = manifest?.profile.flatMap(Self.throughputPerCore)
        let throughput = spec.throughput ?? measured ?? settings.defaultThroughput
        let source = Source(
            memory: spec.memory != nil ? .configuration : .manifest,
            throughput: spec.throughput != nil ? .configuration : measured != nil ? .profile : .assumed)
        self.init(
            name: spec.name, memory: memory, base: spec.base ?? manifest?.base?.name, traffic: spec.traffic,
            throughputPerCore: throughput, activationBytesPerToken: Int64(manifest?.footprint.activationBytesPerToken ?? 0),
            source: source, serverless: spec.serverless)
    }

    /// Sequences per second per thread of the profile's best single-request measurement: what one core
    /// sustains for interactive requests (batches under load do better, so this errs on the safe side).
    static func throughputPerCore(_ profile: Manifest.Profile) -> Double? {
        let single = profile.measurements.filter { $0.batch == 1 }.map(\.sequencesPerSecond).max()
        guard let single, single > 0, profile.threads > 0 else { return nil }
        return single / Double(profile.threads)
    }
}
