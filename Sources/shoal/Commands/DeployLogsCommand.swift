import ArgumentParser
import Foundation
import ShoalControl

struct DeployLogsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "logs",
        abstract: "Print the logs of the deployment's processes, or of one group (or `gateway`, `supervisor`).")

    @OptionGroup var deploy: DeployOptions
    @Argument(help: "Only this group's log.")
    var group: String?
    @Flag(name: .shortAndLong, help: "Keep printing what is appended, until interrupted.")
    var follow = false

    func run() async throws {
        if let (kubernetes, state) = try deploy.kubernetesDeployment() {
            try await kubernetes.logs(state, group: group, follow: follow)
            return
        }
        if let podman = try deploy.podmanDeployment(), let state = try podman.state() {
            let members = group.map { name in state.members.filter { $0.name == name } } ?? state.members
            guard !members.isEmpty else { throw ValidationError("no group '\(group ?? "")' in the deployment") }
            try await podman.logs(members, follow: follow)
            return
        }
        let directory = deploy.directory
        let files = try logs(in: directory)
        var offsets = [URL: UInt64]()
        for file in files { offsets[file] = print(file, from: 0, labelled: files.count > 1) }
        while follow {
            try await Task.sleep(for: .milliseconds(250))
            for file in files { offsets[file] = print(file, from: offsets[file] ?? 0, labelled: files.count > 1) }
        }
    }

    private func logs(in directory: DeployDirectory) throws -> [URL] {
        if let group {
            let file = directory.log(of: group)
            guard FileManager.default.fileExists(atPath: file.path) else {
                throw ValidationError("no log for '\(group)' under \(directory.logs.path)")
            }
            return [file]
        }
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.logs.path)) ?? []
        return names.filter { $0.hasSuffix(".log") }.sorted().map { directory.logs.appendingPathComponent($0) }
    }

    /// Prints the file from `offset`, each line prefixed with its group when several are shown; returns the end.
    private func print(_ file: URL, from offset: UInt64, labelled: Bool) -> UInt64 {
        guard let handle = try? FileHandle(forReadingFrom: file) else { return offset }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        let label = labelled ? "\(file.deletingPathExtension().lastPathComponent) | " : ""
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            Swift.print(label + line)
        }
        return offset + UInt64(data.count)
    }
}
