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

extension Kubernetes {
    /// A KEDA ScaledObject (`keda.sh/v1alpha1`): scales a Deployment between `minReplicaCount` and
    /// `maxReplicaCount` on its triggers, here CPU and a Prometheus query.
    struct ScaledObject: Codable, Sendable, Equatable {
        static let kind = "ScaledObject"
        var apiVersion = "keda.sh/v1alpha1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// The scaled Deployment, the bounds and the triggers.
        struct Spec: Codable, Sendable, Equatable {
            var scaleTargetRef: ScaleTarget
            var minReplicaCount: Int
            var maxReplicaCount: Int
            var triggers: [Trigger]
        }

        /// The scaled Deployment.
        struct ScaleTarget: Codable, Sendable, Equatable {
            var apiVersion = "apps/v1"
            var kind = Deployment.kind
            var name: String
        }

        /// One scaler: its type, how its value is read (`Utilization` for CPU) and its settings.
        struct Trigger: Codable, Sendable, Equatable {
            var type: String
            var metricType: String?
            var metadata: [String: String]
        }
    }
}
