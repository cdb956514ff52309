import AsyncHTTPClient
import Foundation

/// Builds the HTTP request of every request number: which model, which texts, in which protocol. Bodies are
/// encoded once up front, so the loop spends its time sending, not encoding.
struct LoadRequestFactory: Sendable {
    let settings: LoadSettings
    private let bodies: [[[UInt8]]]  // [model][text cycle position]
    private let paths: [String]
    private let base: String

    init(settings: LoadSettings) throws {
        self.settings = settings
        var base = settings.url
        while base.hasSuffix("/") { base.removeLast() }
        self.base = base
        guard !settings.models.isEmpty || settings.protocol == .health else {
            throw ControlError.loadTest("no models to test: list them under `models` in shoal.yaml or pass --model NAME")
        }
        let models = settings.models.isEmpty ? ["-"] : settings.models
        let mix = RequestMix(settings.mix)
        let cycle = mix.texts.count
        paths = models.map { Self.path(settings.protocol, model: $0) }
        bodies = try models.map { model in
            try (0..<cycle).map { position in
                let texts = (0..<settings.batch).map { mix.text(position + $0) }
                return [UInt8](try Self.body(settings.protocol, model: model, texts: texts))
            }
        }
    }

    var modelCount: Int { bodies.count }

    func modelName(_ model: Int) -> String { settings.models.isEmpty ? "-" : settings.models[model] }

    /// The request for request number `index` to model number `model`.
    func request(index: Int, model: Int) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: base + paths[model])
        if settings.protocol == .health {
            request.method = .GET
            return request
        }
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        let body = bodies[model][index % bodies[model].count]
        request.body = .bytes(body)
        return request
    }

    static func path(_ protocol: LoadProtocol, model: String) -> String {
        let escaped = model.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? model
        switch `protocol` {
        case .kserve: return "/v2/models/\(escaped)/infer"
        case .openai: return "/v1/embeddings"
        case .predictions: return "/predictions/\(escaped)"
        case .health: return "/v2/health/live"
        }
    }

    static func body(_ protocol: LoadProtocol, model: String, texts: [String]) throws -> Data {
        let object: [String: Any]
        switch `protocol` {
        case .kserve:
            object = ["inputs": [["name": "text", "shape": [texts.count], "datatype": "BYTES", "data": texts]]]
        case .openai:
            object = ["model": model, "input": texts]
        case .predictions:
            object = ["inputs": texts]
        case .health:
            return Data()
        }
        return try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    }
}
