import Foundation

/// A repository of model versions: `models/NAME/VERSION/` holding the files and `manifest.json`.
///
/// Versions are numbered from 1, published atomically and never changed; `latest` is the highest.
public struct ModelStore: Sendable, CustomStringConvertible {
    /// Where the objects live.
    public let backend: any StoreBackend

    public init(backend: any StoreBackend) {
        self.backend = backend
    }

    /// The store a configuration names, with an S3 client when it is remote.
    public init(configuration: StoreConfiguration) throws(StoreError) {
        switch configuration.location {
        case .folder(let url):
            backend = FileSystemBackend(root: url)
        case .s3(let bucket, let prefix):
            backend = try S3Backend(bucket: bucket, prefix: prefix, configuration: configuration)
        }
    }

    public var description: String { backend.description }

    /// One page of `models(prefix:after:limit:)`: models in listing order, and where the next page starts.
    public struct Page: Sendable {
        /// The page's models, each with its versions lowest first.
        public var models: [ModelVersions]
        /// The `after` of the next page (the last name of this one); `nil` on the last page.
        public var next: String?
    }

    /// The order pages list names in: S3's key order of `NAME/`, so that a folder and a bucket page alike.
    public static func listingOrder(_ first: String, _ second: String) -> Bool {
        Array((first + "/").utf8).lexicographicallyPrecedes(Array((second + "/").utf8))
    }

    /// Names of the models with a published version, sorted; lists the whole store.
    public func names() async throws -> [String] {
        try await backend.catalog().map(\.name).sorted()
    }

    /// Up to `limit` models whose names start with `prefix`, after `after` in `listingOrder`; reads no manifest,
    /// and lists only the page's names and their versions (a folder store reads its one folder of names).
    public func models(prefix: String = "", after: String? = nil, limit: Int) async throws -> Page {
        let (models, more) = try await backend.models(prefix: prefix, after: after, limit: max(1, limit))
        let sorted = models.map { ModelVersions(name: $0.name, versions: ModelReference.sorted($0.versions)) }
        return Page(models: sorted, next: more ? sorted.last?.name ?? after : nil)
    }

    /// Published versions of `name`, lowest first.
    public func versions(of name: String) async throws -> [String] {
        ModelReference.sorted(try await backend.versions(of: name))
    }

    /// The manifest `reference` names, resolving `latest` to the highest version; lists only that model's versions.
    public func manifest(_ reference: ModelReference) async throws -> Manifest {
        let version: String
        if let exact = reference.version {
            version = exact
        } else {
            guard let highest = try await versions(of: reference.name).last else {
                throw StoreError.notFound(reference.name)
            }
            version = highest
        }
        return try await manifest(reference.name, version)
    }

    /// The manifest of `name@version`, read without listing anything.
    private func manifest(_ name: String, _ version: String) async throws -> Manifest {
        let path = Self.folder(name, version) + "/" + Manifest.fileName
        guard let data = try await backend.read(path) else { throw StoreError.notFound("\(name)@\(version)") }
        let manifest = try Manifest.decode(data, path: "\(description)/\(path)")
        guard manifest.name == name, manifest.version == version else {
            throw StoreError.corruptManifest(
                path: "\(description)/\(path)", reason: "it describes \(manifest.id), not \(name)@\(version)")
        }
        return manifest
    }

    /// The latest manifest of every model, by name: one listing of the whole store, then 16 manifests read at once.
    public func latestManifests() async throws -> [Manifest] {
        try await latest().concurrentMap(width: Self.readWidth) { try await self.manifest($0.name, $0.version) }
    }

    /// Manifests read at once when many are needed.
    static let readWidth = 16

    /// The highest published version of every model, sorted by name, from one listing.
    private func latest() async throws -> [(name: String, version: String)] {
        try await backend.catalog().compactMap { model in
            ModelReference.sorted(model.versions).last.map { (model.name, $0) }
        }.sorted { $0.name < $1.name }
    }

    /// Publishes `files` as a new version of `draft.name` (the next number unless `version` is given).
    ///
    /// Hashes every file into the manifest first. Of concurrent publishers of one name, each gets its own
    /// version number; with an explicit `version` that exists already, throws `versionExists`.
    public func publish(_ draft: Manifest, files: [StagedFile], version: String? = nil,
                        progress: TransferProgress? = nil) async throws -> Manifest {
        var manifest = draft
        manifest.files = try files.map { file in
            let (sha256, size) = try FileDigest.sha256(file: file.source)
            return Manifest.File(path: file.path, sha256: sha256, size: size)
        }
        let staged = zip(files, manifest.files).map { StagedFile(path: $0.path, source: $0.source, size: $1.size) }
        var tried = 0  // the last number tried: a number claimed by a publisher that died stays taken
        for _ in 0..<64 {
            if let version {
                manifest.version = version
            } else {
                let highest = try await versions(of: draft.name).last.flatMap { Int($0) } ?? 0
                tried = max(highest, tried) + 1
                manifest.version = String(tried)
            }
            do {
                try await backend.publish(
                    staged, manifest: try manifest.encoded(), at: Self.folder(manifest.name, manifest.version),
                    progress: progress)
                return manifest
            } catch StoreError.versionExists where version == nil {
                continue
            }
        }
        throw StoreError.versionExists("\(draft.name): too many concurrent publishers")
    }

    /// Removes a version; refuses while other models use it as their base, unless `force`.
    public func remove(_ reference: ModelReference, force: Bool = false) async throws -> Manifest {
        let manifest = try await manifest(reference)
        if !force {
            let dependents = try await dependents(of: manifest)
            guard dependents.isEmpty else { throw StoreError.inUse(manifest.id, dependents: dependents) }
        }
        try await backend.remove(Self.folder(manifest.name, manifest.version), files: manifest.files.map(\.path))
        return manifest
    }

    /// Latest versions of other models whose base is `manifest`'s version.
    ///
    /// Reads every latest manifest (16 at once), decoding only its `base`: the base is recorded in its derived
    /// models alone, and a second record kept beside it could go stale. Removing a version is rare.
    public func dependents(of manifest: Manifest) async throws -> [String] {
        struct BaseOnly: Decodable { var base: Manifest.BaseReference? }
        let target = Manifest.BaseReference(name: manifest.name, version: manifest.version)
        let uses = try await latest().concurrentMap(width: Self.readWidth) { model -> String? in
            let path = Self.folder(model.name, model.version) + "/" + Manifest.fileName
            guard let data = try await self.backend.read(path) else { return nil }
            let base = try? ShoalJSON.decoder().decode(BaseOnly.self, from: data).base
            return base == target ? "\(model.name)@\(model.version)" : nil
        }
        return uses.compactMap { $0 }
    }

    /// Checks every file of a version against its manifest's sha256 and size; throws the first mismatch.
    public func verify(_ reference: ModelReference) async throws -> Manifest {
        let manifest = try await manifest(reference)
        if let folder = localFolder(manifest) {
            try VerifiedFiles().verify(manifest, in: folder)
            return manifest
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-verify-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        try await download(manifest, into: scratch)
        return manifest
    }

    /// The version's folder when the store is a local folder; its files can be used in place.
    public func localFolder(_ manifest: Manifest) -> URL? {
        backend.localURL(Self.folder(manifest.name, manifest.version))
    }

    /// Downloads a version's files and manifest into `folder` and checks each file's sha256.
    public func download(_ manifest: Manifest, into folder: URL, progress: TransferProgress? = nil) async throws {
        let total = manifest.totalSize
        var done: Int64 = 0
        let versionFolder = Self.folder(manifest.name, manifest.version)
        for file in manifest.files {
            let before = done
            try await backend.download(
                versionFolder + "/" + file.path, size: file.size, to: folder.appendingPathComponent(file.path)
            ) { copied, _ in progress?(before + copied, total) }
            done += file.size
        }
        try VerifiedFiles().verify(manifest, in: folder)
        try LocalFile.write(try manifest.encoded(), to: folder.appendingPathComponent(Manifest.fileName))
    }

    /// Copies a version (and its base, when `destination` lacks it) into another store under the same number.
    ///
    /// Does nothing when `destination` holds the same bytes already; throws `versionExists` when it holds
    /// other bytes under that number.
    @discardableResult
    public func copy(_ reference: ModelReference, to destination: ModelStore,
                     progress: TransferProgress? = nil) async throws -> Manifest {
        let manifest = try await manifest(reference)
        if let base = manifest.base {
            _ = try await copy(ModelReference(name: base.name, version: base.version), to: destination, progress: progress)
        }
        if let existing = try? await destination.manifest(ModelReference(name: manifest.name, version: manifest.version)) {
            guard existing.contentDigest == manifest.contentDigest else {
                throw StoreError.versionExists("\(manifest.id) in \(destination.description) (with other files)")
            }
            return existing
        }
        let folder: URL
        var scratch: URL?
        if let local = localFolder(manifest) {
            try VerifiedFiles().verify(manifest, in: local)
            folder = local
        } else {
            let temporary = FileManager.default.temporaryDirectory.appendingPathComponent("shoal-copy-\(UUID().uuidString)")
            scratch = temporary
            try await download(manifest, into: temporary, progress: progress)
            folder = temporary
        }
        defer { if let scratch { try? FileManager.default.removeItem(at: scratch) } }
        let files = manifest.files.map { StagedFile(path: $0.path, source: folder.appendingPathComponent($0.path), size: $0.size) }
        return try await destination.publish(manifest, files: files, version: manifest.version, progress: progress)
    }

    static func folder(_ name: String, _ version: String) -> String {
        "models/\(name)/\(version)"
    }
}
