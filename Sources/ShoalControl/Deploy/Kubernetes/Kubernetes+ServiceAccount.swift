extension Kubernetes {
    /// A ServiceAccount (`v1`): the identity pods run as, which a cloud's IAM binds a role to.
    struct ServiceAccount: Codable, Sendable, Equatable {
        static let kind = "ServiceAccount"
        var apiVersion = "v1"
        var kind = Self.kind
        var metadata: ObjectMeta
    }
}
