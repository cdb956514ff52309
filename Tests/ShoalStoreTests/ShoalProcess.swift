import Foundation

/// Runs the built `shoal` executable and captures what it prints.
enum ShoalProcess {
    struct Result {
        var status: Int32
        var output: String
        var error: String
    }

    /// The executable next to the test bundle (SwiftPM builds both into the same folder).
    static let executable: URL = {
        var folder = Bundle.main.bundleURL
        while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.appendingPathComponent("shoal").path) {
            folder.deleteLastPathComponent()
        }
        return folder.appendingPathComponent("shoal")
    }()

    /// Runs `shoal ARGUMENTS` with `environment` added to this process's, and waits for it.
    static func run(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil) throws -> Result {
        let process = try start(arguments, environment: environment, in: directory)
        let out = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        let err = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
        process.waitUntilExit()
        return Result(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                      error: String(decoding: err, as: UTF8.self))
    }

    /// Starts `shoal ARGUMENTS` (or `launcher` with `shoal` as its first argument) without waiting.
    static func start(_ arguments: [String], environment: [String: String] = [:], in directory: URL? = nil,
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
}
