import Foundation

/// Which servers serve each model, from a placement plan: the gateway's routing table.
public struct GatewayRoutes: Sendable, Equatable {
    /// The base URL of every group serving a model, in plan order.
    public var replicas: [String: [String]]
    /// The serverless groups by base URL: started on demand and stopped when idle.
    public var serverless: [String: ServerlessRoute] = [:]

    /// A serverless group behind one base URL.
    public struct ServerlessRoute: Sendable, Equatable {
        public var group: String
        public var settings: PlacementPlan.Serverless

        public init(group: String, settings: PlacementPlan.Serverless) {
            self.group = group
            self.settings = settings
        }
    }

    /// Groups listening on `host`, each on its own port.
    public init(plan: PlacementPlan, host: String) {
        self.init(plan: plan, groupURL: "http://\(host):{port}")
    }

    /// Groups at `groupURL` with `{group}` and `{port}` replaced by each group's name and port, such as
    /// `http://shoal-{group}:{port}` for the Services of `shoal deploy manifests`.
    public init(plan: PlacementPlan, groupURL: String) {
        var replicas: [String: [String]] = [:]
        for group in plan.groups {
            let url = groupURL.replacingOccurrences(of: "{group}", with: group.name)
                .replacingOccurrences(of: "{port}", with: String(group.port))
            for placement in group.placements {
                replicas[placement.model, default: []].append(url)
            }
            if let settings = group.serverless { serverless[url] = ServerlessRoute(group: group.name, settings: settings) }
        }
        self.replicas = replicas
    }

    /// The model a request is for: from `/v2/models/{m}/…`, `/predictions/{m}`, or the `model` field of an
    /// OpenAI `/v1/embeddings` body; nil for requests that name no model.
    public static func model(path: String, body: Data) -> String? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        if parts.count >= 3, parts[0] == "v2", parts[1] == "models" { return parts[2] }
        if parts.count >= 2, parts[0] == "predictions" { return parts[1] }
        if parts == ["v1", "embeddings"] {
            let object = try? JSONSerialization.jsonObject(with: body) as? [String: Any]
            return object?["model"] as? String
        }
        return nil
    }
}
