/// The HTTP interface a load test speaks to the server.
public enum LoadProtocol: String, Codable, Sendable, CaseIterable {
    /// `POST /v2/models/{m}/infer` with one BYTES input (KServe Open Inference Protocol v2).
    case kserve
    /// `POST /v1/embeddings` with `{"model", "input"}` (OpenAI).
    case openai
    /// `POST /predictions/{m}` with `{"inputs": [...]}` (the reference system's route).
    case predictions
    /// `GET /v2/health/live`: no inference, to measure the load generator itself.
    case health
}
