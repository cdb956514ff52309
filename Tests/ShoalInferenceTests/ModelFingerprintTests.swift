import Foundation
import ShoalStore
import Testing
@testable import ShoalInference

@Suite struct ModelFingerprintTests {
    @Test("a model folder's fingerprint is the store's content digest of its files: equal bytes, equal identity")
    func fingerprintIsTheStoresDigest() throws {
        let folders = try ModelFolders()
        let one = try folders.embedding("one"), same = try folders.embedding("same"), other = try folders.embedding("other", seed: 9)
        let fingerprint = try ModelFingerprint.compute(folder: one)
        let manifestFiles = try ModelFingerprint.files.map { name in
            let (sha256, size) = try FileDigest.sha256(file: one.appendingPathComponent(name))
            return Manifest.File(path: name, sha256: sha256, size: size)
        }
        #expect(fingerprint == FileDigest.contentDigest(manifestFiles.map { ($0.path, $0.sha256) }))
        #expect(try ModelFingerprint.compute(folder: same) == fingerprint)
        #expect(try ModelFingerprint.compute(folder: other) != fingerprint)

        try Data("{}".utf8).write(to: same.appendingPathComponent("tokenizer.json"))
        #expect(try ModelFingerprint.compute(folder: same) != fingerprint)
        try FileManager.default.removeItem(at: same.appendingPathComponent("config.json"))
        #expect {
            try ModelFingerprint.compute(folder: same)
        } throws: { error in
            guard case .modelUnavailable(let name, let reason) = error as? InferenceError else { return false }
            return name == "same" && reason.contains("config.json")
        }
    }
}
