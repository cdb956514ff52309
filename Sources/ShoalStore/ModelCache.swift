import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A local copy of remote model versions, at most `limit` bytes, least recently used versions evicted first.
///
/// Layout: `ROOT/STORE/NAME/VERSION/` (STORE a digest of the store's address), the manifest written last;
/// a download goes to `ROOT/.partial/` and is renamed into place once every file's sha256 matches.
///
/// One process owns a cache folder: it reads the folder once, on first use, into an in-memory index (use order
/// from each manifest's modification time, which every use updates), and from then on a load costs O(1)
/// bookkeeping however many versions are cached. Caches of copies of this value share that index.
public struct ModelCache: Sendable {
    public let root: URL
    public let limit: Int64
    private let bookkeeping: Bookkeeping

    /// The cache folder when none is given: `$SHOAL_CACHE`, else `./.shoal/cache`.
    public static func defaultRoot(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        URL(fileURLWithPath: environment["SHOAL_CACHE"].flatMap { $0.isEmpty ? nil : $0 } ?? "./.shoal/cache")
    }

    public init(root: URL, limit: Int64) throws(StoreError) {
        guard limit > 0 else { throw .invalidConfiguration(setting: "--cache-size", reason: "must be positive") }
        self.root = root.standardizedFileURL
        self.limit = limit
        bookkeeping = Bookkeeping(root: self.root)
    }

    /// The folder of `manifest`'s files from `store`, downloaded (and checked) unless cached already.
    public func folder(for manifest: Manifest, from store: ModelStore, progress: TransferProgress? = nil) async throws -> URL {
        let folder = self.folder(manifest, store)
        let key = folder.path
        if FileManager.default.fileExists(atPath: folder.appendingPathComponent(Manifest.fileName).path) {
            bookkeeping.withIndex { $0.use(key, bytes: manifest.totalSize) }
            touch(folder)
            return folder
        }
        guard manifest.totalSize <= limit else {
            throw StoreError.cannotWrite(
                path: root.path, reason: "\(manifest.id) needs \(manifest.totalSize) bytes but the cache holds at most \(limit); raise --cache-size")
        }
        let bytes = manifest.totalSize
        let evicted = bookkeeping.withIndex { index in
            index.remove(key)  // listed, but its folder is gone
            return index.reserve(bytes, within: limit, keeping: key)
        }
        for path in evicted { try? FileManager.default.removeItem(atPath: path) }
        defer { bookkeeping.withIndex { $0.release(bytes) } }
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
        bookkeeping.withIndex { $0.use(key, bytes: bytes) }
        touch(folder)
        return folder
    }

    /// Deletes the cached copy of `manifest` from `store` (a damaged one), so that the next load downloads it again.
    public func discard(_ manifest: Manifest, from store: ModelStore) {
        let folder = self.folder(manifest, store)
        _ = bookkeeping.withIndex { $0.remove(folder.path) }
        try? FileManager.default.removeItem(at: folder)
    }

    /// Bytes of the cached versions.
    public func size() -> Int64 {
        bookkeeping.withIndex(\.cached)
    }

    /// Folders of the cached versions, least recently used first.
    func usageOrder() -> [String] {
        bookkeeping.withIndex(\.order)
    }

    private func folder(_ manifest: Manifest, _ store: ModelStore) -> URL {
        root.appendingPathComponent(Self.storeKey(store)).appendingPathComponent("\(manifest.name)/\(manifest.version)")
    }

    /// Records a use in the manifest's modification time, which orders the index when the next process reads it.
    private func touch(_ folder: URL) {
        try? FileManager.default.setAttributes(
            [.modificationDate: Date()], ofItemAtPath: folder.appendingPathComponent(Manifest.fileName).path)
    }

    static func storeKey(_ store: ModelStore) -> String {
        String(FileDigest.sha256(of: Data(store.description.utf8)).prefix(16))
    }

    /// The index, read from the folder on first use; shared by every copy of the cache.
    private final class Bookkeeping: Sendable {
        private let root: URL
        /// `nil` until the folder has been read. Held only for O(1) updates, and once for the first read.
        private let index = Mutex<CacheIndex?>(nil)

        init(root: URL) {
            self.root = root
        }

        func withIndex<T>(_ body: (inout CacheIndex) -> T) -> T {
            index.withLock { index in
                var current = index ?? Self.read(root)
                defer { index = current }
                return body(&current)
            }
        }

        /// Every cached version with a complete manifest, least recently used first.
        private static func read(_ root: URL) -> CacheIndex {
            let manager = FileManager.default
            var found: [(key: String, bytes: Int64, used: Date)] = []
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
                        found.append((folder.path, manifest.totalSize, used))
                    }
                }
            }
            var index = CacheIndex()
            for entry in found.sorted(by: { $0.used < $1.used }) { index.use(entry.key, bytes: entry.bytes) }
            return index
        }
    }
}
