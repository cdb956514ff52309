import ArgumentParser
import Foundation
import ShoalStore

struct ModelsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the store's models with their versions, a page at a time.",
        discussion: """
            Reads the manifests of one page only, so a page costs the same in a store of 100 models or 100,000. \
            When more follow, the last line (on standard error) or the JSON's "next" says how to ask for the next page.
            Example: shoal models list --store s3://models/prod --prefix head- --limit 50 --json
            """)

    @OptionGroup var store: ModelsStoreOptions
    @Option(name: .long, help: "Models per page.")
    var limit = 100
    @Option(name: .long, help: "Start after this name (the \"next\" of the previous page).")
    var after: String?
    @Option(name: .long, help: "Only names that start with this.")
    var prefix = ""
    @Flag(name: .long, help: "Print a JSON object: {\"models\": [...], \"next\": NAME or null}.")
    var json = false

    struct Entry: Encodable, Sendable {
        var name: String
        var latest: String
        var versions: [String]
        var task: String
        var architecture: String
        var labels: [String]
        var bytes: Int64
        var weightBytes: Int
        var base: String?
    }

    /// The JSON output: one page, and the `--after` of the next (`null` on the last page).
    struct Output: Encodable {
        var models: [Entry]
        var next: String?

        func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(models, forKey: .models)
            try container.encode(next, forKey: .next)
        }

        enum CodingKeys: String, CodingKey { case models, next }
    }

    func validate() throws {
        guard limit >= 1 else { throw ValidationError("--limit must be at least 1") }
        if let after, !ModelReference.isValidName(after) {
            throw ValidationError("--after \(after) is not a model name; \(ModelReference.nameRule)")
        }
    }

    func run() async throws {
        let store = try store.open()
        let page = try await store.models(prefix: prefix, after: after, limit: limit)
        let entries = try await page.models.concurrentMap(width: 16) { model -> Entry in
            let manifest = try await store.manifest(ModelReference(name: model.name, version: model.versions.last))
            return Entry(
                name: model.name, latest: manifest.version, versions: model.versions, task: manifest.task,
                architecture: manifest.architecture, labels: manifest.labels, bytes: manifest.totalSize,
                weightBytes: manifest.footprint.weightBytes, base: manifest.base?.description)
        }
        if json {
            try ModelsOutput.printJSON(Output(models: entries, next: page.next))
            return
        }
        guard !entries.isEmpty else {
            print(after == nil && prefix.isEmpty ? "\(store) holds no models; add one with shoal models import" : "no more models")
            return
        }
        let rows = [["NAME", "LATEST", "VERSIONS", "TASK", "ARCH", "SIZE", "BASE"]] + entries.map {
            [$0.name, $0.latest, "\($0.versions.count)", $0.task, $0.architecture, ModelsOutput.size($0.bytes), $0.base ?? "-"]
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
        if let next = page.next {
            FileHandle.standardError.write(Data("more follow: add --after \(next)\n".utf8))
        }
    }
}
