#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation

/// One external command line tool (`podman`, `kubectl`) with the arguments and environment every call of it
/// gets: the one way `shoal` runs them, on a Dispatch thread, never on the cooperative pool.
public struct ExternalCommand: Sendable {
    /// The executable found on `PATH`.
    public let executable: URL
    /// Arguments put before each call's own (`--runtime runc`, `--context C --namespace NS`).
    public let leadingArguments: [String]
    /// Variables added to this process's environment for each call.
    public let environment: [String: String]
    /// What a failed call is reported as: its message in, the module's error out.
    let failure: @Sendable (String) -> ControlError

    public init(executable: URL, leadingArguments: [String] = [], environment: [String: String] = [:],
                failure: @escaping @Sendable (String) -> ControlError) {
        self.executable = executable
        self.leadingArguments = leadingArguments
        self.environment = environment
        self.failure = failure
    }

    /// What one call printed, and how it ended.
    public struct Output: Sendable {
        public var status: Int32
        public var output: String
        public var error: String
    }

    /// The first executable file named `name` in the folders of `path`.
    public static func find(_ name: String, in path: String?) -> URL? {
        for folder in (path ?? "").split(separator: ":") {
            let file = URL(fileURLWithPath: String(folder)).appendingPathComponent(name)
            if FileManager.default.isExecutableFile(atPath: file.path) { return file }
        }
        return nil
    }

    /// The tool's name, as error messages say it.
    var name: String { executable.lastPathComponent }

    /// Runs the tool with `arguments` and returns what it printed.
    public func run(_ arguments: [String]) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try runBlocking(arguments) })
            }
        }
    }

    /// Runs the tool and returns its output; throws with its message, saying what was being done, when it fails.
    @discardableResult
    public func check(_ arguments: [String], doing: String) async throws -> String {
        let result = try await run(arguments)
        guard result.status == 0 else {
            let message = result.error.trimmingCharacters(in: .whitespacesAndNewlines)
            throw failure("\(doing) failed (\(name) \(arguments.first ?? "") exited with \(result.status)): \(message)")
        }
        return result.output
    }

    /// Runs the tool with this process's standard output and error, for what the user watches (a build,
    /// `logs -f`); returns its exit status.
    public func passThrough(_ arguments: [String]) async throws -> Int32 {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try spawn(arguments, output: nil) })
            }
        }
    }

    /// Output goes to files rather than pipes: `podman kube play` leaves conmon running with podman's
    /// descriptors, so a pipe would never reach its end.
    private func runBlocking(_ arguments: [String]) throws -> Output {
        let files = FileManager.default
        let stem = files.temporaryDirectory.appendingPathComponent("shoal-\(name)-\(UUID().uuidString)")
        let out = stem.appendingPathExtension("out"), err = stem.appendingPathExtension("err")
        defer {
            try? files.removeItem(at: out)
            try? files.removeItem(at: err)
        }
        let status = try spawn(arguments, output: (out.path, err.path))
        return Output(status: status, output: String(decoding: files.contents(atPath: out.path) ?? Data(), as: UTF8.self),
                      error: String(decoding: files.contents(atPath: err.path) ?? Data(), as: UTF8.self))
    }

    /// Starts the tool with `posix_spawn` and waits for it with `waitpid`, blocking the calling thread; its
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
        let variables = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let argv = ([executable.path] + leadingArguments + arguments).map { strdup($0) } + [nil]
        let envp = variables.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { (argv + envp).forEach { free($0) } }
        var pid = pid_t()
        let started = posix_spawn(&pid, executable.path, &actions, nil, argv, envp)
        guard started == 0 else {
            throw failure("cannot run \(executable.path): \(String(cString: strerror(started)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 {
            guard errno == EINTR else { throw failure("waiting for \(name) failed: \(String(cString: strerror(errno)))") }
        }
        // WIFEXITED and WEXITSTATUS; a signal's number is reported as 128 plus it, as shells do.
        return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
    }
}
