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

    /// Loads and validates the configuration; errors name the key to fix.
    func load() throws -> ConfigurationFile {
        try ConfigurationFile.load(path: config)
    }
}
