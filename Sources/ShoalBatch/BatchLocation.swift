import Foundation
import ShoalStore
#if canImport(Glibc)
import Glibc
#endif

/// Where a batch reads or writes a file: a local path or an S3 object (`s3://BUCKET/KEY`).
public enum BatchLocation: Sendable, Hashable, CustomStringConvertible {
    /// A local file.
    case file(URL)
    /// An object of an S3 bucket.
    case s3(bucket: String, key: String)

    /// A path, `file://PATH` or `s3://BUCKET/KEY`; `option` names the setting in errors.
    public init(_ text: String, option: String) throws(BatchError) {
        guard text.hasPrefix("s3://") else {
            let path = text.hasPrefix("file://") ? String(text.dropFirst("file://".count)) : text
            guard !path.isEmpty, !path.hasSuffix("/") else { throw .invalidSetting(option, reason: "\(text) is not a file path") }
            self = .file(URL(fileURLWithPath: path))
            return
        }
        let rest = text.dropFirst("s3://".count)
        guard let slash = rest.firstIndex(of: "/"), slash != rest.startIndex, rest.index(after: slash) != rest.endIndex,
              !rest.hasSuffix("/") else {
            throw .invalidSetting(option, reason: "\(text) is not s3://BUCKET/KEY")
        }
        self = .s3(bucket: String(rest[..<slash]), key: String(rest[rest.index(after: slash)...]))
    }

    public var description: String {
        switch self {
        case .file(let url): url.path
        case .s3(let bucket, let key): "s3://\(bucket)/\(key)"
        }
    }

    /// Whether it is an S3 object.
    public var isRemote: Bool {
        if case .s3 = self { return true }
        return false
    }

    /// This location with `suffix` added to its name: `out.jsonl` + `.shards/x` is `out.jsonl.shards/x`.
    public func appending(_ suffix: String) -> BatchLocation {
        switch self {
        case .file(let url): .file(URL(fileURLWithPath: url.path + suffix))
        case .s3(let bucket, let key): .s3(bucket: bucket, key: key + suffix)
        }
    }

    /// The errors file that goes with an output: `out.jsonl` → `out.errors.jsonl`.
    public var errorsLocation: BatchLocation {
        let name = description
        guard name.hasSuffix(".jsonl") else { return appending(".errors.jsonl") }
        return dropping(".jsonl".count).appending(".errors.jsonl")
    }

    private func dropping(_ count: Int) -> BatchLocation {
        switch self {
        case .file(let url): .file(URL(fileURLWithPath: String(url.path.dropLast(count))))
        case .s3(let bucket, let key): .s3(bucket: bucket, key: String(key.dropLast(count)))
        }
    }
}

/// Reads and writes batch locations: local files directly, S3 objects through the store's S3 client.
public struct BatchStorage: Sendable {
    /// The S3 endpoint (default: `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, else AWS).
    public var endpoint: String?
    /// The S3 region (default: `AWS_REGION`, ~/.aws/config, else us-east-1).
    public var region: String?

    /// Storage with this endpoint and region (nil: the defaults).
    public init(endpoint: String? = nil, region: String? = nil) {
        self.endpoint = endpoint
        self.region = region
    }

    private func backend(_ bucket: String) throws -> S3Backend {
        let configuration = try StoreConfiguration(url: "s3://\(bucket)", endpoint: endpoint, region: region)
        return try S3Backend(bucket: bucket, prefix: "", configuration: configuration)
    }

    /// Bytes of the file or object, nil when there is none.
    public func size(of location: BatchLocation) async throws -> Int64? {
        switch location {
        case .file(let url):
            guard let attributes = try? FileManager.default.attributesOfItem(atPath: url.path) else { return nil }
            return (attributes[.size] as? NSNumber)?.int64Value
        case .s3(let bucket, let key):
            return try await backend(bucket).size(of: key)
        }
    }

    /// Copies the object at `location` (of `size` bytes) into the local `file`.
    public func download(_ location: BatchLocation, size: Int64, to file: URL) async throws {
        switch location {
        case .file(let url):
            try? FileManager.default.removeItem(at: file)
            try FileManager.default.copyItem(at: url, to: file)
        case .s3(let bucket, let key):
            try await backend(bucket).download(key, size: size, to: file, progress: nil)
        }
    }

    /// Puts the local `file` at `location`, replacing what is there (a local file is replaced atomically).
    public func upload(_ file: URL, to location: BatchLocation) async throws {
        switch location {
        case .file(let url):
            guard file.standardizedFileURL != url.standardizedFileURL else { return }
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            let staged = URL(fileURLWithPath: url.path + ".partial")
            try? FileManager.default.removeItem(at: staged)
            try FileManager.default.copyItem(at: file, to: staged)
            guard rename(staged.path, url.path) == 0 else {
                throw BatchError.cannotWrite(url.path, reason: String(cString: strerror(errno)))
            }
        case .s3(let bucket, let key):
            try await backend(bucket).upload(file, to: key)
        }
    }

    /// The small object at `location`, nil when there is none.
    public func read(_ location: BatchLocation) async throws -> Data? {
        switch location {
        case .file(let url):
            return FileManager.default.fileExists(atPath: url.path) ? try Data(contentsOf: url) : nil
        case .s3(let bucket, let key):
            return try await backend(bucket).read(key)
        }
    }

    /// Writes the small `data` at `location`, replacing what is there, staged in the folder `staging`.
    public func write(_ data: Data, to location: BatchLocation, staging: URL) async throws {
        let staged = staging.appendingPathComponent("shoal-batch-\(UUID().uuidString)")
        try data.write(to: staged)
        defer { try? FileManager.default.removeItem(at: staged) }
        try await upload(staged, to: location)
    }
}
