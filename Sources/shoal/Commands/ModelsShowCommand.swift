import ArgumentParser
import Foundation
import ShoalStore

struct ModelsShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Show a model version's manifest: files, footprint, profile.",
        discussion: "Example: shoal models show minilm@2 --json")

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "NAME or NAME@VERSION.")
    var model: ModelReference
    @Flag(name: .long, help: "Print the manifest as JSON.")
    var json = false

    func run() async throws {
        let manifest = try await store.open().manifest(model)
        if json {
            try ModelsOutput.printJSON(manifest)
            return
        }
        print("\(manifest.id): \(manifest.task) (\(manifest.architecture)), \(manifest.dimensions) outputs, max \(manifest.maxSequenceLength) tokens")
        if !manifest.labels.isEmpty { print("labels: \(manifest.labels.joined(separator: ", "))") }
        if let base = manifest.base { print("base: \(base) (shares its encoder)") }
        print("footprint: \(ModelsOutput.size(Int64(manifest.footprint.weightBytes))) weights, "
              + "\(manifest.footprint.activationBytesPerToken) activation bytes per token, \(manifest.footprint.precision)")
        print("created: \(manifest.created), source: \(manifest.source)")
        for file in manifest.files {
            print("  \(file.sha256.prefix(16))…  \(ModelsOutput.size(file.size).padding(toLength: 9, withPad: " ", startingAt: 0))  \(file.path)")
        }
        if let training = manifest.training { Self.printTraining(training, labels: manifest.labels) }
        if let profile = manifest.profile {
            print("profile (\(profile.provider), \(profile.threads) of \(profile.cpus) CPUs):")
            for m in profile.measurements {
                print(String(format: "  %@  batch %d × %.0f tokens: p50 %.2f ms, p99 %.2f ms, %.0f sequences/s",
                             m.workload, m.batch, m.tokensPerSequence, m.latencyP50Ms, m.latencyP99Ms, m.sequencesPerSecond))
            }
        }
    }

    /// The data, settings and scores of a head `shoal train` made.
    static func printTraining(_ training: Manifest.Training, labels: [String]) {
        print("trained on \(training.trainRows) rows (data sha256 \(training.dataDigest.prefix(16))…)"
              + (training.group.map { ", group \($0)" } ?? "")
              + ", \(training.hiddenUnits == 0 ? "linear" : "\(training.hiddenUnits) hidden units"), l2 \(training.l2), "
              + "class weights \(training.classWeights), seed \(training.seed), best of \(training.iterations) iterations at \(training.bestIteration)")
        for (name, evaluation) in [("validation", training.validation), ("test", training.test)] {
            guard let evaluation else { continue }
            print(String(format: "%@: accuracy %.4f, macro-F1 %.4f on %d rows", name, evaluation.accuracy, evaluation.macroF1, evaluation.rows))
            let width = max(5, labels.map(\.count).max() ?? 0)
            print("  " + "label".padding(toLength: width, withPad: " ", startingAt: 0) + "  precision  recall  support  confusion (predicted →)")
            for (index, scores) in evaluation.perLabel.enumerated() {
                print("  " + scores.label.padding(toLength: width, withPad: " ", startingAt: 0)
                      + String(format: "  %9.4f  %6.4f  %7d  ", scores.precision, scores.recall, scores.support)
                      + evaluation.confusion[index].map(String.init).joined(separator: " "))
            }
        }
    }
}
