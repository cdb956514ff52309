import ArgumentParser
import ShoalControl
import ShoalStore

struct ConfigInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init", abstract: "Write a shoal.yaml holding every default, with comments.",
        discussion: """
            store.url names the store every command would use now: --store, else $SHOAL_STORE, else \
            ./.shoal/store. With --from-store, the models section lists every model of that store (latest versions, \
            memory and base read from their manifests).
            Examples: shoal config init && shoal config validate
                      shoal config init --from-store --store ./models --traffic 20
            """)

    @Flag(name: .long, help: "Overwrite an existing file.")
    var force = false
    @Flag(name: .long, help: "List the store's models instead of the default one.")
    var fromStore = false
    @OptionGroup var store: ModelsStoreOptions
    @Option(name: .long, help: "Expected requests per second of each model listed with --from-store.")
    var traffic = 10.0

    func validate() throws {
        guard traffic >= 0, traffic.isFinite else { throw ValidationError("--traffic must be a number of requests/s >= 0") }
    }

    func run() async throws {
        // The file is being written, so only the option and the environment name the store.
        let url = try ConfigurationFile.defaults(store: store.store).store.url
        var models: [ConfigurationTemplate.Model]?
        if fromStore {
            let opened = try ModelsStoreOptions.open(url, endpointURL: store.endpointURL, region: store.region)
            let manifests = try await opened.latestManifests()
            guard !manifests.isEmpty else {
                throw ValidationError("\(opened) holds no models; add one with shoal models import")
            }
            models = manifests.map { manifest in
                ConfigurationTemplate.Model(
                    name: manifest.name, traffic: traffic,
                    note: "version \(manifest.version), \(ModelsOutput.size(Int64(manifest.footprint.weightBytes))) of weights"
                        + (manifest.base.map { ", over \($0)" } ?? ""))
            }
        }
        let path = store.configuration.path
        let text = ConfigurationTemplate.text(storeURL: storeURL(url), models: models)
        try ConfigurationFile.initialise(path: path, force: force, text: text)
        print("wrote \(path) (store.url: \(url))" + (fromStore ? " with the store's models" : ""))
    }

    /// `url` as store.url names it: the endpoint and region options, when given, in an S3 URL's query.
    private func storeURL(_ url: String) -> String {
        let query = [("endpoint", store.endpointURL), ("region", store.region)].compactMap { name, value in
            value.map { "\(name)=\($0)" }
        }
        return query.isEmpty || !url.hasPrefix("s3://") ? url : url + "?" + query.joined(separator: "&")
    }
}
