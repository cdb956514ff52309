import Crypto
import Foundation

/// sha256 of files and bytes, read in chunks so that large weights never sit in memory whole.
public enum FileDigest {
    /// Lower-case hex sha256 of `data`.
    public static func sha256(of data: Data) -> String {
        hex(SHA256.hash(data: data))
    }

    /// sha256 and size of the file at `url`; blocking I/O.
    public static func sha256(file url: URL) throws(StoreError) -> (sha256: String, size: Int64) {
        guard let handle = FileHandle(forReadingAtPath: url.path) else {
            throw .cannotRead(path: url.path, reason: "no such file or not readable")
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        var size: Int64 = 0
        do {
            while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
                hasher.update(data: chunk)
                size += Int64(chunk.count)
            }
        } catch {
            throw .cannotRead(path: url.path, reason: SystemReason.describe(error))
        }
        return (hex(hasher.finalize()), size)
    }

    /// The identity of a set of files: the sha256 over each file's path and sha256, in path order; a
    /// manifest's `contentDigest` and the engine's fingerprint of a model folder.
    public static func contentDigest(_ files: [(path: String, sha256: String)]) -> String {
        sha256(of: Data(files.sorted { $0.path < $1.path }.map { "\($0.path)\0\($0.sha256)\n" }.joined().utf8))
    }

    static func hex<D: Sequence>(_ digest: D) -> String where D.Element == UInt8 {
        digest.map { String(format: "%02x", $0) }.joined()
    }
}
