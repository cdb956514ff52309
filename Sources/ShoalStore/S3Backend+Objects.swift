import Foundation

extension S3Backend {
    /// Bytes of the plain object at `path`, nil when there is none.
    public func size(of path: String) async throws -> Int64? {
        let response = try await client.send("HEAD", key: key(path), accept: [200, 404])
        guard response.status == 200 else { return nil }
        guard let length = response.headers.first(name: "content-length").flatMap(Int64.init) else {
            throw StoreError.remote(store: description, reason: "\(path) was answered without a Content-Length")
        }
        return length
    }

    /// Uploads the local `file` to the plain object `path`, replacing what is there: one PUT below the store's
    /// multipart threshold, else a multipart upload of its part size.
    public func upload(_ file: URL, to path: String, progress: TransferProgress? = nil) async throws {
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        let size = (attributes[.size] as? NSNumber)?.int64Value ?? 0
        try await client.upload(file, size: size, to: key(path), threshold: multipartThreshold, partSize: partSize,
                                progress: progress)
    }
}
