import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The few S3 operations the store needs, signed with SigV4, path-style (`ENDPOINT/BUCKET/KEY`).
struct S3Client: Sendable {
    let endpoint: URL
    let bucket: String
    let signer: SigV4Signer
    /// The credentials each request is signed with, current at the time of the request.
    let credentials: CredentialProvider
    let timeout: Duration
    /// Names the store in errors.
    let storeName: String

    init(bucket: String, configuration: StoreConfiguration, storeName: String) throws(StoreError) {
        guard let source = configuration.credentialSource else {
            throw .invalidConfiguration(
                setting: "credentials",
                reason: "no AWS keys found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY or add them to ~/.aws/credentials "
                    + "(in a pod: a ServiceAccount with an IRSA role or an EKS Pod Identity association)")
        }
        let fallback = URL(string: "https://s3.\(configuration.region).amazonaws.com")
        guard let endpoint = configuration.endpoint ?? fallback else {
            throw .invalidConfiguration(setting: "--region", reason: "\(configuration.region) is not a region name")
        }
        self.endpoint = endpoint
        self.bucket = bucket
        self.signer = SigV4Signer(region: configuration.region)
        self.credentials = CredentialProvider.shared(for: source, timeout: configuration.credentialsTimeout)
        self.timeout = configuration.requestTimeout
        self.storeName = storeName
    }

    /// The one HTTP client of every store. A connection that cannot be made fails at once rather than being
    /// retried by the pool until its 90-second connect timeout: `send` retries it itself, four times, so an
    /// unreachable server is reported in seconds. Like `HTTPClient.shared`, it lives as long as the process.
    static let http: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(10)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    /// A response's status, headers and (collected) body.
    struct Response: Sendable {
        var status: Int
        var headers: HTTPHeaders
        var body: Data
    }

    // MARK: Objects

    /// The object's bytes (or the `range` of them), `nil` when it does not exist.
    func get(_ key: String, range: ClosedRange<Int64>? = nil) async throws -> Data? {
        let headers = range.map { [("range", "bytes=\($0.lowerBound)-\($0.upperBound)")] } ?? []
        let response = try await send("GET", key: key, headers: headers, accept: [200, 206, 404])
        return response.status == 404 ? nil : response.body
    }

    /// Whether the object exists.
    func exists(_ key: String) async throws -> Bool {
        try await send("HEAD", key: key, accept: [200, 404]).status == 200
    }

    /// Stores `data` at `key`; with `ifAbsent`, throws `versionExists` when an object is there already.
    func put(_ key: String, data: Data, ifAbsent: Bool = false) async throws {
        let headers = ifAbsent ? [("if-none-match", "*")] : []
        let response = try await send("PUT", key: key, headers: headers, body: data, accept: [200, 412])
        if response.status == 412 { throw StoreError.versionExists(key) }
    }

    func delete(_ key: String) async throws {
        _ = try await send("DELETE", key: key, accept: [200, 204, 404])
    }

    /// Creates the bucket; succeeds when this account owns it already.
    func createBucket() async throws {
        let response = try await send("PUT", key: nil, accept: [200, 409])
        if response.status == 409, !response.body.isEmpty,
           S3XML.values(in: response.body)["Error/Code"]?.first != "BucketAlreadyOwnedByYou" {
            throw StoreError.remote(store: storeName, reason: "bucket \(bucket) belongs to another account; choose another name")
        }
    }

    /// One answer of ListObjectsV2: keys, common prefixes (with a delimiter), and the token of the next page.
    struct ListPage: Sendable {
        var keys: [String]
        var prefixes: [String]
        /// Set when the listing goes on.
        var nextToken: String?
    }

    /// One page of the keys under `prefix` after `startAfter` (at most `maxKeys`, S3 caps it at 1,000); with a
    /// `delimiter`, keys that share the part of their name up to it come back once, as a common prefix.
    func listPage(prefix: String, delimiter: String? = nil, startAfter: String? = nil, maxKeys: Int? = nil,
                  token: String? = nil) async throws -> ListPage {
        var query = [("list-type", "2"), ("prefix", prefix)]
        if let delimiter { query.append(("delimiter", delimiter)) }
        if let startAfter { query.append(("start-after", startAfter)) }
        if let maxKeys { query.append(("max-keys", "\(maxKeys)")) }
        if let token { query.append(("continuation-token", token)) }
        let response = try await send("GET", key: nil, query: query, accept: [200])
        let values = S3XML.values(in: response.body)
        let truncated = values["ListBucketResult/IsTruncated"]?.first == "true"
        return ListPage(
            keys: values["ListBucketResult/Contents/Key"] ?? [],
            prefixes: values["ListBucketResult/CommonPrefixes/Prefix"] ?? [],
            nextToken: truncated ? values["ListBucketResult/NextContinuationToken"]?.first : nil)
    }

    /// Keys under `prefix`, every page of them.
    func list(prefix: String) async throws -> [String] {
        var keys: [String] = []
        var token: String?
        repeat {
            let page = try await listPage(prefix: prefix, token: token)
            keys += page.keys
            token = page.nextToken
        } while token != nil
        return keys
    }

    // MARK: Transfers

    /// Downloads an object of `size` bytes into `destination` in ranged requests of `partSize` bytes.
    func download(_ key: String, size: Int64, partSize: Int64, to destination: URL, progress: TransferProgress?) async throws {
        let output = try LocalFile.create(destination)
        defer { try? output.close() }
        var offset: Int64 = 0
        repeat {
            let end = min(offset + partSize, size) - 1
            guard let chunk = try await get(key, range: size == 0 ? nil : offset...end) else {
                throw StoreError.notFound("object \(key) in \(storeName)")
            }
            guard size == 0 || Int64(chunk.count) == end - offset + 1 else {
                throw StoreError.remote(store: storeName, reason: "\(key) answered \(chunk.count) bytes for \(end - offset + 1); retry")
            }
            do {
                try output.write(contentsOf: chunk)
            } catch {
                throw StoreError.writeFailure(destination.path, error)
            }
            offset += Int64(chunk.count)
            progress?(offset, size)
        } while offset < size
        try LocalFile.sync(output, path: destination.path)
    }

    /// Uploads a local file: one PUT below `threshold` bytes, else a multipart upload of `partSize` parts.
    func upload(_ file: URL, size: Int64, to key: String, threshold: Int64, partSize: Int64,
                progress: TransferProgress?) async throws {
        guard let input = FileHandle(forReadingAtPath: file.path) else {
            throw StoreError.cannotRead(path: file.path, reason: "no such file or not readable")
        }
        defer { try? input.close() }
        guard size >= threshold else {
            try await put(key, data: try LocalFile.read(input, count: Int(size), path: file.path))
            progress?(size, size)
            return
        }
        let started = try await send("POST", key: key, query: [("uploads", "")], accept: [200])
        guard let uploadID = S3XML.values(in: started.body)["InitiateMultipartUploadResult/UploadId"]?.first else {
            throw StoreError.remote(store: storeName, reason: "the server did not start a multipart upload of \(key)")
        }
        do {
            var parts: [(Int, String)] = []
            var offset: Int64 = 0
            while offset < size {
                let data = try LocalFile.read(input, count: Int(min(partSize, size - offset)), path: file.path)
                let number = parts.count + 1
                let response = try await send(
                    "PUT", key: key, query: [("partNumber", "\(number)"), ("uploadId", uploadID)], body: data, accept: [200])
                guard let etag = response.headers.first(name: "etag") else {
                    throw StoreError.remote(store: storeName, reason: "part \(number) of \(key) came back without an ETag")
                }
                parts.append((number, etag))
                offset += Int64(data.count)
                progress?(offset, size)
            }
            let body = "<CompleteMultipartUpload>"
                + parts.map { "<Part><PartNumber>\($0.0)</PartNumber><ETag>\($0.1)</ETag></Part>" }.joined()
                + "</CompleteMultipartUpload>"
            let completed = try await send("POST", key: key, query: [("uploadId", uploadID)], body: Data(body.utf8), accept: [200])
            // S3 may answer 200 and still report an error in the body of a completion.
            if let code = S3XML.values(in: completed.body)["Error/Code"]?.first {
                throw StoreError.remote(store: storeName, reason: "completing the upload of \(key) failed: \(code)")
            }
        } catch {
            _ = try? await send("DELETE", key: key, query: [("uploadId", uploadID)], accept: [200, 204, 404])
            throw error
        }
    }

    // MARK: Requests

    /// Sends one signed request, retrying server errors and lost or refused connections four times (0.2 s to 1.6 s apart);
    /// throws unless the status is in `accept`.
    func send(_ method: String, key: String?, query: [(String, String)] = [], headers: [(String, String)] = [],
              body: Data? = nil, accept: Set<Int>) async throws -> Response {
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await sendOnce(method, key: key, query: query, headers: headers, body: body)
                if accept.contains(response.status) { return response }
                if response.status >= 500, attempt < 5 {
                    try await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                throw failure(response, method: method, key: key)
            } catch let error as StoreError {
                throw error
            } catch let error as CancellationError {
                throw error
            } catch where attempt < 5 {
                // A lost or refused connection (HTTPClientError, or NIO's connect errors): tried again shortly.
                try await Task.sleep(for: .milliseconds(100 << attempt))
            } catch {
                throw StoreError.remote(
                    store: storeName, reason: "cannot reach \(endpoint.absoluteString) (\(error)); check --endpoint-url and that the server runs")
            }
        }
    }

    private func sendOnce(_ method: String, key: String?, query: [(String, String)], headers: [(String, String)],
                          body: Data?) async throws -> Response {
        let path = "/" + SigV4Signer.encode(bucket, slash: false) + (key.map { "/" + SigV4Signer.encode($0, slash: false) } ?? "")
        let hostHeader = endpoint.host.map { host in endpoint.port.map { "\(host):\($0)" } ?? host } ?? ""
        var all = headers + [("host", hostHeader)]
        if let body { all.append(("content-length", "\(body.count)")) }
        let payloadHash = body.map { FileDigest.sha256(of: $0) } ?? SigV4Signer.emptyPayloadHash
        all += signer.sign(method: method, path: path, query: query, headers: all, payloadHash: payloadHash,
                           credentials: try await credentials.credentials())
        let queryText = SigV4Signer.canonicalQuery(query)
        let base = endpoint.absoluteString.hasSuffix("/") ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
        var request = HTTPClientRequest(url: base + path + (queryText.isEmpty ? "" : "?" + queryText))
        request.method = HTTPMethod(rawValue: method)
        for (name, value) in all where name != "content-length" {
            request.headers.add(name: name, value: value)
        }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let seconds = timeout.components.seconds
        let response = try await Self.http.execute(request, timeout: .seconds(max(1, seconds)))
        let collected = method == "HEAD" ? ByteBuffer() : try await response.body.collect(upTo: 1 << 30)
        return Response(status: Int(response.status.code), headers: response.headers, body: Data(collected.readableBytesView))
    }

    /// The store error for an unexpected answer, from the S3 error code when there is one.
    private func failure(_ response: Response, method: String, key: String?) -> StoreError {
        let values = S3XML.values(in: response.body)
        let code = values["Error/Code"]?.first ?? "HTTP \(response.status)"
        let message = values["Error/Message"]?.first.map { ": \($0)" } ?? ""
        let target = key.map { "\(bucket)/\($0)" } ?? bucket
        // Temporary credentials say where they came from: the role, not the keys, is then what to fix.
        let origin = credentials.source.keys == nil ? " with credentials from \(credentials.source)" : ""
        switch code {
        case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidToken", "ExpiredToken":
            return .accessDenied(store: storeName, reason: code + message + origin)
        case "NoSuchBucket":
            return .remote(store: storeName, reason: "bucket \(bucket) does not exist; create it first (aws s3 mb s3://\(bucket))")
        default:
            if response.status == 403 { return .accessDenied(store: storeName, reason: code + message + origin) }
            return .remote(store: storeName, reason: "\(method) \(target) failed with \(code)\(message)")
        }
    }
}
