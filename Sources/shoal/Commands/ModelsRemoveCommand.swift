import ArgumentParser
import Foundation
import ShoalStore

struct ModelsRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove a model version (or every version) from the store.",
        discussion: "Refuses to remove the base of derived models unless --force.\nExample: shoal models rm minilm@1")

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "NAME@VERSION, or NAME with --all-versions.")
    var model: ModelReference
    @Flag(name: .long, help: "Remove every version of NAME.")
    var allVersions = false
    @Flag(name: .long, help: "Remove even when derived models use it as their base.")
    var force = false
    @Flag(name: .long, help: "Print the removed versions as a JSON array.")
    var json = false

    func validate() throws {
        if model.version == nil && !allVersions {
            throw ValidationError("name a version (\(model.name)@VERSION) or pass --all-versions")
        }
    }

    func run() async throws {
        let store = try store.open()
        let versions = allVersions ? try await store.versions(of: model.name) : [model.version].compactMap { $0 }
        guard !versions.isEmpty else { throw StoreError.notFound(model.name) }
        var removed: [String] = []
        for version in versions.reversed() {
            removed.append(try await store.remove(ModelReference(name: model.name, version: version), force: force).id)
        }
        if json {
            try ModelsOutput.printJSON(removed)
        } else {
            for id in removed { print("removed \(id)") }
        }
    }
}
