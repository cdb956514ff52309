import ArgumentParser
import Foundation
import ShoalTraining

struct TrainEmbedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embed",
        abstract: "Embed one shard of the texts into the store's embedding cache (one pod of the embedding Job).",
        discussion: "Example: shoal train embed --base minilm --data tickets.jsonl --shard 0/4")

    @OptionGroup var data: TrainDataOptions
    @Option(name: .long, help: "I/N: embed the I-th of N equal parts of the distinct texts, I from 0.")
    var shard = "0/1"
    @Flag(name: .long, help: "Print the report as JSON.")
    var json = false

    func run() async throws {
        let shard = try Shard(parsing: shard)
        let plan = try await data.plan(name: "embed")
        let report = try await data.trainer().embed(plan, shard: shard)
        if json {
            try ModelsOutput.printJSON(report)
        } else {
            print("shard \(shard): \(report.texts) texts, \(report.cached) cached, \(report.computed) embedded in "
                  + String(format: "%.1f s", report.seconds))
        }
    }
}
