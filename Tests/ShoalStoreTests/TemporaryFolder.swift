import Foundation

/// A fresh folder under the system's temporary directory, removed when the test is done with it.
final class TemporaryFolder {
    let url: URL

    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-store-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit {
        // Published files are read-only; removal needs only the folders to be writable.
        try? FileManager.default.removeItem(at: url)
    }

    func child(_ name: String) -> URL { url.appendingPathComponent(name) }
}
