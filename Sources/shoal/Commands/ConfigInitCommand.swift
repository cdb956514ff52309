import ArgumentParser
import ShoalControl
import ShoalStore

struct ConfigInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a shoal.yaml holding every default, with comments.",
        discussion: """
            With --from-store, the models section lists every model of the store (latest versions, memory and \
            base read from their manifests) and store.url names that store.
            Examples: shoal config init && shoal config validate
                      shoal config init --from-store --store ./models --traffic 20
            """)

    @OptionGroup var options: ConfigOptions
    @Flag(name: .long, help: "Overwrite an existing file.")
    var force = false
    @Flag(name: .long, help: "List the store's models instead of the default one.")
    var fromStore = false
    @OptionGroup var store: ModelsStoreOptions
    @Option(name: .long, help: "Expected requests per second of each model listed with --from-store.")
    var traffic = 10.0

    func validate() throws {
        guard traffic >= 0, traffic.isFinite else { throw ValidationError("--traffic must be a number of requests/s >= 0") }
        if !fromStore, store.store != nil || store.endpointURL != nil || store.region != nil {
            throw ValidationError("--store, --endpoint-url and --region go with --from-store")
        }
    }

    func run() async throws {
        var text = ConfigurationTemplate.text
        if fromStore {
            let opened = try store.open()
            let manifests = try await opened.latestManifests()
            guard !manifests.isEmpty else {
                throw ValidationError("\(opened) holds no models; add one with shoal models import")
            }
            let models = manifests.map { manifest in
                ConfigurationTemplate.Model(
                    name: manifest.name, traffic: traffic,
                    note: "version \(manifest.version), \(ModelsOutput.size(Int64(manifest.footprint.weightBytes))) of weights"
                        + (manifest.base.map { ", over \($0)" } ?? ""))
            }
            text = ConfigurationTemplate.text(storeURL: storeURL, models: models)
        }
        try ConfigurationFile.initialise(path: options.path, force: force, text: text)
        print("wrote \(options.path)" + (fromStore ? " with the store's models" : ""))
    }

    /// The store as store.url names it: its endpoint and region, when given, in the URL's query.
    private var storeURL: String {
        let url = StoreConfiguration.url(store.store)
        let query = [("endpoint", store.endpointURL), ("region", store.region)].compactMap { name, value in
            value.map { "\(name)=\($0)" }
        }
        return query.isEmpty || !url.hasPrefix("s3://") ? url : url + "?" + query.joined(separator: "&")
    }
}
