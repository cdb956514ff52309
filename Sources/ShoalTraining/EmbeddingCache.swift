import Foundation
import ShoalStore

/// Pooled embeddings of texts under one base model, kept in the store so that they are computed once.
///
/// Entries live in `embeddings/<base digest>/` as chunk files written as the encoder goes (a run killed
/// midway keeps every finished chunk); a chunk is named by the sha256 of its texts' keys, so two writers of
/// the same texts write the same object. A chunk holds `SHOALEMB`, the dimensions and the count (two
/// little-endian `UInt32`), then for each entry its 64-character hex key and its float32 vector.
public struct EmbeddingCache: Sendable {
    static let magic = Array("SHOALEMB".utf8)

    public let store: ModelStore
    /// The store folder of this base's entries.
    public let folder: String
    public let dimensions: Int

    /// The cache of `base`'s embeddings, keyed by its files' content digest (a re-import of the same files
    /// shares it, another model never does).
    public init(store: ModelStore, base: Manifest) {
        self.store = store
        folder = "embeddings/\(base.contentDigest)"
        dimensions = base.dimensions
    }

    /// The key of a text: the sha256 of its UTF-8 bytes.
    public static func key(_ text: String) -> String {
        FileDigest.sha256(of: Data(text.utf8))
    }

    /// Every cached entry, by key.
    public func load() async throws -> [String: [Float]] {
        var entries: [String: [Float]] = [:]
        for path in try await store.backend.list(folder) where path.hasSuffix(".bin") {
            guard let data = try await store.backend.read(path) else { continue }
            try decode(data, path: path) { entries[$0] = $1 }
        }
        return entries
    }

    /// Writes one chunk of entries.
    public func write(_ entries: [(key: String, vector: [Float])]) async throws {
        guard !entries.isEmpty else { return }
        var bytes = Self.magic
        withUnsafeBytes(of: UInt32(dimensions).littleEndian) { bytes += $0 }
        withUnsafeBytes(of: UInt32(entries.count).littleEndian) { bytes += $0 }
        for entry in entries {
            guard entry.vector.count == dimensions, entry.key.utf8.count == 64 else {
                throw StoreError.invalidModel(source: folder, reason: "an embedding has \(entry.vector.count) values, not the base's \(dimensions)")
            }
            bytes += Array(entry.key.utf8)
            entry.vector.withUnsafeBytes { bytes += $0 }
        }
        let name = FileDigest.sha256(of: Data(entries.map(\.key).joined().utf8))
        do {
            try await store.backend.write(Data(bytes), to: "\(folder)/\(name).bin")
        } catch StoreError.objectExists {
            // The same texts were cached by another run: the object holds the same vectors.
        }
    }

    private func decode(_ data: Data, path: String, _ entry: (String, [Float]) -> Void) throws {
        let header = Self.magic.count + 8
        let bytes = [UInt8](data)
        let corrupt = StoreError.cannotRead(path: path, reason: "not an embedding cache chunk; remove it to recompute its entries")
        guard bytes.count >= header, Array(bytes.prefix(Self.magic.count)) == Self.magic else { throw corrupt }
        let value = { (offset: Int) in bytes[offset..<offset + 4].withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self)) } }
        let (width, count) = (Int(value(Self.magic.count)), Int(value(Self.magic.count + 4)))
        let stride = 64 + 4 * width
        guard width == dimensions, bytes.count == header + count * stride else { throw corrupt }
        bytes.withUnsafeBytes { raw in
            for index in 0..<count {
                let start = header + index * stride
                let key = String(decoding: raw[start..<start + 64], as: UTF8.self)
                let vector = (0..<width).map { raw.loadUnaligned(fromByteOffset: start + 64 + 4 * $0, as: Float.self) }
                entry(key, vector)
            }
        }
    }
}
