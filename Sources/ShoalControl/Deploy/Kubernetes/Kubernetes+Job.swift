extension Kubernetes {
    /// A Job (`batch/v1`): pods run to completion, here `parallelism` of them at once out of `completions`.
    struct Job: Codable, Sendable, Equatable {
        static let kind = "Job"
        var apiVersion = "batch/v1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// How many pods, how many at once, how many retries, and which template.
        struct Spec: Codable, Sendable, Equatable {
            var completions: Int
            var parallelism: Int
            /// `Indexed` gives each pod its number, 0 to completions − 1 (`JOB_COMPLETION_INDEX`); absent: `NonIndexed`.
            var completionMode: String? = nil
            var backoffLimit: Int
            var template: PodTemplate
        }
    }

    /// A Pod (`v1`) on its own: what runtime: podman plays for each pod of a Job, which `kube play` does not run.
    struct Pod: Codable, Sendable, Equatable {
        static let kind = "Pod"
        var apiVersion = "v1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: PodSpec
    }

    /// An environment variable taken from the pod's own fields (the downward API).
    struct EnvVar: Codable, Sendable, Equatable {
        var name: String
        var valueFrom: Source

        /// The field the value comes from.
        struct Source: Codable, Sendable, Equatable {
            var fieldRef: FieldSelector
        }

        /// A field of the pod, `metadata.name`.
        struct FieldSelector: Codable, Sendable, Equatable {
            var fieldPath: String
        }
    }
}
