import ArgumentParser
import Foundation
import ShoalControl

struct ConfigShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show", abstract: "Print the effective configuration: the file over the defaults, with environment overrides.",
        discussion: "Example: SHOAL_TEST_CONCURRENCY=32 shoal config show --json")

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Print JSON instead of YAML.")
    var json = false
    @Flag(name: .long, help: "List every key with the values it accepts and its environment variable.")
    var keys = false

    func run() async throws {
        if keys {
            var table = TextTable(["KEY", "ENVIRONMENT", "ACCEPTS"])
            let overridable = Set(ConfigurationFile.overridableKeys())
            for (key, expected) in ConfigurationSchema.expectations {
                table.add([key, overridable.contains(key) ? ConfigurationFile.environmentVariable(for: key) : "-", expected])
            }
            print(table.rendered)
            return
        }
        let file = try options.load()
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(file.configuration), as: UTF8.self))
            return
        }
        let origin = file.exists ? file.path : "built-in defaults (no \(file.path))"
        print("# from \(origin)" + (file.overrides.isEmpty ? "" : "; overridden by \(file.overrides.joined(separator: " "))"))
        print(try file.yaml(), terminator: "")
    }
}
