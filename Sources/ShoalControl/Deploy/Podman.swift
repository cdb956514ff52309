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
        let process = makeProcess(arguments)
        let files = FileManager.default
        let stem = files.temporaryDirectory.appendingPathComponent("shoal-podman-\(UUID().uuidString)")
        let outURL = stem.appendingPathExtension("out"), errURL = stem.appendingPathExtension("err")
        defer {
            try? files.removeItem(at: outURL)
            try? files.removeItem(at: errURL)
        }
        guard files.createFile(atPath: outURL.path, contents: nil), files.createFile(atPath: errURL.path, contents: nil) else {
            throw ControlError.file(path: stem.path, reason: "cannot be written for podman's output")
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        process.standardOutput = out
        process.standardError = err
        defer {
            try? out.close()
            try? err.close()
        }
        try start(process)
        process.waitUntilExit()
        return Output(status: process.terminationStatus,
                      output: String(decoding: files.contents(atPath: outURL.path) ?? Data(), as: UTF8.self),
                      error: String(decoding: files.contents(atPath: errURL.path) ?? Data(), as: UTF8.self))
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
                continuation.resume(with: Result {
                    let process = makeProcess(arguments)
                    try start(process)
                    process.waitUntilExit()
                    return process.terminationStatus
                })
            }
        }
    }

    /// Whether podman's local storage holds `image`.
    public func imageExists(_ image: String) async throws -> Bool {
        try await run(["image", "exists", image]).status == 0
    }

    private func start(_ process: Process) throws {
        do {
            try process.run()
        } catch {
            throw ControlError.container("cannot run \(executable.path): \(error.localizedDescription)")
        }
    }

    private func makeProcess(_ arguments: [String]) -> Process {
        let process = Process()
        process.executableURL = executable
        process.arguments = ["--runtime", "runc"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["CONTAINERS_CONF": configurationFile.path]) { $1 }
        process.standardInput = FileHandle.nullDevice
        return process
    }
}
