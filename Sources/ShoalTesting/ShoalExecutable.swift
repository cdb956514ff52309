import Foundation
import ShoalTensor

/// Runs the built `shoal` executable from a test and captures what it prints.
public enum ShoalExecutable {
    /// Exit status and output of a finished run.
    public struct Result: Sendable {
        public var status: Int32
        public var output: String
        public var error: String

        public init(status: Int32, output: String, error: String) {
            self.status = status
            self.output = output
            self.error = error
        }
    }

    /// The executable next to the test bundle (SwiftPM builds both into the same folder).
    public static let executable: URL = {
        var folder = Bundle.main.bundleURL
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("shoal").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("shoal")
    }()

    /// Runs `shoal ARGUMENTS` with `environment` added to this process's, and waits for it on a thread of its
    /// own: a test awaiting a long command (a 10 s load test) leaves the cooperative pool, which every other
    /// test running at the same time needs, free.
    public static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil)
        async throws -> Result
    {
        try await Thread.run(named: "shoal-executable") { try runBlocking(arguments, environment: environment, in: directory) }
    }

    private static func runBlocking(_ arguments: [String], environment: [String: String], in directory: URL?) throws -> Result {
        let process = try start(arguments, environment: environment, in: directory)
        // Both pipes are drained at once so that a chatty stderr cannot block the child; the reader is a
        // Dispatch thread, never the cooperative pool that tests run on.
        let errors = DataBox()
        let done = DispatchGroup()
        done.enter()
        DispatchQueue.global().async {
            errors.data = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
            done.leave()
        }
        let out = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        done.wait()
        let err = errors.data
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                      error: String(decoding: err, as: UTF8.self))
    }

    /// Starts `shoal ARGUMENTS` (or `launcher` with `shoal` as its first argument) without waiting.
    public static func start(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
                             launcher: [String] = []) throws -> Process {
        let process = Process()
        if launcher.isEmpty {
            process.executableURL = executable
            process.arguments = arguments
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = launcher + [executable.path] + arguments
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        return process
    }

    // Written once by the reader before the group is left, read after.
    private final class DataBox: @unchecked Sendable {
        var data = Data()
    }
}
