import Foundation
import Testing
@testable import ShoalStore

/// Digests of large files remembered across processes: read back while the file is unchanged, computed again
/// once it is written, even in place with the same size.
@Suite struct RememberedDigestTests {
    @Test func aRememberedDigestIsUsedOnlyWhileTheFileIsUnchanged() throws {
        let folder = try TemporaryFolder()
        let file = folder.child("weights.bin")
        let cache = folder.child("digests")
        let size = Int(FileDigest.rememberedMinimumSize)
        try Data(repeating: 1, count: size).write(to: file)
        let first = try FileDigest.rememberedSHA256(file: file, in: cache)
        #expect(first == (try FileDigest.sha256(file: file).sha256))
        let entries = try FileManager.default.contentsOfDirectory(atPath: cache.path)
        #expect(entries.count == 1)

        // The entry is what is read: a forged one for the same identity is believed, which proves the lookup.
        try Data(String(repeating: "a", count: 64).utf8).write(to: cache.appendingPathComponent(entries[0]))
        #expect(try FileDigest.rememberedSHA256(file: file, in: cache) == String(repeating: "a", count: 64))

        // Written again in place with the same size: a new identity, so the digest is computed afresh.
        let handle = try FileHandle(forWritingTo: file)
        try handle.write(contentsOf: Data([2]))
        try handle.close()
        let changed = try FileDigest.rememberedSHA256(file: file, in: cache)
        #expect(changed == (try FileDigest.sha256(file: file).sha256) && changed != first)

        // Small files and no folder: always computed, nothing remembered.
        let small = folder.child("config.json")
        try Data("{}".utf8).write(to: small)
        #expect(try FileDigest.rememberedSHA256(file: small, in: cache) == FileDigest.sha256(of: Data("{}".utf8)))
        #expect(try FileDigest.rememberedSHA256(file: file, in: nil) == changed)
        #expect(try FileManager.default.contentsOfDirectory(atPath: cache.path).count == 2)
    }
}
