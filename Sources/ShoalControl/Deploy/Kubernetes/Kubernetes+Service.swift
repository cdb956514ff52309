extension Kubernetes {
    /// A Service (`v1`): a stable address for the pods its selector matches.
    struct Service: Codable, Sendable, Equatable {
        static let kind = "Service"
        var apiVersion = "v1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// The pods served and the ports.
        struct Spec: Codable, Sendable, Equatable {
            var selector: [String: String]
            var ports: [Port]
        }

        /// A port of the Service and the named container port it forwards to.
        struct Port: Codable, Sendable, Equatable {
            var name: String
            var port: Int
            var targetPort: String
            var `protocol`: String
        }
    }
}
