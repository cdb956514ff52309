/// eksctl's cluster definition (`ClusterConfig`, apiVersion `eksctl.io/v1alpha5`) as Codable values with
/// eksctl's field names and only the fields `shoal provision` sets.
public struct EKSClusterConfig: Codable, Sendable, Equatable {
    var apiVersion = "eksctl.io/v1alpha5"
    var kind = "ClusterConfig"
    var metadata: Metadata
    var iam: IAM
    var addons: [Addon]
    var managedNodeGroups: [ManagedNodeGroup]

    /// The cluster's name, region and Kubernetes version (absent: eksctl's default).
    struct Metadata: Codable, Sendable, Equatable {
        var name: String
        var region: String
        var version: String?
    }

    /// The OIDC provider IAM roles for service accounts need, and those roles.
    struct IAM: Codable, Sendable, Equatable {
        var withOIDC: Bool
        var serviceAccounts: [ServiceAccount]?
    }

    /// A Kubernetes ServiceAccount eksctl creates, annotated with an IAM role holding `attachPolicy`.
    struct ServiceAccount: Codable, Sendable, Equatable {
        var metadata: Name
        var attachPolicy: PolicyDocument

        /// The account's name and namespace.
        struct Name: Codable, Sendable, Equatable {
            var name: String
            var namespace: String
        }
    }

    /// An IAM policy document, with AWS's capitalised keys.
    struct PolicyDocument: Codable, Sendable, Equatable {
        var version = "2012-10-17"
        var statement: [Statement]

        /// One permission.
        struct Statement: Codable, Sendable, Equatable {
            var effect = "Allow"
            var action: [String]
            var resource: [String]
            var condition: [String: [String: [String]]]?

            enum CodingKeys: String, CodingKey {
                case effect = "Effect", action = "Action", resource = "Resource", condition = "Condition"
            }
        }

        enum CodingKeys: String, CodingKey {
            case version = "Version", statement = "Statement"
        }
    }

    /// An EKS add-on, at the version eksctl chooses.
    struct Addon: Codable, Sendable, Equatable {
        var name: String
    }

    /// A node group whose instances EKS manages.
    struct ManagedNodeGroup: Codable, Sendable, Equatable {
        var name: String
        var instanceType: String
        var amiFamily: String
        var minSize: Int
        var maxSize: Int
        var desiredCapacity: Int
        var labels: [String: String]
        var taints: [Taint]?
    }

    /// A taint on every node of a group.
    struct Taint: Codable, Sendable, Equatable {
        var key: String
        var value: String
        var effect: String
    }
}
