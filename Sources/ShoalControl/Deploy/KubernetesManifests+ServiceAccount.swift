extension KubernetesManifests {
    /// The ServiceAccount the server pods run as (`kubernetes.service_account`), with
    /// `kubernetes.service_account_annotations`: the identity an IAM role is bound to, so that servers read an
    /// S3 store without static keys. With IRSA the annotation `eks.amazonaws.com/role-arn` names the role; with
    /// EKS Pod Identity none is needed, the association naming this account is made on the cluster's side.
    func serviceAccount() -> Kubernetes.ServiceAccount {
        var metadata = metadata(configuration.kubernetes.serviceAccount, component: "server", group: nil)
        let annotations = configuration.kubernetes.serviceAccountAnnotations
        metadata.annotations = annotations.isEmpty ? nil : annotations
        return Kubernetes.ServiceAccount(metadata: metadata)
    }
}
