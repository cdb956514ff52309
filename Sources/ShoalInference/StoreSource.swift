import Foundation
import ShoalStore
import ShoalTensor

/// Serves the latest version of every model in a model store, checking each version's sha256 before use.
///
/// A folder store's versions are used in place; a remote store's are downloaded into a size-limited cache.
/// A derived model is located with its base, which the registry loads once for all its heads.
public struct StoreSource: ModelSource {
    public let store: ModelStore
    public let cache: ModelCache?
    private let verified = VerifiedFiles()

    /// A source over `store`; a remote store needs a `cache` to download into.
    public init(store: ModelStore, cache: ModelCache?) throws(StoreError) {
        guard cache != nil || store.backend.localURL("models") != nil else {
            throw .invalidConfiguration(setting: "--cache-dir", reason: "serving from \(store) needs a local cache folder")
        }
        self.store = store
        self.cache = cache
    }

    public func models() async throws -> [ModelDescriptor] {
        try await store.latestManifests().map { ModelDescriptor(name: $0.name, version: $0.version) }
    }

    public func describe(_ name: String) async throws -> ModelDescriptor? {
        guard ModelReference.isValidName(name) else { return nil }
        do {
            let manifest = try await store.manifest(ModelReference(name: name))
            return ModelDescriptor(name: manifest.name, version: manifest.version)
        } catch StoreError.notFound {
            return nil
        }
    }

    public func locate(_ name: String) async throws -> ModelLocation? {
        guard ModelReference.isValidName(name) else { return nil }
        let manifest: Manifest
        do {
            manifest = try await store.manifest(ModelReference(name: name))
        } catch StoreError.notFound {
            return nil
        }
        var location = ModelLocation(
            folder: try await folder(for: manifest), version: manifest.version, fingerprint: manifest.contentDigest)
        if let base = manifest.base {
            let baseManifest = try await store.manifest(ModelReference(name: base.name, version: base.version))
            location.base = SharedBase(
                name: base.name, folder: try await folder(for: baseManifest), fingerprint: baseManifest.contentDigest)
            // A head's outputs depend on its base too.
            location.fingerprint = FileDigest.sha256(of: Data((manifest.contentDigest + baseManifest.contentDigest).utf8))
        }
        return location
    }

    /// The local folder of a version whose files match its manifest; a corrupt cached copy is fetched again once.
    private func folder(for manifest: Manifest) async throws -> URL {
        if let local = store.localFolder(manifest) {
            try await check(manifest, in: local)
            return local
        }
        guard let cache else { throw StoreError.invalidConfiguration(setting: "--cache-dir", reason: "no cache to download into") }
        let cached = try await cache.folder(for: manifest, from: store)
        do {
            try await check(manifest, in: cached)
            return cached
        } catch let error as StoreError {
            switch error {
            case .checksumMismatch, .missingFile:
                cache.discard(manifest, from: store)
                let fresh = try await cache.folder(for: manifest, from: store)
                try await check(manifest, in: fresh)
                return fresh
            default:
                throw error
            }
        }
    }

    private func check(_ manifest: Manifest, in folder: URL) async throws {
        let verified = verified
        try await Thread.run(named: "shoal-verify") { try verified.verify(manifest, in: folder) }
    }
}
