extension Kubernetes {
    /// An HTTPScaledObject of the KEDA HTTP add-on (`http.keda.sh/v1alpha1`): scales a Deployment between
    /// `replicas.min` (0: scale to zero) and `replicas.max` by the requests its interceptor proxy sees for
    /// `hosts`, holding them while the Deployment scales up from zero.
    struct HTTPScaledObject: Codable, Sendable, Equatable {
        static let kind = "HTTPScaledObject"
        var apiVersion = "http.keda.sh/v1alpha1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// The hosts routed, the workload and Service scaled, the bounds and the idle time before scaling to zero.
        struct Spec: Codable, Sendable, Equatable {
            var hosts: [String]
            var scaleTargetRef: ScaleTarget
            var replicas: Replicas
            /// Seconds without traffic before the Deployment is scaled to `replicas.min`.
            var scaledownPeriod: Int
        }

        /// The scaled Deployment and the Service and port the interceptor forwards to.
        struct ScaleTarget: Codable, Sendable, Equatable {
            var apiVersion = "apps/v1"
            var kind = Deployment.kind
            var name: String
            var service: String
            var port: Int
        }

        /// The fewest and most replicas.
        struct Replicas: Codable, Sendable, Equatable {
            var min: Int
            var max: Int
        }
    }
}
