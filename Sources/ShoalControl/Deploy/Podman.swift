import Foundation
import ShoalStore

/// The `podman` command line with the project's own settings: a containers.conf of its own, passed through
/// `CONTAINERS_CONF`, and `--runtime runc`, so that the machine's global configuration is never changed.
public struct Podman: Sendable {
    /// The containers.conf every command reads.
    public let configurationFile: URL

    /// No default ulimits (setting `nofile` or `nproc` is refused on some hosts) and runc, which runs on
    /// hosts with cgroups in hybrid mode where crun does not.
    static let settings = """
        # Written by shoal for its podman commands (CONTAINERS_CONF); the machine's own settings are untouched.
        [containers]
        default_ulimits = []

        [engine]
        runtime = "runc"

        """

    /// What one command printed, and how it ended.
    public typealias Output = ExternalCommand.Output

    /// The podman command line every call goes through.
    let command: ExternalCommand

    /// Finds `podman` and `runc` on `PATH` and writes the settings to `configurationFile`; throws, naming the
    /// setup script that installs them, when either is missing.
    public static func locate(configurationFile: URL, path: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> Podman {
        guard let executable = ExternalCommand.find("podman", in: path), ExternalCommand.find("runc", in: path) != nil else {
            throw ControlError.container("podman and runc must be on PATH for `shoal image build` and runtime: podman; "
                + "install them with scripts/setup.sh (apt-get install podman runc)")
        }
        do {
            try FileManager.default.createDirectory(at: configurationFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(settings.utf8).write(to: configurationFile, options: .atomic)
        } catch {
            throw ControlError.file(path: configurationFile.path, reason: "cannot be written (\(error.localizedDescription))")
        }
        return Podman(configurationFile: configurationFile, command: ExternalCommand(
            executable: executable, leadingArguments: ["--runtime", "runc"], environment: ["CONTAINERS_CONF": configurationFile.path],
            failure: ControlError.container))
    }

    /// The podman executable found on `PATH`.
    public var executable: URL { command.executable }

    /// Runs `podman ARGUMENTS` and returns what it printed.
    public func run(_ arguments: [String]) async throws -> Output { try await command.run(arguments) }

    /// Runs `podman ARGUMENTS` and returns its output; throws with podman's message, saying what was being
    /// done, when it fails.
    @discardableResult
    public func check(_ arguments: [String], doing: String) async throws -> String {
        try await command.check(arguments, doing: doing)
    }

    /// Runs `podman ARGUMENTS` with this process's standard output and error, for what the user watches
    /// (a build, `logs -f`); returns its exit status.
    public func passThrough(_ arguments: [String]) async throws -> Int32 { try await command.passThrough(arguments) }

    /// Whether podman's local storage holds `image`.
    public func imageExists(_ image: String) async throws -> Bool {
        try await run(["image", "exists", image]).status == 0
    }

    /// The variables a container needs to reach the S3 `store` with this machine's keys, region and endpoint
    /// (what the optional Secret `shoal-s3` holds in a cluster); nil for a folder store. Throws, naming `who`
    /// needs them, when this machine has no keys.
    public static func s3Variables(for store: StoreConfiguration, neededBy who: String) throws -> [String: String]? {
        guard store.isRemote else { return nil }
        guard let keys = store.credentials else {
            throw ControlError.container("no AWS keys here for \(who) the S3 store; "
                + "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or add them to ~/.aws/credentials")
        }
        var values = ["AWS_ACCESS_KEY_ID": keys.accessKeyID, "AWS_SECRET_ACCESS_KEY": keys.secretAccessKey, "AWS_REGION": store.region]
        if let token = keys.sessionToken { values["AWS_SESSION_TOKEN"] = token }
        if let endpoint = store.endpoint { values["AWS_ENDPOINT_URL_S3"] = endpoint.absoluteString }
        return values
    }

    /// Creates the secret `name` holding `values` as `envFrom: secretRef` reads it in podman 4.3: a JSON object
    /// of base64 values, passed through a file in `folder` that only this user can read and that is removed at once.
    public func createSecret(_ name: String, values: [String: String], staging folder: URL) async throws {
        let file = folder.appendingPathComponent("\(name)-secret.json")
        defer { try? FileManager.default.removeItem(at: file) }
        let encoded = values.mapValues { Data($0.utf8).base64EncodedString() }
        guard let data = try? JSONSerialization.data(withJSONObject: encoded),
              FileManager.default.createFile(atPath: file.path, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw ControlError.file(path: file.path, reason: "cannot be written")
        }
        try await check(["secret", "create", name, file.path], doing: "creating secret \(name)")
    }

    /// Removes the secret `name` if podman has it.
    public func removeSecret(_ name: String) async throws {
        guard try await run(["secret", "inspect", name]).status == 0 else { return }
        try await check(["secret", "rm", name], doing: "removing secret \(name)")
    }
}
