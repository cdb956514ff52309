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
        if let profile = manifest.profile {
            print("profile (\(profile.provider), \(profile.threads) of \(profile.cpus) CPUs):")
            for m in profile.measurements {
                print(String(format: "  %@  batch %d × %.0f tokens: p50 %.2f ms, p99 %.2f ms, %.0f sequences/s",
                             m.workload, m.batch, m.tokensPerSequence, m.latencyP50Ms, m.latencyP99Ms, m.sequencesPerSecond))
            }
        }
    }
}
