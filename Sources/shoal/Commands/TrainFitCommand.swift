import ArgumentParser
import Foundation
import ShoalTraining

struct TrainFitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fit",
        abstract: "Fit and publish the heads from the store's embedding cache (the fitting Job); every text must be cached.",
        discussion: "Example: shoal train fit --base minilm --data tickets.jsonl --name tickets")

    @OptionGroup var data: TrainDataOptions
    @OptionGroup var head: TrainHeadOptions
    @Flag(name: .long, help: "Print the published manifests as a JSON array.")
    var json = false

    func run() async throws {
        var plan = try await data.plan(name: head.name)
        try head.apply(to: &plan)
        let published = try await data.trainer().fit(plan)
        if json {
            try ModelsOutput.printJSON(published)
        } else {
            for manifest in published { print(TrainOutput.describe(manifest)) }
        }
    }
}
