import ArgumentParser
import Foundation
import ShoalControl

/// The `--config` option every command that reads shoal.yaml takes.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "The configuration file (default: ./shoal.yaml if present, else the built-in defaults).")
    var config: String?

    /// The file named, or `shoal.yaml` in the current folder.
    var path: String {
        config ?? (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(ConfigurationFile.defaultName)
    }

    /// Loads and validates the configuration, with `store` (a command's --store) over store.url; errors name
    /// the key to fix.
    func load(store: String? = nil) throws -> ConfigurationFile {
        try ConfigurationFile.load(path: config, store: store)
    }
}
