import ArgumentParser
import Foundation
import ShoalStore

struct ModelsPushCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push", abstract: "Copy a model version (and its base) from the store to another store.",
        discussion: """
            The version keeps its number; pushing what the destination already holds does nothing.
            Example: shoal models push minilm --to s3://models/prod --endpoint-url http://127.0.0.1:9000
            """)

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "NAME or NAME@VERSION.")
    var model: ModelReference
    @Option(name: .long, help: "The destination store: a folder or s3://BUCKET/PREFIX.")
    var to: String
    @Flag(name: .long, help: "Print the copied manifest as JSON.")
    var json = false

    func run() async throws {
        let source = try store.open()
        let destination = try ModelsStoreOptions.open(to, endpointURL: store.endpointURL, region: store.region)
        try await ModelsTransfer.copy(model, from: source, to: destination, json: json)
    }
}

/// The copy behind push and pull.
enum ModelsTransfer {
    static func copy(_ model: ModelReference, from source: ModelStore, to destination: ModelStore, json: Bool) async throws {
        let bar = ModelsProgressBar("copying \(model)", enabled: !json)
        let manifest = try await source.copy(model, to: destination, progress: bar.callback)
        bar.finish()
        if json {
            try ModelsOutput.printJSON(manifest)
        } else {
            print("\(manifest.id): \(source) → \(destination) (\(ModelsOutput.size(manifest.totalSize)))")
        }
    }
}
