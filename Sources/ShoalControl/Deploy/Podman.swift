#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// The `podman` command line with the project's own settings: a containers.conf of its own, passed through
/// `CONTAINERS_CONF`, and `--runtime runc`, so that the machine's global configuration is never changed.
public struct Podman: Sendable {
    /// The podman executable found on `PATH`.
    public let executable: URL
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
    public struct Output: Sendable {
        public var status: Int32
        public var output: String
        public var error: String
    }

    /// Finds `podman` and `runc` on `PATH` and writes the settings to `configurationFile`; throws, naming the
    /// setup script that installs them, when either is missing.
    public static func locate(configurationFile: URL, path: String? = ProcessInfo.processInfo.environment["PATH"]) throws -> Podman {
        guard let executable = find("podman", in: path), find("runc", in: path) != nil else {
            throw ControlError.container("podman and runc must be on PATH for `shoal image build` and runtime: podman; "
                + "install them with scripts/setup.sh (apt-get install podman runc)")
        }
        do {
            try FileManager.default.createDirectory(at: configurationFile.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(settings.utf8).write(to: configurationFile, options: .atomic)
        } catch {
            throw ControlError.file(path: configurationFile.path, reason: "cannot be written (\(error.localizedDescription))")
        }
        return Podman(executable: executable, configurationFile: configurationFile)
    }

    /// The first executable file named `name` in the folders of `path`.
    static func find(_ name: String, in path: String?) -> URL? {
        for folder in (path ?? "").split(separator: ":") {
            let file = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: file.path) { return file }
        }
        return nil
    }

    /// Runs `podman ARGUMENTS` on a Dispatch thread and returns what it printed.
    public func run(_ arguments: [String]) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(arguments) })
            }
        }
    }

    /// Output goes to files rather than pipes: `kube play` leaves conmon running with podman's descriptors,
    /// so a pipe would never reach its end.
    private func runBlocking(_ arguments: [String]) throws -> Output {
        let files = FileManager.default
        let stem = files.temporaryDirectory.appendingPathComponent("shoal-podman-\(UUID().uuidString)")
        let out = stem.appendingPathExtension("out"), err = stem.appendingPathExtension("err")
        defer {
            try? files.removeItem(at: out)
            try? files.removeItem(at: err)
        }
        let status = try spawn(arguments, output: (out.path, err.path))
        return Output(status: status, output: String(decoding: files.contents(atPath: out.path) ?? Data(), as: UTF8.self),
                      error: String(decoding: files.contents(atPath: err.path) ?? Data(), as: UTF8.self))
    }

    /// Runs `podman ARGUMENTS` and returns its output; throws with podman's message, saying what was being
    /// done, when it fails.
    @discardableResult
    public func check(_ arguments: [String], doing: String) async throws -> String {
        let result = try await run(arguments)
        guard result.status == 0 else {
            let message = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
            throw ControlError.container("\(doing) failed (podman \(arguments.first ?? "") exited with \(result.status)): \(message)")
        }
        return result.output
    }

    /// Runs `podman ARGUMENTS` with this process's standard output and error, for what the user watches
    /// (a build, `logs -f`); returns its exit status.
    public func passThrough(_ arguments: [String]) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try spawn(arguments, output: nil) })
            }
        }
    }

    /// Whether podman's local storage holds `image`.
    public func imageExists(_ image: String) async throws -> Bool {
        try await run(["image", "exists", image]).status == 0
    }

    /// Starts podman with `posix_spawn` and waits for it with `waitpid`, blocking the calling thread; its
    /// output goes to the two files, else to this process's. Foundation's `Process` is not used: it learns of
    /// the exit from a descriptor the child inherits, which conmon (started by `kube play`) keeps open.
    private func spawn(_ arguments: [String], output: (String, String)?) throws -> Int32 {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        if let (out, err) = output {
            posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            posix_spawn_file_actions_addopen(&actions, 2, err, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        }
        // podman hands its descriptors on to conmon, which outlives it: none of this process's go with them
        // (closing one that has gone meanwhile is not an error for posix_spawn).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for descriptor in open where descriptor > 2 { posix_spawn_file_actions_addclose(&actions, descriptor) }
        let environment = ProcessInfo.processInfo.environment.merging(["CONTAINERS_CONF": configurationFile.path]) { $1 }
        let argv = ([executable.path, "--runtime", "runc"] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let started = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        guard started == 0 else {
            throw ControlError.container("cannot run \(executable.path): \(String(cString: strerror(started)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw ControlError.container("waiting for podman failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED and WEXITSTATUS; a signal's number is reported as 128 plus it, as shells do.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
