import Foundation

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
}
