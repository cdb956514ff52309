import Foundation

/// A store in an S3 bucket under a key prefix: files are uploaded first and the manifest last, so a
/// version exists for readers exactly when its manifest does.
///
/// S3 has no rename, so a publisher first claims the version's folder with a conditional write of an empty
/// claim object: of concurrent publishers of one version only one uploads files there. A publisher killed
/// after its claim leaves that version number unused.
public struct S3Backend: StoreBackend {
    /// The claim object in a version's folder.
    static let claimName = ".publishing"

    public let bucket: String
    public let prefix: String
    let client: S3Client
    let multipartThreshold: Int64
    let partSize: Int64

    public init(bucket: String, prefix: String, configuration: StoreConfiguration) throws(StoreError) {
        try configuration.validate()
        self.bucket = bucket
        self.prefix = prefix
        let name = "s3://\(bucket)" + (prefix.isEmpty ? "" : "/\(prefix)")
        client = try S3Client(bucket: bucket, configuration: configuration, storeName: name)
        multipartThreshold = configuration.multipartThreshold
        partSize = configuration.partSize
    }

    public var description: String { client.storeName }

    /// One listing of every key under `models/`.
    public func catalog() async throws -> [ModelVersions] {
        Dictionary(grouping: try await publishedVersions(under: "models/"), by: \.name)
            .map { ModelVersions(name: $0.key, versions: $0.value.map(\.version)) }
    }

    /// ListObjectsV2 with delimiter `/` lists names as common prefixes, `max-keys` at a time, from `start-after`;
    /// then each name's versions are listed, 16 names at once, to leave out names without a published version.
    public func models(prefix: String, after: String?, limit: Int) async throws -> (models: [ModelVersions], more: Bool) {
        let root = key("models/")
        // The first key past every key under `models/AFTER/`: '0' follows '/'.
        let startAfter = after.map { root + $0 + "0" }
        var found: [ModelVersions] = []
        var token: String?
        while found.count < limit {
            let page = try await client.listPage(
                prefix: root + prefix, delimiter: "/", startAfter: token == nil ? startAfter : nil,
                maxKeys: min(1000, limit - found.count), token: token)
            let names = page.prefixes.filter { $0.hasPrefix(root) && $0.hasSuffix("/") }
                .map { String($0.dropFirst(root.count).dropLast()) }
            let listed = try await names.concurrentMap(width: 16) { name in
                ModelVersions(name: name, versions: try await self.versions(of: name))
            }
            found += listed.filter { !$0.versions.isEmpty }
            guard let next = page.nextToken else { return (found, false) }
            token = next
        }
        return (found, true)
    }

    public func versions(of name: String) async throws -> [String] {
        try await publishedVersions(under: "models/\(name)/").filter { $0.name == name }.map(\.version)
    }

    public func read(_ path: String) async throws -> Data? {
        try await client.get(key(path))
    }

    public func download(_ path: String, size: Int64, to destination: URL, progress: TransferProgress?) async throws {
        try await client.download(key(path), size: size, partSize: partSize, to: destination, progress: progress)
    }

    public func publish(_ files: [StagedFile], manifest: Data, at folder: String, progress: TransferProgress?) async throws {
        let manifestKey = key(folder + "/" + Manifest.fileName)
        let version = folder.split(separator: "/").suffix(2).joined(separator: "@")
        if try await client.exists(manifestKey) { throw StoreError.versionExists(version) }
        do {
            try await client.put(key(folder + "/" + Self.claimName), data: Data(), ifAbsent: true)
        } catch StoreError.versionExists {
            throw StoreError.versionExists(version)
        }
        let total = files.reduce(0) { $0 + $1.size }
        var done: Int64 = 0
        for file in files {
            let before = done
            try await client.upload(
                file.source, size: file.size, to: key(folder + "/" + file.path), threshold: multipartThreshold,
                partSize: partSize) { sent, _ in progress?(before + sent, total) }
            done += file.size
        }
        do {
            // If-None-Match: the claim already keeps other publishers out; this guards against a claim
            // removed while the files went up.
            try await client.put(manifestKey, data: manifest, ifAbsent: true)
        } catch StoreError.versionExists {
            throw StoreError.versionExists(version)
        }
    }

    public func remove(_ folder: String, files: [String]) async throws {
        try await client.delete(key(folder + "/" + Manifest.fileName))
        for file in files {
            try await client.delete(key(folder + "/" + file))
        }
        try await client.delete(key(folder + "/" + Self.claimName))
    }

    public func localURL(_ path: String) -> URL? { nil }

    public func write(_ data: Data, to path: String) async throws {
        do {
            try await client.put(key(path), data: data, ifAbsent: true)
        } catch StoreError.versionExists {
            throw StoreError.objectExists("\(description)/\(path)")
        }
    }

    public func list(_ folder: String) async throws -> [String] {
        let root = key(folder.hasSuffix("/") ? folder : folder + "/")
        let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        return try await client.list(prefix: root).compactMap { fullKey in
            let name = fullKey.dropFirst(root.count)
            return name.isEmpty || name.contains("/") ? nil : base + "/" + name
        }.sorted()
    }

    /// Creates the bucket when it does not exist.
    public func createBucket() async throws {
        try await client.createBucket()
    }

    /// (name, version) of every manifest under a path.
    private func publishedVersions(under path: String) async throws -> [(name: String, version: String)] {
        let root = key("models/")
        return try await client.list(prefix: key(path)).compactMap { fullKey in
            guard fullKey.hasPrefix(root) else { return nil }
            let parts = fullKey.dropFirst(root.count).split(separator: "/")
            guard parts.count == 3, parts[2] == Manifest.fileName else { return nil }
            return (String(parts[0]), String(parts[1]))
        }
    }

    func key(_ path: String) -> String {
        prefix.isEmpty ? path : prefix + "/" + path
    }
}
