import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Runs texts through a model of a Shoal server or gateway at a URL, with KServe v2 requests
/// (`POST /v2/models/NAME/infer`), which answer embeddings and classifications alike.
public struct HTTPBackend: BatchBackend {
    private let url: String
    private let model: String
    private let headers: HTTPHeaders
    /// `embedding` or `classification`, from the model's metadata.
    public let task: String
    /// Tries of one request that the server answered 429 or 503 or that could not connect.
    private static let attempts = 8

    /// The backend of model `model` at `url`; asks the server what the model computes first, so that an unknown
    /// model or an unreachable server fails before any record is read.
    public init(url: String, model: String, apiKey: String? = nil) async throws {
        self.url = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.model = model
        var headers = HTTPHeaders([("content-type", "application/json")])
        if let apiKey { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        self.headers = headers
        let path = "/v2/models/\(model)"
        let (status, body) = try await Self.send(.GET, url: self.url + path, headers: headers, body: nil)
        guard status == 200, let metadata = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let outputs = metadata["outputs"] as? [[String: Any]] else {
            throw BatchError.inference("\(self.url)\(path) answered \(status): \(Self.message(body))")
        }
        task = outputs.contains { $0["name"] as? String == "embedding" } ? "embedding" : "classification"
    }

    public func predict(_ texts: [String]) async throws -> [BatchPrediction] {
        let request: [String: Any] = ["inputs": [["name": "text", "shape": [texts.count], "datatype": "BYTES", "data": texts]]]
        let body = try JSONSerialization.data(withJSONObject: request)
        let target = "\(url)/v2/models/\(model)/infer"
        var delay = 0.2
        for attempt in 1...Self.attempts {
            let answer: (Int, Data)
            do {
                answer = try await Self.send(.POST, url: target, headers: headers, body: body)
            } catch where attempt < Self.attempts && !(error is CancellationError) {
                // A lost or refused connection: the server may be restarting.
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 10)
                continue
            }
            let (status, response) = answer
            switch status {
            case 200:
                return try Self.predictions(response, count: texts.count, target: target)
            case 400, 413, 422:
                throw BatchRefusal(reason: Self.message(response))
            case 429 where attempt < Self.attempts, 503 where attempt < Self.attempts:
                try await Task.sleep(for: .seconds(delay))
                delay = min(delay * 2, 10)
            default:
                throw BatchError.inference("\(target) answered \(status): \(Self.message(response))")
            }
        }
        throw BatchError.inference("\(target) was overloaded or unreachable \(Self.attempts) times")
    }

    private static func send(_ method: HTTPMethod, url: String, headers: HTTPHeaders, body: Data?) async throws -> (Int, Data) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = headers
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(300))
        let bytes = try await response.body.collect(upTo: 1 << 30)
        return (Int(response.status.code), Data(bytes.readableBytesView))
    }

    private static func predictions(_ body: Data, count: Int, target: String) throws -> [BatchPrediction] {
        guard let answer = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
              let outputs = answer["outputs"] as? [[String: Any]] else {
            throw BatchError.inference("\(target) answered no KServe outputs")
        }
        func floats(_ name: String) -> [[Float]]? {
            guard let output = outputs.first(where: { $0["name"] as? String == name }),
                  let data = output["data"] as? [NSNumber], count > 0, data.count % count == 0 else { return nil }
            let width = data.count / count
            return (0..<count).map { row in data[(row * width)..<((row + 1) * width)].map(\.floatValue) }
        }
        if let vectors = floats("embedding") { return vectors.map { .embedding($0) } }
        guard let probabilities = floats("probabilities"),
              let labels = outputs.first(where: { $0["name"] as? String == "label" })?["data"] as? [String],
              labels.count == count else {
            throw BatchError.inference("\(target) answered outputs of another shape than \(count) rows")
        }
        return zip(labels, probabilities).map { .classification(label: $0, probabilities: $1) }
    }

    private static func message(_ body: Data) -> String {
        (try? JSONSerialization.jsonObject(with: body) as? [String: Any])?["error"] as? String
            ?? String(decoding: body.prefix(500), as: UTF8.self)
    }
}
