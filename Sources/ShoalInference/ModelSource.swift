import Foundation

/// A model a source can serve.
public struct ModelDescriptor: Sendable, Hashable, Codable {
    /// The name requests use.
    public var name: String
    /// The version served under that name.
    public var version: String

    public init(name: String, version: String = "1") {
        self.name = name
        self.version = version
    }
}

/// Where the files of one model lie on this machine.
public struct ModelLocation: Sendable, Hashable {
    /// A Hugging Face model folder: config.json, model.safetensors, tokenizer.json.
    public var folder: URL
    /// The version these files are.
    public var version: String
    /// The sha256 identity of the files, when the source already knows it (a store's manifest does).
    public var fingerprint: String?
    /// For a classifier head over another model's encoder: that model, loaded once for all its heads;
    /// `folder` then holds `head.json` and `head.safetensors` (see `Model(base:head:)`).
    public var base: SharedBase?

    public init(folder: URL, version: String = "1", fingerprint: String? = nil, base: SharedBase? = nil) {
        self.folder = folder
        self.version = version
        self.fingerprint = fingerprint
        self.base = base
    }
}

/// The embedding model whose encoder a head shares.
public struct SharedBase: Sendable, Hashable {
    /// Its name in the source.
    public var name: String
    /// Its Hugging Face model folder.
    public var folder: URL
    /// The sha256 identity of its files; one instance is loaded per fingerprint.
    public var fingerprint: String

    public init(name: String, folder: URL, fingerprint: String) {
        self.name = name
        self.folder = folder
        self.fingerprint = fingerprint
    }
}

/// Where the engine finds models: a folder of model folders now, a model store later.
public protocol ModelSource: Sendable {
    /// Every model the source can serve now.
    func models() async throws -> [ModelDescriptor]
    /// The model `name` names, `nil` when the source has none: one lookup, whatever the number of models.
    func describe(_ name: String) async throws -> ModelDescriptor?
    /// Makes the files of `name` available locally; `nil` when the source has no such model.
    func locate(_ name: String) async throws -> ModelLocation?
}
