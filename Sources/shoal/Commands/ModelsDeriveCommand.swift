import ArgumentParser
import Foundation
import ShoalImporter
import ShoalStore

struct ModelsDeriveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "derive",
        abstract: "Publish classifiers that reuse a base embedding model's encoder and store only their heads.",
        discussion: """
            A head folder holds head.json ({"labels": [...]}) and head.safetensors (classifier.weight \
            [labels, dimensions], classifier.bias [labels]). With --heads, every sub-folder is published under its \
            folder name: the base is checked and run once, every head is checked before any is published (a broken \
            head publishes nothing), and heads are published 16 at a time. A server loads the base once for all models \
            derived from it.
            Example: shoal models derive minilm --head ./sentiment-head --name sentiment
            """)

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "The base: NAME or NAME@VERSION of an embedding model in the store.")
    var base: ModelReference
    @Option(name: .long, help: "A head folder (head.json, head.safetensors).")
    var head: String?
    @Option(name: .long, help: "The derived model's name (with --head).")
    var name: String?
    @Option(name: .long, help: "A folder of head folders, each published under its folder name.")
    var heads: String?
    @Option(name: .long, help: "Arithmetic to check with: fp32 or bf16x3 (default: the fastest this CPU runs).")
    var precision: Precision?
    @Flag(name: .long, help: "Print the published manifests as a JSON array.")
    var json = false

    func validate() throws {
        switch (head, heads) {
        case (.some, nil):
            guard let name, ModelReference.isValidName(name) else {
                throw ValidationError("--head needs --name NAME; \(ModelReference.nameRule)")
            }
        case (nil, .some):
            guard name == nil else { throw ValidationError("--name goes with --head; with --heads, folder names are the names") }
        default:
            throw ValidationError("pass either --head FOLDER --name NAME or --heads FOLDER")
        }
    }

    func run() async throws {
        var list: [(name: String, folder: URL)] = []
        if let head, let name {
            var folder = URL(fileURLWithPath: head)
            if folder.pathExtension == "safetensors" || folder.pathExtension == "json" { folder.deleteLastPathComponent() }
            list = [(name, folder)]
        } else if let heads {
            let root = URL(fileURLWithPath: heads)
            let entries = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
            list = entries.filter { !$0.hasPrefix(".") }.sorted().map { ($0, root.appendingPathComponent($0)) }
            guard !list.isEmpty else { throw ValidationError("--heads \(heads) holds no head folders") }
        }
        let importer = try ModelImporter(store: try store.open(), options: .init(precision: precision, profileSeconds: 0))
        let published = try await importer.derive(base: base, heads: list)
        if json {
            try ModelsOutput.printJSON(published)
        } else {
            for manifest in published {
                print("published \(manifest.id) over \(manifest.base?.description ?? "?") (\(ModelsOutput.size(Int64(manifest.footprint.weightBytes))) of head weights)")
            }
        }
    }
}
