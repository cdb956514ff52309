import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct PackCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pack",
        abstract: "Place every model of shoal.yaml in server groups sized for a target; write plan.json.",
        discussion: """
            Each group fits its target's memory (less pack.memory_reserve and pack.server_overhead) and \
            pack.cpu_utilization of its cores at the models' expected traffic; shared bases are held once per group \
            and hot models get replicas on distinct groups. Model sizes and throughput come from shoal.yaml, else \
            from the store's manifests. The plan reports how far it is from the lower bound.
            Example: shoal pack && shoal pack --target c7i.4xlarge --json
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "Pack for this target only (default: pack.target, else the cheapest).")
    var target: String?
    @Option(name: .long, help: "Where to write the plan.")
    var out = "plan.json"
    @Flag(name: .long, help: "Print the plan as JSON instead of a table.")
    var json = false

    func validate() throws {
        guard !out.isEmpty else { throw ValidationError("--out must name a file, e.g. plan.json") }
    }

    func run() async throws {
        var configuration = try options.load().configuration
        if let target {
            configuration.pack.target = target
            try configuration.validate()
        }
        let manifests = try await Self.manifests(for: configuration)
        let models = try configuration.models.map {
            try PackingModel(spec: $0, manifest: manifests[$0.name], settings: configuration.pack)
        }
        let plan = try Packer(configuration: configuration).plan(models)
        let data = try plan.encoded()
        do {
            try data.write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ControlError.file(path: out, reason: "cannot be written (\(error.localizedDescription))")
        }
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(plan.rendered)
            print("wrote \(out)")
        }
    }

    /// The store's manifest of every model that is in it; an absent or empty store gives none.
    static func manifests(for configuration: ShoalConfiguration) async throws -> [String: Manifest] {
        let url = configuration.store.url
        if !url.hasPrefix("s3://"), !FileManager.default.fileExists(atPath: url) { return [:] }
        let store = try ModelStore(configuration: StoreConfiguration(url: url, endpoint: nil, region: nil))
        let names = Set(try await store.names())
        var manifests: [String: Manifest] = [:]
        for spec in configuration.models where names.contains(spec.name) {
            let version = spec.version == "latest" ? nil : spec.version
            manifests[spec.name] = try await store.manifest(ModelReference(name: spec.name, version: version))
        }
        return manifests
    }
}
