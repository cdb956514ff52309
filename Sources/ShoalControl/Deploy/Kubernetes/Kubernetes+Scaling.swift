extension Kubernetes {
    /// A HorizontalPodAutoscaler (`autoscaling/v2`) on CPU utilisation.
    struct HorizontalPodAutoscaler: Codable, Sendable, Equatable {
        static let kind = "HorizontalPodAutoscaler"
        var apiVersion = "autoscaling/v2"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// What is scaled, between which bounds, on which metrics.
        struct Spec: Codable, Sendable, Equatable {
            var scaleTargetRef: ScaleTarget
            var minReplicas: Int
            var maxReplicas: Int
            var metrics: [Metric]
        }

        /// The scaled object.
        struct ScaleTarget: Codable, Sendable, Equatable {
            var apiVersion: String
            var kind: String
            var name: String
        }

        /// A resource metric and its target.
        struct Metric: Codable, Sendable, Equatable {
            var type = "Resource"
            var resource: ResourceMetric

            /// `cpu` at an average utilisation.
            struct ResourceMetric: Codable, Sendable, Equatable {
                var name: String
                var target: Target
            }

            /// `Utilization` at a percentage.
            struct Target: Codable, Sendable, Equatable {
                var type = "Utilization"
                var averageUtilization: Int
            }
        }
    }

    /// A PodDisruptionBudget (`policy/v1`): how many matching pods may be down at once.
    struct PodDisruptionBudget: Codable, Sendable, Equatable {
        static let kind = "PodDisruptionBudget"
        var apiVersion = "policy/v1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// The most pods unavailable, and which pods.
        struct Spec: Codable, Sendable, Equatable {
            var maxUnavailable: Int
            var selector: LabelSelector
        }
    }
}
