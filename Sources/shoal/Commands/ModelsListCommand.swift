import ArgumentParser
import Foundation
import ShoalStore

struct ModelsListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "List the store's models with their versions.",
        discussion: "Example: shoal models list --store s3://models/prod --json")

    @OptionGroup var store: ModelsStoreOptions
    @Flag(name: .long, help: "Print a JSON array.")
    var json = false

    struct Entry: Encodable {
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

    func run() async throws {
        let store = try store.open()
        var entries: [Entry] = []
        for name in try await store.names() {
            let versions = try await store.versions(of: name)
            let manifest = try await store.manifest(ModelReference(name: name))
            entries.append(Entry(
                name: name, latest: manifest.version, versions: versions, task: manifest.task,
                architecture: manifest.architecture, labels: manifest.labels, bytes: manifest.totalSize,
                weightBytes: manifest.footprint.weightBytes, base: manifest.base?.description))
        }
        if json {
            try ModelsOutput.printJSON(entries)
            return
        }
        guard !entries.isEmpty else {
            print("\(store) holds no models; add one with shoal models import")
            return
        }
        let rows = [["NAME", "LATEST", "VERSIONS", "TASK", "ARCH", "SIZE", "BASE"]] + entries.map {
            [$0.name, $0.latest, "\($0.versions.count)", $0.task, $0.architecture, ModelsOutput.size($0.bytes), $0.base ?? "-"]
        }
        let widths = (0..<rows[0].count).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            print(zip(row, widths).map { $0.padding(toLength: $1, withPad: " ", startingAt: 0) }.joined(separator: "  "))
        }
    }
}
