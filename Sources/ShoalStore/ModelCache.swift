import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A local copy of remote model versions, at most `limit` bytes, least recently used versions evicted first.
///
/// Layout: `ROOT/STORE/NAME/VERSION/` (STORE a digest of the store's address), the manifest written last;
/// a download goes to `ROOT/.partial/` and is renamed into place once every file's sha256 matches.
public struct ModelCache: Sendable {
    public let root: URL
    public let limit: Int64

    /// The cache folder when none is given: `$SHOAL_CACHE`, else `./.shoal/cache`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        URL(fileURLWithPath: environment["SHOAL_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "./.shoal/cache")
    }

    public init(root: URL, limit: Int64) throws(StoreError) {
        guard limit > 0 else { throw .invalidConfiguration(setting: "--cache-size", reason: "must be positive") }
        self.root = root.standardizedFileURL
        self.limit = limit
    }

    /// The folder of `manifest`'s files from `store`, downloaded (and checked) unless cached already.
    public func folder(for manifest: Manifest, from store: ModelStore, progress: TransferProgress? = nil) async throws -> URL {
        let folder = root.appendingPathComponent(Self.storeKey(store)).appendingPathComponent("\(manifest.name)/\(manifest.version)")
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(Manifest.fileName).path) {
            touch(folder)
            return folder
        }
        guard manifest.totalSize <= limit else {
            throw StoreError.cannotWrite(
                path: root.path, reason: "\(manifest.id) needs \(manifest.totalSize) bytes but the cache holds at most \(limit); raise --cache-size")
        }
        try makeRoom(for: manifest.totalSize, keeping: folder)
        let partial = root.appendingPathComponent(".partial/\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: partial) }
        try await store.download(manifest, into: partial, progress: progress)
        do {
            try FileManager.default.createDirectory(at: folder.deletingLastPathComponent(), withIntermediateDirectories: true)
        } catch {
            throw StoreError.writeFailure(folder.deletingLastPathComponent().path, error)
        }
        // Two loads of one version may race here; the second finds the first one's complete copy in place.
        if rename(partial.path, folder.path) != 0, errno != ENOTEMPTY, errno != EEXIST {
            throw LocalFile.failure(folder.path, errno)
        }
        touch(folder)
        return folder
    }

    /// Bytes of the cached versions.
    public func size() -> Int64 {
        entries().reduce(0) { $0 + $1.bytes }
    }

    /// Removes least recently used versions (never `keeping`) until `bytes` more fit the limit.
    private func makeRoom(for bytes: Int64, keeping: URL) throws {
        var entries = entries().filter { $0.folder.path != keeping.path }
        var total = entries.reduce(0) { $0 + $1.bytes }
        entries.sort { $0.used < $1.used }
        for entry in entries where total + bytes > limit {
            try? FileManager.default.removeItem(at: entry.folder)
            total -= entry.bytes
        }
    }

    /// Every cached version with its bytes and last use.
    private func entries() -> [(folder: URL, bytes: Int64, used: Date)] {
        let manager = FileManager.default
        var found: [(URL, Int64, Date)] = []
        for store in (try? manager.contentsOfDirectory(atPath: root.path)) ?? [] where !store.hasPrefix(".") {
            let storeFolder = root.appendingPathComponent(store)
            for name in (try? manager.contentsOfDirectory(atPath: storeFolder.path)) ?? [] {
                let nameFolder = storeFolder.appendingPathComponent(name)
                for version in (try? manager.contentsOfDirectory(atPath: nameFolder.path)) ?? [] {
                    let folder = nameFolder.appendingPathComponent(version)
                    let manifestURL = folder.appendingPathComponent(Manifest.fileName)
                    guard let data = try? Data(contentsOf: manifestURL),
                          let manifest = try? Manifest.decode(data, path: manifestURL.path) else { continue }
                    let used = (try? manager.attributesOfItem(atPath: manifestURL.path)[.modificationDate] as? Date) ?? .distantPast
                    found.append((folder, manifest.totalSize, used))
                }
            }
        }
        return found
    }

    /// Records a use in the manifest's modification time, which eviction orders by.
    private func touch(_ folder: URL) {
        try? FileManager.default.setAttributes(
            [.modificationDate: Date()], ofItemAtPath: folder.appendingPathComponent(Manifest.fileName).path)
    }

    static func storeKey(_ store: ModelStore) -> String {
        String(FileDigest.sha256(of: Data(store.description.utf8)).prefix(16))
    }
}
