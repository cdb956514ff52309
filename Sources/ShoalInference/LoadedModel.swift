import ShoalModels
import Synchronization

/// One model in memory, shared by every name whose files have the same fingerprint.
final class LoadedModel: Sendable {
    /// Identifies the instance: its batching queue and its place in the registry.
    let id: Int
    let model: Model
    let fingerprint: String
    /// The model whose encoder this one runs (a head's base, or its own name): what metrics are labelled by.
    let family: String
    /// Bytes of parameters this instance holds.
    let bytes: Int
    /// Tokens per second of its last batches, smoothed: what a request may ask within its timeout (nil before
    /// the first batch of a useful size).
    let tokensPerSecond = Mutex<Double?>(nil)

    init(id: Int, model: Model, fingerprint: String, family: String) {
        self.id = id
        self.model = model
        self.fingerprint = fingerprint
        self.family = family
        self.bytes = model.parameterBytes
    }
}
