import Foundation

/// The files of a deployment under one folder (`.shoal/deploy` by default): the spec the supervisor runs, the
/// state it keeps, one log per member and each group's folder of model links; for runtime: podman, the
/// played objects and what they made; for runtime: kubernetes, the applied objects and where they went.
public struct DeployDirectory: Sendable, Equatable {
    public var root: URL

    public init(root: URL) { self.root = root }

    /// The default folder, relative to the current directory.
    public static let defaultPath = ".shoal/deploy"

    public var spec: URL { root.appendingPathComponent("spec.json") }
    public var state: URL { root.appendingPathComponent("state.json") }
    public var supervisorLog: URL { logs.appendingPathComponent("supervisor.log") }
    public var logs: URL { root.appendingPathComponent("logs") }
    public var groups: URL { root.appendingPathComponent("groups") }
    /// The objects runtime: podman plays.
    public var podmanManifest: URL { root.appendingPathComponent("podman.yaml") }
    /// What runtime: podman made: pods, containers, volumes.
    public var podmanState: URL { root.appendingPathComponent("podman.json") }
    /// The pods of a load test runtime: podman plays (`shoal deploy load-test`).
    public var loadTestManifest: URL { root.appendingPathComponent("load-test.yaml") }
    /// What that load test made: pods and a secret.
    public var loadTestState: URL { root.appendingPathComponent("load-test.json") }
    /// The objects runtime: kubernetes applied.
    public var kubernetesManifest: URL { root.appendingPathComponent("kubernetes.yaml") }
    /// Where runtime: kubernetes applied them (context, namespace, kinds, Deployments).
    public var kubernetesState: URL { root.appendingPathComponent("kubernetes.json") }
    /// The podman settings file of the deployment's podman commands.
    public var containersConfiguration: URL { root.appendingPathComponent("containers.conf") }

    /// The log of one member.
    public func log(of member: String) -> URL { logs.appendingPathComponent("\(member).log") }

    /// The queue of asynchronous requests of `group`'s server. `shoal deploy stop` leaves it, so that a request
    /// accepted before a stop runs after the next start.
    public func asyncQueue(of group: String) -> URL { root.appendingPathComponent("async").appendingPathComponent(group) }

    /// A folder of links to `models` in `source`, served by `group`'s server; replaces one left before.
    func linkModels(_ models: [String], from source: URL, group: String) throws -> URL {
        let manager = FileManager.default
        let folder = groups.appendingPathComponent(group).appendingPathComponent("models")
        try? manager.removeItem(at: folder)
        do {
            try manager.createDirectory(at: folder, withIntermediateDirectories: true)
            for model in models {
                let target = source.appendingPathComponent(model).standardizedFileURL
                guard manager.fileExists(atPath: target.path) else {
                    throw ControlError.file(path: target.path, reason: "no model folder '\(model)' for group \(group); "
                        + "import it into the store or add it to the models folder")
                }
                try manager.createSymbolicLink(at: folder.appendingPathComponent(model), withDestinationURL: target)
            }
        } catch let error as ControlError {
            throw error
        } catch {
            throw ControlError.file(path: folder.path, reason: "cannot be prepared (\(error.localizedDescription))")
        }
        return folder
    }

    /// Writes `value` as JSON, atomically, creating the folder.
    func write<Value: Encodable>(_ value: Value, to url: URL) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        do {
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try encoder.encode(value).write(to: url, options: .atomic)
        } catch {
            throw ControlError.file(path: url.path, reason: "cannot be written (\(error.localizedDescription))")
        }
    }

    /// Reads a JSON file written by `write`, or nil when there is none.
    func read<Value: Decodable>(_ type: Value.Type, from url: URL) throws -> Value? {
        guard let data = FileManager.default.contents(atPath: url.path) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(type, from: data)
        } catch {
            throw ControlError.file(path: url.path, reason: "is unreadable (\(error)); run `shoal deploy stop` to clear it")
        }
    }
}
