extension Kubernetes {
    /// A Deployment (`apps/v1`).
    struct Deployment: Codable, Sendable, Equatable {
        static let kind = "Deployment"
        var apiVersion = "apps/v1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var spec: Spec

        /// How many pods of which template; no count when an autoscaler owns it (a serverless group's).
        struct Spec: Codable, Sendable, Equatable {
            var replicas: Int?
            var selector: LabelSelector
            var template: PodTemplate
        }
    }

    /// A pod template: its labels and its pod.
    struct PodTemplate: Codable, Sendable, Equatable {
        var metadata: ObjectMeta
        var spec: PodSpec
    }

    /// A pod: its containers and volumes, where it may run and how long it gets to stop.
    struct PodSpec: Codable, Sendable, Equatable {
        var containers: [Container]
        var volumes: [Volume]
        var nodeSelector: [String: String]?
        var tolerations: [Toleration]?
        var terminationGracePeriodSeconds: Int?
        /// The ServiceAccount the pod runs as (the servers': the identity an IAM role is bound to).
        var serviceAccountName: String?
        /// Whether the pod shares the node's network (set only for podman, which has no Services).
        var hostNetwork: Bool?
        /// `Never` for the pods of a Job; unset (`Always`) for a Deployment's.
        var restartPolicy: String?
    }

    /// A taint a pod tolerates, so that it may run on nodes that carry it.
    struct Toleration: Codable, Sendable, Equatable {
        var key: String
        var `operator`: String
        var value: String
        var effect: String
    }

    /// A container of a pod.
    struct Container: Codable, Sendable, Equatable {
        var name: String
        var image: String
        var command: [String]
        var args: [String]
        var ports: [ContainerPort]?
        var resources: Resources
        var startupProbe: Probe?
        var readinessProbe: Probe?
        var livenessProbe: Probe?
        var securityContext: SecurityContext
        var env: [EnvVar]?
        var envFrom: [EnvFromSource]?
        var volumeMounts: [VolumeMount]
    }

    /// A named port a container listens on.
    struct ContainerPort: Codable, Sendable, Equatable {
        var name: String
        var containerPort: Int
    }

    /// Requests and limits by resource name (`cpu: 1400m`, `memory: 586Mi`).
    struct Resources: Codable, Sendable, Equatable {
        var requests: [String: String]
        var limits: [String: String]
    }

    /// An HTTP GET probe.
    struct Probe: Codable, Sendable, Equatable {
        var httpGet: HTTPGetAction
        var periodSeconds: Int
        var failureThreshold: Int

        /// The path and port probed.
        struct HTTPGetAction: Codable, Sendable, Equatable {
            var path: String
            var port: Int
        }
    }

    /// Who a container runs as and what it may do.
    struct SecurityContext: Codable, Sendable, Equatable {
        var allowPrivilegeEscalation: Bool
        var readOnlyRootFilesystem: Bool
        var runAsNonRoot: Bool
        var runAsUser: Int
        var runAsGroup: Int
        var capabilities: Capabilities

        /// Linux capabilities dropped.
        struct Capabilities: Codable, Sendable, Equatable {
            var drop: [String]
        }
    }

    /// Environment variables from a Secret.
    struct EnvFromSource: Codable, Sendable, Equatable {
        var secretRef: SecretReference

        /// The Secret, and whether the pod starts without it.
        struct SecretReference: Codable, Sendable, Equatable {
            var name: String
            var optional: Bool
        }
    }

    /// Where a volume appears in a container.
    struct VolumeMount: Codable, Sendable, Equatable {
        var name: String
        var mountPath: String
        var readOnly: Bool?
    }

    /// A pod's volume: exactly one of its sources is set.
    struct Volume: Codable, Sendable, Equatable {
        var name: String
        var emptyDir: EmptyDir?
        var persistentVolumeClaim: PersistentVolumeClaimSource?
        var configMap: ConfigMapSource?
        /// A folder of the node (set only for podman, where the node is this machine).
        var hostPath: HostPathSource?

        /// Scratch space that lives as long as the pod.
        struct EmptyDir: Codable, Sendable, Equatable {
            var sizeLimit: String
        }

        /// A claimed persistent volume.
        struct PersistentVolumeClaimSource: Codable, Sendable, Equatable {
            var claimName: String
            var readOnly: Bool
        }

        /// A ConfigMap's files.
        struct ConfigMapSource: Codable, Sendable, Equatable {
            var name: String
        }

        /// A folder of the node, and what it must be (`Directory`: an existing folder).
        struct HostPathSource: Codable, Sendable, Equatable {
            var path: String
            var type: String
        }
    }
}
