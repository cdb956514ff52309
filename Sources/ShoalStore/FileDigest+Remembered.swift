import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension FileDigest {
    /// Files at least this large have their digest remembered across processes; smaller ones are hashed each
    /// time, which costs less than the lookup is worth (and keeps test fixtures out of the folder).
    public static let rememberedMinimumSize: Int64 = 16 << 20

    /// The sha256 of the file at `url`, remembered across processes for large files: a server that starts
    /// again on the same weights (a serverless group's cold start) reads the digest instead of 90 MB. An entry
    /// is keyed by the file's path, device, inode, size and modification and status-change times in
    /// nanoseconds, so a file written again, even in place with the same size, is hashed again; the status-change
    /// time cannot be set back by a user. Entries live in `folder` (nil: hash every time); blocking I/O.
    public static func rememberedSHA256(file url: URL, in folder: URL? = rememberedFolder) throws(StoreError) -> String {
        guard let folder, let identity = FileIdentity(path: url.path), identity.size >= rememberedMinimumSize else {
            return try sha256(file: url).sha256
        }
        let entry = folder.appendingPathComponent(sha256(of: Data(identity.key.utf8)))
        if let text = try? String(contentsOf: entry, encoding: .utf8), text.count == 64, text.allSatisfy(\.isHexDigit) {
            return text
        }
        let digest = try sha256(file: url).sha256
        // Remembered only when the file did not change while it was read; a folder that cannot be written is no error.
        if FileIdentity(path: url.path) == identity {
            try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try? Data(digest.utf8).write(to: entry, options: .atomic)
        }
        return digest
    }

    /// `$SHOAL_DIGEST_CACHE`, else `$XDG_CACHE_HOME/shoal/digests`, else `~/.cache/shoal/digests`.
    public static var rememberedFolder: URL? {
        let environment = ProcessInfo.processInfo.environment
        if let folder = environment["SHOAL_DIGEST_CACHE"], !folder.isEmpty { return URL(fileURLWithPath: folder) }
        let cache = environment["XDG_CACHE_HOME"].map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return cache.appendingPathComponent("shoal").appendingPathComponent("digests")
    }
}

/// What identifies a file's contents without reading them: where it is and when it last changed.
struct FileIdentity: Equatable {
    var path: String
    var device: UInt64
    var inode: UInt64
    var size: Int64
    var modified: Int64
    var changed: Int64

    /// The identity of the file at `path` (symbolic links followed); nil when it cannot be read.
    init?(path: String) {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        self.path = path
        device = UInt64(info.st_dev)
        inode = UInt64(info.st_ino)
        size = Int64(info.st_size)
        #if canImport(Darwin)
        modified = Int64(info.st_mtimespec.tv_sec) * 1_000_000_000 + Int64(info.st_mtimespec.tv_nsec)
        changed = Int64(info.st_ctimespec.tv_sec) * 1_000_000_000 + Int64(info.st_ctimespec.tv_nsec)
        #else
        modified = Int64(info.st_mtim.tv_sec) * 1_000_000_000 + Int64(info.st_mtim.tv_nsec)
        changed = Int64(info.st_ctim.tv_sec) * 1_000_000_000 + Int64(info.st_ctim.tv_nsec)
        #endif
    }

    var key: String { "\(path)\0\(device)\0\(inode)\0\(size)\0\(modified)\0\(changed)" }
}
