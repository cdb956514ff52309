import Foundation

/// Reports bytes moved so far out of a total; called often, from any thread.
public typealias TransferProgress = @Sendable (_ done: Int64, _ total: Int64) -> Void

/// A file to publish: its path inside the version folder and where its bytes are now.
public struct StagedFile: Sendable {
    public var path: String
    public var source: URL
    public var size: Int64

    public init(path: String, source: URL, size: Int64) {
        self.path = path
        self.source = source
        self.size = size
    }
}

/// A model's name and its published version numbers.
public struct ModelVersions: Sendable, Equatable {
    public var name: String
    public var versions: [String]

    public init(name: String, versions: [String]) {
        self.name = name
        self.versions = versions
    }
}

/// Where a store keeps its objects; paths are `/`-separated and relative to the store's root.
///
/// A backend publishes a version atomically: readers see all of its files and its manifest, or none.
public protocol StoreBackend: Sendable {
    /// The store's address, for messages (`/srv/store`, `s3://bucket/prefix`).
    var description: String { get }
    /// Every model with at least one published version, with those versions (in any order).
    func catalog() async throws -> [ModelVersions]
    /// Up to `limit` models whose names start with `prefix` and come after `after` in listing order (see
    /// `ModelStore.listingOrder`), with their published versions; `more` when the listing goes on. Reads no manifest.
    func models(prefix: String, after: String?, limit: Int) async throws -> (models: [ModelVersions], more: Bool)
    /// Published versions of `name`, in any order.
    func versions(of name: String) async throws -> [String]
    /// The bytes at `path`, or `nil` when there is no such object.
    func read(_ path: String) async throws -> Data?
    /// Copies the object at `path` (of `size` bytes) into the local file `destination`.
    func download(_ path: String, size: Int64, to destination: URL, progress: TransferProgress?) async throws
    /// Publishes `files` and then `manifest` under `folder` (`models/NAME/VERSION`); throws `versionExists`.
    func publish(_ files: [StagedFile], manifest: Data, at folder: String, progress: TransferProgress?) async throws
    /// Unpublishes the version at `folder` (its manifest first), then deletes `files` there.
    func remove(_ folder: String, files: [String]) async throws
    /// The local file of `path` when the backend is a local folder, else `nil`.
    func localURL(_ path: String) -> URL?
    /// Stores `data` as a new object at `path` (outside `models/`); throws `objectExists` rather than replace one.
    func write(_ data: Data, to path: String) async throws
    /// Paths of the objects directly inside `folder`, sorted; none when there is no such folder.
    func list(_ folder: String) async throws -> [String]
}
