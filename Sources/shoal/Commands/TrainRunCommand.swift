import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore
import ShoalTraining

extension TrainingTarget: ExpressibleByArgument {}

struct TrainRunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Embed the data (or find it cached), fit the heads and publish them; the default of `shoal train`.",
        discussion: """
            Example: shoal train --base minilm --data tickets.jsonl --name tickets --class-weights balanced
            Example: shoal train --base minilm --data customers.csv --text-column body --group-by customer --name tickets
            """)

    /// What `--json` prints.
    struct Result: Encodable {
        var target: TrainingTarget
        var reason: String
        var embedding: [Trainer.EmbeddingReport]
        var models: [Manifest]
        var jobs: [String]
    }

    @OptionGroup var data: TrainDataOptions
    @OptionGroup var head: TrainHeadOptions
    @Option(name: .long, help: "local, kubernetes or auto (default: train.target of shoal.yaml, else local).")
    var target: TrainingTarget?
    @Option(name: .long, help: "Parts the texts are embedded in: pods of the Kubernetes Job, or `shoal train embed` processes here (default: train.shards with kubernetes, 1 here).")
    var shards: Int?
    @Option(name: .long, help: "Where --target kubernetes writes the Jobs' YAML.")
    var out = "train-jobs"
    @Flag(name: .long, help: "Print the result (target, embedding reports, published manifests) as JSON.")
    var json = false

    func validate() throws {
        if let shards, !(1...1_000).contains(shards) { throw ValidationError("--shards must be 1 to 1000") }
    }

    func run() async throws {
        let configuration = try data.store.configuration.load(store: data.store.store).configuration
        var plan = try await data.plan(name: head.name)
        try head.apply(to: &plan)
        let trainer = try data.trainer()
        var chosen = target ?? configuration.train.target
        var reason = target == nil ? "train.target of the configuration" : "--target"
        if chosen == .auto {
            let base = try await trainer.baseManifest(plan)
            (chosen, reason) = TrainingTarget.choose(rows: plan.texts.count, base: base, threads: trainer.threads, settings: configuration.train)
            reason = "auto: " + reason
        }
        FileHandle.standardError.write(Data("target \(chosen.rawValue) (\(reason))\n".utf8))
        var result = Result(target: chosen, reason: reason, embedding: [], models: [], jobs: [])
        if chosen == .kubernetes {
            result.jobs = try await runOnKubernetes(configuration)
        } else {
            result.embedding = try await embedHere(plan, trainer: trainer)
            result.models = try await trainer.fit(plan)
        }
        if json {
            try ModelsOutput.printJSON(result)
            return
        }
        for report in result.embedding {
            print("embedded \(report.computed) of \(report.texts) texts (\(report.cached) cached) in " + String(format: "%.1f s", report.seconds))
        }
        for manifest in result.models { print(TrainOutput.describe(manifest)) }
    }

    /// Embeds in this process with a progress bar, or in `--shards` processes of `shoal train embed`.
    private func embedHere(_ plan: TrainingPlan, trainer: Trainer) async throws -> [Trainer.EmbeddingReport] {
        let count = shards ?? 1
        guard count > 1 else {
            let bar = ModelsProgressBar("embedding", unit: "texts", enabled: !json)
            defer { bar.finish() }
            let callback = bar.callback
            return [try await trainer.embed(plan) { done, total in callback?(Int64(done), Int64(total)) }]
        }
        // The same step a pod of the embedding Job runs, one process per shard.
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let processes = try (0..<count).map { index in
            let process = Process()
            process.executableURL = executable
            process.arguments = ["train", "embed"] + data.arguments + ["--store", try data.store.open().description, "--shard", "\(index)/\(count)", "--json"]
            process.standardOutput = Pipe()
            try process.run()
            return process
        }
        var reports: [Trainer.EmbeddingReport] = []
        for (index, process) in processes.enumerated() {
            let output = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else { throw ValidationError("shoal train embed --shard \(index)/\(count) exited with \(process.terminationStatus)") }
            reports.append(try JSONDecoder.snakeCase.decode(Trainer.EmbeddingReport.self, from: output))
        }
        return reports
    }

    /// Writes the Jobs; with runtime: kubernetes applies the embedding Job, waits for it, then the fitting Job.
    private func runOnKubernetes(_ configuration: ShoalConfiguration) async throws -> [String] {
        let jobs = try TrainingJobs(
            configuration: configuration, model: head.name, embedArguments: data.arguments, fitArguments: data.arguments + head.arguments,
            shards: shards ?? configuration.train.shards)
        let folder = URL(fileURLWithPath: out)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let files = [(jobs.embedName, try jobs.embedYAML()), (jobs.fitName, try jobs.fitYAML())].map { name, yaml in
            (name, folder.appendingPathComponent("\(name).yaml"), yaml)
        }
        for (_, url, yaml) in files { try Data(yaml.utf8).write(to: url, options: .atomic) }
        guard configuration.runtime == .kubernetes else {
            FileHandle.standardError.write(Data("wrote \(files.map(\.1.path).joined(separator: " and ")); apply the first, wait for it to complete, then the second (runtime: kubernetes does this)\n".utf8))
            return files.map(\.1.path)
        }
        let kubectl = try await Kubectl.locate(context: configuration.kubernetes.context, namespace: configuration.kubernetes.namespace).resolvingContext()
        try await kubectl.requireNamespace()
        for (name, url, _) in files {
            _ = try await kubectl.check(["apply", "-f", url.path], doing: "apply \(name)")
            _ = try await kubectl.check(["wait", "--for=condition=complete", "job/\(name)", "--timeout=24h"], doing: "wait for \(name)")
            FileHandle.standardError.write(Data("\(name) completed\n".utf8))
        }
        return files.map(\.1.path)
    }
}

extension JSONDecoder {
    /// A decoder of what `ModelsOutput.printJSON` prints.
    static var snakeCase: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
