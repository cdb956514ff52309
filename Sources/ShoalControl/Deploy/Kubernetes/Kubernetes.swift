/// The Kubernetes objects `shoal deploy manifests` writes, as Codable values with the API's field names and
/// only the fields it sets; `KubernetesManifests` fills them in and encodes them as YAML.
enum Kubernetes {
    /// Any object of the stream, encoded as the object itself.
    enum Object: Codable, Sendable, Equatable {
        case configMap(ConfigMap)
        case deployment(Deployment)
        case service(Service)
        case autoscaler(HorizontalPodAutoscaler)
        case disruptionBudget(PodDisruptionBudget)
        case job(Job)
        case pod(Pod)
        case serviceAccount(ServiceAccount)
        case httpScaledObject(HTTPScaledObject)
        case scaledObject(ScaledObject)

        /// The object's `kind`.
        var kind: String {
            switch self {
            case .configMap(let object): object.kind
            case .deployment(let object): object.kind
            case .service(let object): object.kind
            case .autoscaler(let object): object.kind
            case .disruptionBudget(let object): object.kind
            case .job(let object): object.kind
            case .pod(let object): object.kind
            case .serviceAccount(let object): object.kind
            case .httpScaledObject(let object): object.kind
            case .scaledObject(let object): object.kind
            }
        }

        func encode(to encoder: any Encoder) throws {
            switch self {
            case .configMap(let object): try object.encode(to: encoder)
            case .deployment(let object): try object.encode(to: encoder)
            case .service(let object): try object.encode(to: encoder)
            case .autoscaler(let object): try object.encode(to: encoder)
            case .disruptionBudget(let object): try object.encode(to: encoder)
            case .job(let object): try object.encode(to: encoder)
            case .pod(let object): try object.encode(to: encoder)
            case .serviceAccount(let object): try object.encode(to: encoder)
            case .httpScaledObject(let object): try object.encode(to: encoder)
            case .scaledObject(let object): try object.encode(to: encoder)
            }
        }

        /// Decodes the object its `kind` names.
        init(from decoder: any Decoder) throws {
            let kind = try decoder.container(keyedBy: KindKey.self).decode(String.self, forKey: .kind)
            switch kind {
            case ConfigMap.kind: self = .configMap(try ConfigMap(from: decoder))
            case Deployment.kind: self = .deployment(try Deployment(from: decoder))
            case Service.kind: self = .service(try Service(from: decoder))
            case HorizontalPodAutoscaler.kind: self = .autoscaler(try HorizontalPodAutoscaler(from: decoder))
            case PodDisruptionBudget.kind: self = .disruptionBudget(try PodDisruptionBudget(from: decoder))
            case Job.kind: self = .job(try Job(from: decoder))
            case Pod.kind: self = .pod(try Pod(from: decoder))
            case ServiceAccount.kind: self = .serviceAccount(try ServiceAccount(from: decoder))
            case HTTPScaledObject.kind: self = .httpScaledObject(try HTTPScaledObject(from: decoder))
            case ScaledObject.kind: self = .scaledObject(try ScaledObject(from: decoder))
            default:
                throw DecodingError.dataCorruptedError(forKey: .kind, in: try decoder.container(keyedBy: KindKey.self),
                                                       debugDescription: "no object of kind \(kind) is written")
            }
        }

        private enum KindKey: String, CodingKey { case kind }
    }

    /// `metadata`: a name and namespace for top-level objects, labels alone for a pod template.
    struct ObjectMeta: Codable, Sendable, Equatable {
        var name: String?
        var namespace: String?
        var labels: [String: String]
        var annotations: [String: String]?
    }

    /// `matchLabels` of a selector.
    struct LabelSelector: Codable, Sendable, Equatable {
        var matchLabels: [String: String]
    }

    /// A ConfigMap (`v1`): files by name.
    struct ConfigMap: Codable, Sendable, Equatable {
        static let kind = "ConfigMap"
        var apiVersion = "v1"
        var kind = Self.kind
        var metadata: ObjectMeta
        var data: [String: String]
    }
}
