import ArgumentParser
import Foundation
import ShoalControl

struct DeployRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Start every group of the plan and the gateway, supervised, and wait until they are ready.")

    @OptionGroup var options: ConfigOptions
    @OptionGroup var deploy: DeployOptions
    @Option(name: .long, help: "The plan to deploy; written by packing when absent.")
    var plan = "plan.json"
    @Option(name: .long, help: "A folder of model folders to serve instead of the store of shoal.yaml.")
    var models: String?
    @Option(name: .long, help: "Seconds to wait for every server to become ready.")
    var timeout = 120

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
    }

    func run() async throws {
        let configuration = try options.load().configuration
        guard configuration.runtime == .local else {
            throw ValidationError("runtime is \(configuration.runtime.rawValue); `shoal deploy run` runs runtime: local only; "
                + "`shoal deploy manifests` writes the Kubernetes objects")
        }
        let placement = try await Self.plan(at: plan, configuration: configuration)
        let source: DeploymentSpec.ModelSource = models.map { .directory(URL(fileURLWithPath: $0).standardizedFileURL) }
            ?? .store(configuration.store.url)
        let spec = try DeploymentSpec.local(
            configuration: configuration, plan: placement, source: source, executable: Self.executable,
            directory: deploy.directory, gatewayPlan: URL(fileURLWithPath: plan).standardizedFileURL.path)
        let state = try await deploy.deployment.start(spec, timeout: .seconds(timeout))
        print(DeployStatusCommand.table(state))
        print("gateway: http://\(configuration.server.host):\(configuration.server.gatewayPort)")
    }

    /// The plan at `path`, or a new one packed from `configuration` and written there.
    static func plan(at path: String, configuration: ShoalConfiguration) async throws -> PlacementPlan {
        if let data = FileManager.default.contents(atPath: path) {
            return try PlacementPlan.decode(data, path: path)
        }
        return try await pack(configuration, to: path)
    }

    /// Packs the models of `configuration` (with the store's manifests) and writes the plan to `path`.
    static func pack(_ configuration: ShoalConfiguration, to path: String) async throws -> PlacementPlan {
        let manifests = try await PackCommand.manifests(for: configuration)
        let models = try configuration.models.map {
            try PackingModel(spec: $0, manifest: manifests[$0.name], settings: configuration.pack)
        }
        let plan = try Packer(configuration: configuration).plan(models)
        do {
            try plan.encoded().write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ControlError.file(path: path, reason: "cannot be written (\(error.localizedDescription))")
        }
        return plan
    }

    /// This `shoal` executable, which the supervisor runs for every member.
    static var executable: String {
        (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).standardizedFileURL.path
    }
}
