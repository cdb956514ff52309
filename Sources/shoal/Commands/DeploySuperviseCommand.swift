import ArgumentParser
import Dispatch
import Foundation
import ShoalControl

struct DeploySuperviseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "supervise",
        abstract: "Run and restart the processes of a deployment spec (started by `shoal deploy run`).",
        shouldDisplay: false)

    @OptionGroup var deploy: DeployOptions

    func run() async throws {
        ProcessLiveness.detach()
        let directory = deploy.directory
        guard let data = FileManager.default.contents(atPath: directory.spec.path) else {
            throw ValidationError("no deployment spec at \(directory.spec.path); start with `shoal deploy run`")
        }
        let spec = try JSONDecoder().decode(DeploymentSpec.self, from: data)
        let supervisor = Supervisor(spec: spec, directory: directory)
        let signals = [SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number)
            source.setEventHandler { Task { await supervisor.stop() } }
            source.resume()
            return source
        }
        try await supervisor.run()
        signals.forEach { $0.cancel() }
    }
}
