import Foundation
import Yams

/// `shoal.yaml` as loaded: the effective configuration, the file it came from and the environment variables
/// that overrode it.
///
/// Every setting has one precedence, applied here and nowhere else: a command-line option where the command
/// takes one (`--store`), else the environment (`SHOAL_STORE`, `SHOAL_SERVER_PORT`, …), else the file, else
/// the default. The store is thus the same for `shoal models …`, `config init`, `pack`, `deploy` and `run`.
public struct ConfigurationFile: Sendable {
    /// The name looked for in the current folder.
    public static let defaultName = "shoal.yaml"
    /// Environment variables `SHOAL_<KEY>` override keys: `SHOAL_SERVER_PORT=9000` sets `server.port`.
    public static let environmentPrefix = "SHOAL_"
    /// The variable naming the store, `store.url`: the short name the `shoal models` commands always read.
    public static let storeVariable = "SHOAL_STORE"

    /// The file read, or the one that would be.
    public let path: String
    /// Whether the file existed; without one, the defaults apply.
    public let exists: Bool
    public let configuration: ShoalConfiguration
    /// `KEY=VALUE` of every environment override applied.
    public let overrides: [String]

    /// Loads `path`, else `shoal.yaml` in `directory` if there is one, else the defaults; applies environment
    /// overrides, then `store` (a command's `--store`), and validates. Throws before anything starts if any key
    /// or value is wrong.
    public static func load(
        path: String?, directory: String = FileManager.default.currentDirectoryPath,
        environment: [String: String] = ProcessInfo.processInfo.environment, store: String? = nil
    ) throws -> ConfigurationFile {
        let resolved = path ?? (directory as NSString).appendingPathComponent(defaultName)
        let exists = FileManager.default.fileExists(atPath: resolved)
        if path != nil, !exists { throw ControlError.configurationNotFound(path: resolved) }
        let text = exists ? try read(resolved) : ""
        return try layered(text, path: resolved, exists: exists, environment: environment, store: store)
    }

    /// The configuration without a file: the defaults under the environment's overrides and `store`; what
    /// `shoal config init` writes the store of.
    public static func defaults(
        environment: [String: String] = ProcessInfo.processInfo.environment, store: String? = nil
    ) throws -> ShoalConfiguration {
        try layered("", path: defaultName, exists: false, environment: environment, store: store).configuration
    }

    /// `text` under the environment's overrides, under `store`: the precedence of every setting.
    private static func layered(
        _ text: String, path: String, exists: Bool, environment: [String: String], store: String?
    ) throws -> ConfigurationFile {
        var tree = try ConfigurationTree.parse(text, path: path)
        var overrides: [String] = []
        for key in overridableKeys() {
            let variable = environmentVariable(for: key)
            guard let value = environment[variable], !(key == storeKey && value.isEmpty) else { continue }
            tree = try ConfigurationTree.setting(key, to: value, in: tree)
            overrides.append("\(variable)=\(value)")
        }
        if let store {
            tree = try ConfigurationTree.setting(storeKey, to: store, in: tree)
        }
        let configuration = try resolve(tree)
        return ConfigurationFile(path: path, exists: exists, configuration: configuration, overrides: overrides)
    }

    /// The key of the store's URL.
    static let storeKey = "store.url"

    /// Checks the keys of `tree`, lays it over the defaults, decodes and validates it.
    static func resolve(_ tree: Node) throws -> ShoalConfiguration {
        try ConfigurationTree.checkKeys(tree, against: ConfigurationTree.schema())
        let defaults = try ConfigurationTree.encode(ShoalConfiguration())
        let entryDefaults = [
            "models": try entryNode(ShoalConfiguration.ModelSpec(name: "", traffic: 0, memory: nil)),
            "targets": Node([
                (Node("architecture"), Node("amd64")), (Node("price_per_hour"), Node("0")),
                (Node("accelerator"), Node([(Node("kind"), Node("none"))])),
            ]),
        ]
        let configuration = try ConfigurationTree.decode(ConfigurationTree.merge(tree, onto: defaults, entryDefaults: entryDefaults))
        try configuration.validate()
        return configuration
    }

    private static func entryNode(_ spec: ShoalConfiguration.ModelSpec) throws -> Node {
        var entry = try ConfigurationTree.parse(try YAMLEncoder().encode(spec), path: "defaults")
        if case .mapping(let mapping) = entry {
            // An entry's name, memory and traffic are its own; the defaults give only version and latency.
            entry = Node(Array(mapping).filter { ["version", "latency_p90_ms", "traffic"].contains($0.key.string) }.map { ($0.key, $0.value) })
        }
        return entry
    }

    /// Sets `key` to `value` in the file at `path` (created if absent) and validates the result before writing
    /// it. An existing value is replaced where it is written, keeping comments; a new key re-emits the file.
    public static func set(_ key: String, to value: String, path: String) throws -> ShoalConfiguration {
        let text = FileManager.default.fileExists(atPath: path) ? try read(path) : ""
        let original = try ConfigurationTree.parse(text, path: path)
        if ConfigurationSchema.freeMappings.contains(key) {
            let tree = try ConfigurationTree.setting(key, to: try mapping(value, key: key), in: original)
            let configuration = try resolve(tree)
            try write(try Yams.serialize(node: tree), to: path)
            return configuration
        }
        // Edit the value where it is written when possible, so comments survive; else re-emit the tree.
        if let edited = ConfigurationTree.editedInPlace(text, key: key, to: value, tree: original) {
            let tree = try ConfigurationTree.parse(edited, path: path)
            let configuration = try resolve(tree)
            try write(edited, to: path)
            return configuration
        }
        let tree = try ConfigurationTree.setting(key, to: value, in: original)
        let configuration = try resolve(tree)
        try write(try Yams.serialize(node: tree), to: path)
        return configuration
    }

    /// `value` read as a YAML mapping, such as `{eks.amazonaws.com/role-arn: arn:aws:iam::1:role/r}`; `{}` or
    /// nothing empties it.
    private static func mapping(_ value: String, key: String) throws -> Node {
        let node = try? Yams.compose(yaml: value)
        guard let node else {
            if value.trimmingCharacters(in: .whitespaces).isEmpty { return Node([(Node, Node)]()) }
            throw ControlError.invalidValue(key: key, value: value, expected: ConfigurationSchema.expected(for: key))
        }
        guard case .mapping = node else {
            throw ControlError.invalidValue(key: key, value: value, expected: ConfigurationSchema.expected(for: key))
        }
        return node
    }

    /// Writes `text` (by default the commented default configuration) to `path` once it validates; refuses
    /// to overwrite unless `force`.
    public static func initialise(path: String, force: Bool, text: String = ConfigurationTemplate.text) throws {
        if !force, FileManager.default.fileExists(atPath: path) {
            throw ControlError.file(path: path, reason: "exists already; pass --force to overwrite it")
        }
        _ = try resolve(try ConfigurationTree.parse(text, path: path))
        try write(text, to: path)
    }

    /// The effective configuration as YAML.
    public func yaml() throws -> String { try YAMLEncoder().encode(configuration) }

    /// Keys that an environment variable can override: every scalar outside the lists.
    public static func overridableKeys() -> [String] {
        guard let schema = try? ConfigurationTree.schema() else { return [] }
        return scalarKeys(schema, prefix: "")
    }

    /// `SHOAL_SERVER_PORT` for `server.port`; `SHOAL_STORE` for `store.url`.
    public static func environmentVariable(for key: String) -> String {
        key == storeKey ? storeVariable : environmentPrefix + key.uppercased().replacingOccurrences(of: ".", with: "_")
    }

    private static func scalarKeys(_ node: Node, prefix: String) -> [String] {
        guard case .mapping(let mapping) = node else { return [] }
        return mapping.flatMap { key, value -> [String] in
            let path = prefix.isEmpty ? (key.string ?? "") : "\(prefix).\(key.string ?? "")"
            if ConfigurationSchema.freeMappings.contains(path) { return [] }
            switch value {
            case .scalar: return [path]
            case .mapping: return scalarKeys(value, prefix: path)
            default: return []
            }
        }
    }

    private static func read(_ path: String) throws -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ControlError.file(path: path, reason: "cannot be read (\(error.localizedDescription))")
        }
    }

    private static func write(_ text: String, to path: String) throws {
        do {
            try Data(text.utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw ControlError.file(path: path, reason: "cannot be written (\(error.localizedDescription))")
        }
    }
}
