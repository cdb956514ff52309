import Foundation
import Synchronization

/// Checks a version's files against its manifest before use: the one file verifier of the store, its cache and
/// the server. An instance remembers files already checked while their size, modification time and inode stay
/// the same, so that a server hashes a shared base once, not per head; a fresh instance hashes every file.
public final class VerifiedFiles: Sendable {
    private struct Stamp: Hashable {
        var path: String
        var size: Int64
        var modified: Double
        var inode: UInt64
        var sha256: String
    }

    /// Files that matched their manifest, by stamp.
    private let checked = Mutex(Set<Stamp>())

    public init() {}

    /// Throws `checksumMismatch` or `missingFile` unless every file of `manifest` in `folder` matches; blocking I/O.
    public func verify(_ manifest: Manifest, in folder: URL) throws(StoreError) {
        for file in manifest.files {
            let url = folder.appendingPathComponent(file.path)
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path),
                  let size = (attributes[.size] as? NSNumber)?.int64Value, size == file.size else {
                throw .missingFile(model: manifest.id, file: file.path)
            }
            let stamp = Stamp(
                path: url.path, size: size,
                modified: (attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0,
                inode: (attributes[.systemFileNumber] as? NSNumber)?.uint64Value ?? 0, sha256: file.sha256)
            if checked.withLock({ $0.contains(stamp) }) { continue }
            let actual = try FileDigest.rememberedSHA256(file: url)
            guard actual == file.sha256 else {
                throw .checksumMismatch(model: manifest.id, file: file.path, expected: file.sha256, actual: actual)
            }
            checked.withLock { _ = $0.insert(stamp) }
        }
    }
}
