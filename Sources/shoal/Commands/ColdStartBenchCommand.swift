import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct ColdStartBenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cold-start",
        abstract: "Cold starts of a model as a distribution: process start to first response, p50/p90/p99/max.",
        discussion: """
            Each run starts `shoal serve` for the model (pinned, on a free loopback port), sends the first request \
            as soon as the server accepts a connection, counts the time from the process's start to the answer, and \
            stops the server. With --gateway, the model is deployed as a serverless group behind the gateway \
            (stopped after --idle-seconds) and each run sends its request once the group is cold, counting from \
            the request to its answer.
            Example: shoal bench cold-start --model ./all-MiniLM-L6-v2 --runs 20
            """)

    @Option(name: .long, help: "The model's folder.")
    var model: String
    @Option(name: .long, help: "Cold starts to measure.")
    var runs = 20
    @Option(name: .long, help: "Compute threads of the server (default: the number of cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .long, help: "Measure through the gateway of a local deployment, the model a serverless group.")
    var gateway = false
    @Option(name: .long, help: "With --gateway: seconds idle before the group is stopped.")
    var idleSeconds = 0.2
    @Flag(name: .long, help: "Print one JSON object: {mode, model, threads, p50_ms, p90_ms, p99_ms, max_ms, min_ms, listening_p50_ms, runs: [...]}.")
    var json = false

    func validate() throws {
        guard runs >= 1 else { throw ValidationError("--runs must be at least 1") }
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard idleSeconds > 0 else { throw ValidationError("--idle-seconds must be positive") }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: model, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw ValidationError("--model \(model) is not a model folder")
        }
    }

    func run() async throws {
        let folder = URL(fileURLWithPath: model).standardizedFileURL
        let name = ModelReference.isValidName(folder.lastPathComponent) ? folder.lastPathComponent : "model"
        let benchmark = ColdStartBenchmark(executable: DeployRunCommand.executable, model: folder, name: name, threads: threads, runs: runs)
        let json = json
        let progress: @Sendable (Int, ColdStartBenchmark.Run) -> Void = { index, run in
            guard !json else { return }
            let listening = run.listeningMs.map { String(format: ", listening after %.1f ms", $0) } ?? ""
            print(String(format: "run %d: %.1f ms", index + 1, run.firstResponseMs) + listening
                + (run.headerMs.map { String(format: " (header %.1f ms)", $0) } ?? ""))
        }
        let report = gateway
            ? try await benchmark.measureGateway(idleSeconds: idleSeconds, progress: progress)
            : try await benchmark.measureServer(progress: progress)
        if json {
            print(String(decoding: try ShoalJSON.encoder(pretty: false).encode(report), as: UTF8.self))
            return
        }
        print(String(format: "%@ cold start of %@, %d runs, %d threads: p50 %.1f ms, p90 %.1f, p99 %.1f, max %.1f, min %.1f",
                     report.mode, report.model, report.runs.count, report.threads, report.p50Ms, report.p90Ms, report.p99Ms,
                     report.maxMs, report.minMs)
            + (report.listeningP50Ms.map { String(format: "; listening after %.1f ms (p50)", $0) } ?? ""))
    }
}
