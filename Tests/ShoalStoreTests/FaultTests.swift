import Foundation
import ShoalTesting
import ShoalStore
import Testing

@Suite("Faults: killed imports, full and read-only disks")
struct FaultTests {
    @Test("an import killed at any moment leaves no visible version, or a complete one", .timeLimit(.minutes(3)))
    func killedImport() async throws {
        let work = try TemporaryFolder()
        let model = try Fixtures.embeddingModel(at: work.child("tiny"))
        // A large extra file stretches the hashing and copying so that kills land in the middle of publishing.
        _ = try Fixtures.blob(at: model.appendingPathComponent("padding.json"), size: 48 << 20)
        let root = work.child("store")
        let arguments = ["models", "import", model.path, "--name", "big", "--store", root.path, "--profile-seconds", "0"]
        for delay in stride(from: 50, through: 1_250, by: 100) {
            let process = try ShoalExecutable.start(arguments)
            try await Task.sleep(for: .milliseconds(delay))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        let store = Fixtures.store(root)
        for version in try await store.versions(of: "big") {
            let manifest = try await store.verify(ModelReference(name: "big", version: version))
            #expect(manifest.files.contains { $0.path == "padding.json" })
        }
        // Whatever the kills left aside is invisible, and the next import still publishes.
        let finished = try await ShoalExecutable.run(arguments)
        #expect(finished.status == 0, "\(finished.error)")
        #expect(try await store.versions(of: "big").count >= 1)
        // ... and it removed what the killed imports left in staging.
        let staging = (try? FileManager.default.contentsOfDirectory(atPath: root.appendingPathComponent(".staging").path)) ?? []
        #expect(staging.isEmpty, "\(staging)")
    }

    @Test("a full disk fails the import with a clear error and publishes nothing", .enabled(if: Self.canMountTmpfs))
    func fullDisk() throws {
        let work = try TemporaryFolder()
        let model = try Fixtures.embeddingModel(at: work.child("tiny"))
        let disk = work.child("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let result = try Self.inPrivateMount(
            "mount -t tmpfs -o size=64k tmpfs \(disk.path) && "
                + "\(ShoalExecutable.executable.path) models import \(model.path) --name tiny --store \(disk.path)/store --profile-seconds 0; "
                + "status=$?; ls \(disk.path)/store/models 2>/dev/null; exit $status")
        #expect(result.status != 0)
        #expect(result.error.contains("no space left on the device"), "\(result.error)")
        #expect(result.error.contains("free disk space"))
        #expect(result.output.isEmpty, "nothing may be published: \(result.output)")
    }

    @Test("a read-only store fails the import with a clear error", .enabled(if: Self.canMountTmpfs))
    func readOnlyDisk() throws {
        let work = try TemporaryFolder()
        let model = try Fixtures.embeddingModel(at: work.child("tiny"))
        let disk = work.child("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let result = try Self.inPrivateMount(
            "mount -t tmpfs -o size=8m tmpfs \(disk.path) && mkdir \(disk.path)/store && mount -o remount,ro \(disk.path) && "
                + "\(ShoalExecutable.executable.path) models import \(model.path) --name tiny --store \(disk.path)/store --profile-seconds 0")
        #expect(result.status != 0)
        #expect(result.error.contains("the file system is read-only"), "\(result.error)")
    }

    /// Runs a shell script in a private user and mount namespace, where it may mount a small tmpfs.
    static func inPrivateMount(_ script: String) throws -> ShoalExecutable.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["unshare", "-rm", "sh", "-c", script]
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return .init(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                     error: String(decoding: err, as: UTF8.self))
    }

    /// Whether this machine lets an unprivileged namespace mount a tmpfs (needed to make a small or read-only disk).
    static let canMountTmpfs: Bool = {
        guard let result = try? inPrivateMount("d=$(mktemp -d) && mount -t tmpfs -o size=64k tmpfs $d && umount $d; s=$?; rmdir $d; exit $s")
        else { return false }
        return result.status == 0
    }()
}
