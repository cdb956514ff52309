import ArgumentParser
import Foundation
import ShoalControl
import ShoalStore

struct BatchJobCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "job",
        abstract: "Write the Kubernetes Jobs that run a batch transform in the cluster, to apply with kubectl.",
        discussion: """
            An Indexed Job of --shards pods (--parallelism at once), each running `shoal batch --shards N` on its part \
            of the input with the model from the store of shoal.yaml (store.url), in the image kubernetes.image, as \
            the ServiceAccount kubernetes.service_account; and a merge Job that waits for every part and concatenates \
            them into --output. A pod that fails restarts in place and resumes from its checkpoint. In a cluster, \
            input and output are s3://BUCKET/KEY objects (or paths in the folder store's claim).
            Example: shoal batch job --model minilm --input s3://data/in.jsonl --output s3://data/out.jsonl --shards 8 | kubectl apply -f -
            """)

    @OptionGroup var options: ConfigOptions
    @Option(name: .long, help: "The model, by its name in the store.")
    var model: String
    @Option(name: .long, help: "JSON Lines in: s3://BUCKET/KEY.")
    var input: String
    @Option(name: .long, help: "JSON Lines out: s3://BUCKET/KEY.")
    var output: String
    @Option(name: .long, help: "Parts of the input, one pod each.")
    var shards: Int
    @Option(name: .long, help: "Pods at once (default: all shards).")
    var parallelism: Int?
    @Option(name: .long, help: "Compute threads, and CPUs requested, per pod.")
    var threads = 2
    @Option(name: .long, help: "Memory per pod, e.g. 2Gi.")
    var memory = "2Gi"
    @Option(name: .long, help: "Records per request of each pod.")
    var batchSize = 32
    @Option(name: .long, help: "The run id: the Jobs are shoal-batch-RUN and shoal-batch-RUN-merge (default: the time).")
    var run: String?
    @Option(name: .long, help: "Write the Jobs here instead of standard output.")
    var out: String?

    func run() async throws {
        let configuration = try options.load().configuration
        let job = try BatchJob(
            configuration: configuration, run: run ?? LoadResultStore.generatedRun(), model: model, input: input, output: output,
            shards: shards, parallelism: parallelism, threads: threads, memory: memory,
            options: ["--batch-size", String(batchSize)])
        let yaml = try job.yaml()
        guard let out else { return print(yaml, terminator: "") }
        do {
            try Data(yaml.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        } catch {
            throw ControlError.file(path: out, reason: "cannot be written (\(error.localizedDescription))")
        }
        print("wrote the Jobs \(job.name) and \(job.name)-merge to \(out); apply with kubectl apply -f \(out)")
    }
}
