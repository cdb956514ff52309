import Foundation

/// Where the store is and how to reach it; built and checked once from a URL, options and the environment.
public struct StoreConfiguration: Sendable {
    /// A local folder or an S3 bucket and key prefix.
    public enum Location: Sendable, Equatable {
        case folder(URL)
        case s3(bucket: String, prefix: String)
    }

    public var location: Location
    /// The S3 endpoint (`http://127.0.0.1:9000`); `nil` for AWS itself.
    public var endpoint: URL?
    /// The region requests are signed for.
    public var region = "us-east-1"
    /// Where S3 credentials come from; `nil` for a folder store, or when the environment names no source
    /// (opening an S3 store then fails). Deciding it does no network I/O: temporary credentials are fetched by
    /// the first request.
    public var credentialSource: CredentialSource?
    /// Fixed keys for S3, when the source is keys; setting it makes them the source.
    public var credentials: AWSCredentials? {
        get { credentialSource?.keys }
        set { credentialSource = newValue.map(CredentialSource.keys) }
    }
    /// Files at least this large are uploaded in parts.
    public var multipartThreshold: Int64 = 16 << 20
    /// Bytes per uploaded part and per ranged download request (S3 needs at least 5 MiB for all but the last part).
    public var partSize: Int64 = 8 << 20
    /// How long one HTTP request to S3 may take.
    public var requestTimeout: Duration = .seconds(300)
    /// How long one request for temporary credentials (STS, a container credentials endpoint) may take.
    public var credentialsTimeout: Duration = .seconds(10)

    /// The store folder when nothing names another (`store.url`'s default).
    public static let defaultFolder = "./.shoal/store"

    /// A folder store at `folder`.
    public init(folder: URL) {
        location = .folder(folder)
    }

    /// The store `url` names: a path, `file://PATH` or `s3://BUCKET/PREFIX`, optionally with
    /// `?endpoint=URL&region=R`. For S3, `endpoint` falls back to `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`,
    /// `region` to `AWS_REGION`, `AWS_DEFAULT_REGION` or `~/.aws/config`, and the credentials come from the
    /// environment's keys, IRSA, container credentials or `~/.aws/credentials` (`CredentialSource`). Missing
    /// credentials are no error here: only opening the store needs them, so that what merely names the store
    /// (Kubernetes manifests) works where they are not.
    public init(url: String, endpoint: String? = nil, region: String? = nil,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws(StoreError) {
        let text = url
        guard text.hasPrefix("s3://") else {
            let path = text.hasPrefix("file://") ? String(text.dropFirst("file://".count)) : text
            guard !path.isEmpty else { throw .invalidConfiguration(setting: "--store", reason: "the path is empty") }
            location = .folder(URL(fileURLWithPath: path))
            return
        }
        guard let components = URLComponents(string: text), let bucket = components.host, !bucket.isEmpty else {
            throw .invalidConfiguration(setting: "--store", reason: "\(text) is not s3://BUCKET/PREFIX")
        }
        guard Self.isValidBucket(bucket) else {
            throw .invalidConfiguration(setting: "--store", reason: "\"\(bucket)\" is not a bucket name (3-63 of a-z, 0-9, '.', '-')")
        }
        let query = Dictionary((components.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { $1 }
        let prefix = components.path.split(separator: "/").joined(separator: "/")
        location = .s3(bucket: bucket, prefix: prefix)
        let endpointText = endpoint ?? query["endpoint"] ?? environment["AWS_ENDPOINT_URL_S3"] ?? environment["AWS_ENDPOINT_URL"]
        if let endpointText, !endpointText.isEmpty {
            guard let parsed = URL(string: endpointText), ["http", "https"].contains(parsed.scheme ?? ""), parsed.host != nil else {
                throw .invalidConfiguration(setting: "--endpoint-url", reason: "\(endpointText) is not an http(s) URL")
            }
            self.endpoint = parsed
        }
        self.region = region ?? query["region"] ?? AWSCredentials.region(environment: environment) ?? "us-east-1"
        credentialSource = try CredentialSource.find(environment: environment, region: self.region)
    }

    /// Throws an error naming the first setting out of range.
    public func validate() throws(StoreError) {
        guard partSize >= 5 << 20 else {
            throw .invalidConfiguration(setting: "part size", reason: "S3 needs parts of at least 5 MiB")
        }
        guard multipartThreshold >= partSize else {
            throw .invalidConfiguration(setting: "multipart threshold", reason: "must be at least the part size")
        }
        guard requestTimeout > .zero else {
            throw .invalidConfiguration(setting: "request timeout", reason: "must be positive")
        }
        guard credentialsTimeout > .zero else {
            throw .invalidConfiguration(setting: "credentials timeout", reason: "must be positive")
        }
    }

    /// Whether the location is a remote bucket.
    public var isRemote: Bool {
        if case .s3 = location { return true }
        return false
    }

    /// The folder of a folder store, standardized; nil for a bucket.
    public var folder: URL? {
        if case .folder(let url) = location { return url.standardizedFileURL }
        return nil
    }

    private static func isValidBucket(_ name: String) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyz0123456789.-")
        guard (3...63).contains(name.count), name.allSatisfy(allowed.contains) else { return false }
        return name.first.map { $0 != "." && $0 != "-" } ?? false
    }
}
