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
        let store = try configuration.openStore()
        let missing = try await configuration.modelsMissing(from: store)
        if !missing.isEmpty {
            Self.warn("the store \(store) holds no model \(missing.joined(separator: ", ")); their sizes come from "
                + "shoal.yaml, and `shoal deploy run` refuses the plan until they are imported")
        }
        let plan = try await Self.plan(configuration, store: store)
        let data = try Self.write(plan, to: out)
        if json {
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(plan.rendered)
            print("wrote \(out)")
        }
    }

    /// The plan for the models of `configuration`, with the manifests `store` holds of them (none without a store).
    static func plan(_ configuration: ShoalConfiguration, store: ModelStore?) async throws -> PlacementPlan {
        var manifests: [String: Manifest] = [:]
        if let store { manifests = try await configuration.manifests(in: store) }
        let models = try configuration.models.map {
            try PackingModel(spec: $0, manifest: manifests[$0.name], settings: configuration.pack)
        }
        return try Packer(configuration: configuration).plan(models)
    }

    /// Writes `plan` to `path` and returns its bytes.
    @discardableResult
    static func write(_ plan: PlacementPlan, to path: String) throws -> Data {
        let data = try plan.encoded()
        do {
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ControlError.file(path: path, reason: "cannot be written (\(error.localizedDescription))")
        }
        return data
    }

    /// `warning: TEXT` on standard error.
    static func warn(_ text: String) {
        FileHandle.standardError.write(Data("warning: \(text)\n".utf8))
    }
}
