import ArgumentParser
import Foundation
import ShoalStore

struct ModelsPullCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull", abstract: "Copy a model version (and its base) from another store into the store.",
        discussion: """
            Every file's sha256 is checked before the version is published locally.
            Example: shoal models pull minilm@2 --from s3://models/prod --endpoint-url http://127.0.0.1:9000
            """)

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "NAME or NAME@VERSION.")
    var model: ModelReference
    @Option(name: .long, help: "The source store: a folder or s3://BUCKET/PREFIX.")
    var from: String
    @Flag(name: .long, help: "Print the copied manifest as JSON.")
    var json = false

    func run() async throws {
        let source = try ModelsStoreOptions.open(from, endpointURL: store.endpointURL, region: store.region)
        try await ModelsTransfer.copy(model, from: source, to: try store.open(), json: json)
    }
}
