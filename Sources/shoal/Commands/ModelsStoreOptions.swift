import ArgumentParser
import Foundation
import ShoalStore

/// Options naming a model store, shared by the `shoal models` commands and `config init`.
struct ModelsStoreOptions: ParsableArguments {
    @OptionGroup var configuration: ConfigOptions
    @Option(name: .long, help: "The store: a folder or s3://BUCKET/PREFIX (default: $SHOAL_STORE, else store.url of shoal.yaml, else ./.shoal/store).")
    var store: String?
    @Option(name: .long, help: "The S3 endpoint of an S3-compatible server, e.g. http://127.0.0.1:9000 (default: AWS).")
    var endpointURL: String?
    @Option(name: .long, help: "The S3 region requests are signed for (default: AWS_REGION, ~/.aws/config, else us-east-1).")
    var region: String?

    /// The store these options name, by the rule every command follows: --store, else $SHOAL_STORE, else
    /// store.url of the configuration file, else ./.shoal/store.
    func open() throws -> ModelStore {
        try Self.open(configuration.load(store: store).configuration.store.url, endpointURL: endpointURL, region: region)
    }

    /// A store from its URL; errors name the option to fix.
    static func open(_ url: String, endpointURL: String?, region: String?) throws -> ModelStore {
        let configuration = try StoreConfiguration(url: url, endpoint: endpointURL, region: region)
        return try ModelStore(configuration: configuration)
    }
}

/// A model reference argument, checked when parsed.
extension ModelReference: ExpressibleByArgument {
    public init?(argument: String) {
        guard let reference = try? ModelReference(parsing: argument) else { return nil }
        self = reference
    }
}

/// Prints JSON to standard output: sorted keys, snake_case, ISO 8601 dates.
enum ModelsOutput {
    static func printJSON<T: Encodable>(_ value: T) throws {
        print(String(decoding: try ShoalJSON.encoder().encode(value), as: UTF8.self))
    }

    /// `12.3 MB`-style sizes.
    static func size(_ bytes: Int64) -> String {
        let units = ["B", "KB", "MB", "GB", "TB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1000, unit < units.count - 1 {
            value /= 1000
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
    }
}
