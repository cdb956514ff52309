import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A store in a local folder: versions are written into `.staging/` and renamed into `models/` in one step.
public struct FileSystemBackend: StoreBackend {
    /// The store's root folder.
    public let root: URL

    public init(root: URL) {
        self.root = root.standardizedFileURL
    }

    public var description: String { root.path }

    public func catalog() async throws -> [ModelVersions] {
        try children(of: root.appendingPathComponent("models")).compactMap { name in
            let versions = (try? children(of: root.appendingPathComponent("models/\(name)"))) ?? []
            return versions.isEmpty ? nil : ModelVersions(name: name, versions: versions)
        }
    }

    /// Lists the names folder once (names only, no manifest) and reads the versions of the page's models alone.
    public func models(prefix: String, after: String?, limit: Int) async throws -> (models: [ModelVersions], more: Bool) {
        let candidates = try children(of: root.appendingPathComponent("models"))
            .filter { name in name.hasPrefix(prefix) && after.map { ModelStore.listingOrder($0, name) } ?? true }
            .sorted(by: ModelStore.listingOrder)
        var page: [ModelVersions] = []
        var examined = 0
        for name in candidates where page.count < limit {
            examined += 1
            let versions = try children(of: root.appendingPathComponent("models/\(name)"))
            if !versions.isEmpty { page.append(ModelVersions(name: name, versions: versions)) }
        }
        return (page, examined < candidates.count)
    }

    public func versions(of name: String) async throws -> [String] {
        try children(of: root.appendingPathComponent("models/\(name)"))
    }

    public func read(_ path: String) async throws -> Data? {
        let url = root.appendingPathComponent(path)
        guard FileManager.default.fileExists(atPath: url.path) else { return nil }
        do {
            return try Data(contentsOf: url)
        } catch {
            throw StoreError.cannotRead(path: url.path, reason: SystemReason.describe(error))
        }
    }

    public func download(_ path: String, size: Int64, to destination: URL, progress: TransferProgress?) async throws {
        let source = root.appendingPathComponent(path)
        try LocalFile.copy(source, to: destination, progress: progress)
    }

    /// Runs on a thread of its own: its writes wait for the disk (fsync), and many publishers (`shoal models
    /// derive`) would otherwise hold every thread of the cooperative pool while they wait.
    public func publish(_ files: [StagedFile], manifest: Data, at folder: String, progress: TransferProgress?) async throws {
        try await Self.onThread { try publishBlocking(files, manifest: manifest, at: folder, progress: progress) }
    }

    private func publishBlocking(_ files: [StagedFile], manifest: Data, at folder: String, progress: TransferProgress?) throws {
        removeAbandonedStaging()
        // Named after this process, so that a later publish can tell a writer that was killed from one at work.
        let staging = root.appendingPathComponent(".staging/\(getpid())-\(UUID().uuidString)")
        let target = root.appendingPathComponent(folder)
        do {
            try FileManager.default.createDirectory(at: staging, withIntermediateDirectories: true)
        } catch {
            throw StoreError.writeFailure(root.path, error)
        }
        defer { try? FileManager.default.removeItem(at: staging) }
        let total = files.reduce(0) { $0 + $1.size }
        var done: Int64 = 0
        for file in files {
            let destination = staging.appendingPathComponent(file.path)
            let before = done
            try LocalFile.copy(file.source, to: destination) { copied, _ in progress?(before + copied, total) }
            done += file.size
        }
        let manifestURL = staging.appendingPathComponent(Manifest.fileName)
        try LocalFile.write(manifest, to: manifestURL)
        try Self.makeReadOnly(staging)
        do {
            try FileManager.default.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw StoreError.writeFailure(target.deletingLastPathComponent().path, error)
        }
        // rename(2) refuses to replace a non-empty folder, and a published version always holds its manifest,
        // so of two writers racing for one version number exactly one wins.
        guard rename(staging.path, target.path) == 0 else {
            let code = errno
            if code == ENOTEMPTY || code == EEXIST {
                throw StoreError.versionExists(folder.split(separator: "/").suffix(2).joined(separator: "@"))
            }
            throw LocalFile.failure(target.path, code)
        }
    }

    public func remove(_ folder: String, files: [String]) async throws {
        let target = root.appendingPathComponent(folder)
        let trash = root.appendingPathComponent(".trash/\(UUID().uuidString)")
        do {
            try FileManager.default.createDirectory(at: trash.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw StoreError.writeFailure(root.path, error)
        }
        // Renaming first makes the version vanish in one step; deleting its files can then take its time.
        guard rename(target.path, trash.path) == 0 else {
            let code = errno
            if code == ENOENT { throw StoreError.notFound(folder) }
            throw LocalFile.failure(target.path, code)
        }
        try? Self.makeWritable(trash)
        try? FileManager.default.removeItem(at: trash)
        let parent = target.deletingLastPathComponent()
        if ((try? children(of: parent)) ?? ["keep"]).isEmpty {
            try? FileManager.default.removeItem(at: parent)
        }
    }

    public func localURL(_ path: String) -> URL? {
        root.appendingPathComponent(path)
    }

    /// Written beside the target under a hidden name and linked into place: link(2) refuses an existing
    /// target, so the object appears whole or not at all, and never replaces another.
    public func write(_ data: Data, to path: String) async throws {
        let target = root.appendingPathComponent(path)
        let staged = target.deletingLastPathComponent().appendingPathComponent(".\(target.lastPathComponent).\(UUID().uuidString)")
        try LocalFile.write(data, to: staged)
        defer { unlink(staged.path) }
        guard link(staged.path, target.path) == 0 else {
            let code = errno
            if code == EEXIST { throw StoreError.objectExists(target.path) }
            throw LocalFile.failure(target.path, code)
        }
    }

    public func list(_ folder: String) async throws -> [String] {
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        return try children(of: root.appendingPathComponent(base)).map { base + "/" + $0 }
    }

    /// Removes the staging folders of writers that died before renaming them (an import killed mid-copy):
    /// those whose name starts with the pid of a process that no longer exists.
    private func removeAbandonedStaging() {
        let staging = root.appendingPathComponent(".staging")
        for name in (try? FileManager.default.contentsOfDirectory(atPath: staging.path)) ?? [] {
            guard let pid = name.split(separator: "-").first.flatMap({ pid_t($0) }), pid > 0,
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: staging.appendingPathComponent(name))
        }
    }

    /// Runs blocking `body` on a new thread, off the cooperative pool.
    private static func onThread(_ body: @escaping @Sendable () throws -> Void) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread { continuation.resume(with: Result { try body() }) }.start()
        }
    }

    /// Visible entries of a folder, sorted; none when it does not exist.
    private func children(of folder: URL) throws -> [String] {
        guard FileManager.default.fileExists(atPath: folder.path) else { return [] }
        do {
            return try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { !$0.hasPrefix(".") }.sorted()
        } catch {
            throw StoreError.cannotRead(path: folder.path, reason: SystemReason.describe(error))
        }
    }

    /// Marks every file under `folder` read-only, so that a published version is not edited by accident.
    private static func makeReadOnly(_ folder: URL) throws {
        for path in (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String]) ?? [] {
            let url = folder.appendingPathComponent(path)
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), !isDirectory.boolValue {
                chmod(url.path, 0o444)
            }
        }
    }

    private static func makeWritable(_ folder: URL) throws {
        for path in (FileManager.default.enumerator(atPath: folder.path)?.allObjects as? [String]) ?? [] {
            chmod(folder.appendingPathComponent(path).path, 0o755)
        }
    }
}
