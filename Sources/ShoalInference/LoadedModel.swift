import ShoalModels

/// One model in memory, shared by every name whose files have the same fingerprint.
final class LoadedModel: Sendable {
    /// Identifies the instance's batching queue.
    let id: Int
    let model: Model
    let fingerprint: String
    /// Bytes of parameters this instance holds.
    let bytes: Int

    init(id: Int, model: Model, fingerprint: String) {
        self.id = id
        self.model = model
        self.fingerprint = fingerprint
        self.bytes = model.parameterBytes
    }
}
