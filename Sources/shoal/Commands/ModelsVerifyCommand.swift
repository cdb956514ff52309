import ArgumentParser
import Foundation
import ShoalStore

struct ModelsVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify", abstract: "Check model files against the sha256 and sizes of their manifests.",
        discussion: "Without arguments, checks every version of every model. Exits with 1 if any check fails.\nExample: shoal models verify minilm")

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "NAME (every version) or NAME@VERSION; none: the whole store.")
    var models: [String] = []
    @Flag(name: .long, help: "Print a JSON array of {model, ok, error}.")
    var json = false

    struct Outcome: Encodable {
        var model: String
        var ok: Bool
        var error: String?
    }

    func run() async throws {
        let store = try store.open()
        var references: [ModelReference] = []
        let names = models.isEmpty ? try await store.names() : models
        for text in names {
            let reference = try ModelReference(parsing: text)
            if text.contains("@") {
                references.append(reference)
            } else {
                let versions = try await store.versions(of: reference.name)
                guard !versions.isEmpty else { throw StoreError.notFound(reference.name) }
                references += try versions.map { try ModelReference(name: reference.name, version: $0) }
            }
        }
        var outcomes: [Outcome] = []
        for reference in references {
            do {
                let manifest = try await store.verify(reference)
                outcomes.append(Outcome(model: manifest.id, ok: true))
            } catch let error as StoreError {
                outcomes.append(Outcome(model: reference.description, ok: false, error: error.description))
            }
        }
        if json {
            try ModelsOutput.printJSON(outcomes)
        } else {
            for outcome in outcomes {
                print(outcome.ok ? "ok      \(outcome.model)" : "FAILED  \(outcome.model): \(outcome.error ?? "")")
            }
        }
        if outcomes.contains(where: { !$0.ok }) { throw ExitCode(1) }
    }
}
