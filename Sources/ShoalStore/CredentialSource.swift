import Foundation

/// Where S3 credentials come from, chosen from the environment as the AWS SDKs' default chain chooses, without
/// network I/O: fixed keys in the environment, IRSA's web identity, container credentials (EKS Pod Identity,
/// ECS), then the shared credentials file. Temporary credentials are fetched by the first request that needs them.
public enum CredentialSource: Sendable, Hashable, CustomStringConvertible {
    /// Fixed keys from the environment or the shared credentials file.
    case keys(AWSCredentials)
    /// IRSA: the token in `tokenFile` (which the kubelet rotates) exchanged at STS (`sts`) for `roleARN`'s keys.
    case webIdentity(roleARN: String, tokenFile: String, sessionName: String?, sts: URL)
    /// EKS Pod Identity or ECS: keys served as JSON at `url`, with the `Authorization` header read from
    /// `tokenFile` (on every fetch, since it rotates) or else `token`.
    case container(url: URL, tokenFile: String?, token: String?)

    /// The link-local hosts of the ECS and EKS Pod Identity agents, which may serve credentials over plain HTTP.
    static let agentHosts: Set<String> = ["169.254.170.2", "169.254.170.23", "fd00:ec2::23", "[fd00:ec2::23]"]

    /// The first source the environment names, in the SDKs' order; `nil` when none does. Throws only for a
    /// malformed endpoint variable.
    public static func find(environment: [String: String], region: String) throws(StoreError) -> CredentialSource? {
        func value(_ name: String) -> String? {
            environment[name].flatMap { $0.isEmpty ? nil : $0 }
        }
        if let key = value("AWS_ACCESS_KEY_ID"), let secret = value("AWS_SECRET_ACCESS_KEY") {
            return .keys(AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: value("AWS_SESSION_TOKEN")))
        }
        if let role = value("AWS_ROLE_ARN"), let tokenFile = value("AWS_WEB_IDENTITY_TOKEN_FILE") {
            let setting = value("AWS_ENDPOINT_URL_STS") != nil ? "AWS_ENDPOINT_URL_STS" : "AWS_ENDPOINT_URL"
            let sts: URL
            if let text = value(setting) {
                sts = try httpURL(text, setting: setting)
            } else {
                sts = try stsEndpoint(region: region)
            }
            return .webIdentity(roleARN: role, tokenFile: tokenFile, sessionName: value("AWS_ROLE_SESSION_NAME"), sts: sts)
        }
        let tokenFile = value("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), token = value("AWS_CONTAINER_AUTHORIZATION_TOKEN")
        if let relative = value("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") {
            let path = relative.hasPrefix("/") ? relative : "/" + relative
            let url = try httpURL("http://169.254.170.2" + path, setting: "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            return .container(url: url, tokenFile: tokenFile, token: token)
        }
        if let full = value("AWS_CONTAINER_CREDENTIALS_FULL_URI") {
            let url = try httpURL(full, setting: "AWS_CONTAINER_CREDENTIALS_FULL_URI")
            // As the SDKs: plain HTTP only to the agents' link-local addresses or this host, lest keys travel in clear.
            guard url.scheme == "https" || agentHosts.contains(url.host ?? "") || isLoopback(url.host ?? "") else {
                throw .invalidConfiguration(
                    setting: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                    reason: "\(full) is plain HTTP to another host; use https, a loopback address or the EKS/ECS agent's")
            }
            return .container(url: url, tokenFile: tokenFile, token: token)
        }
        return AWSCredentials.fromSharedFile(environment: environment).map(CredentialSource.keys)
    }

    /// The regional STS endpoint, `https://sts.REGION.amazonaws.com` (`.amazonaws.com.cn` in China).
    static func stsEndpoint(region: String) throws(StoreError) -> URL {
        let domain = region.hasPrefix("cn-") ? "amazonaws.com.cn" : "amazonaws.com"
        return try httpURL("https://sts.\(region).\(domain)", setting: "--region")
    }

    /// Fixed keys, or `nil` for a source of temporary ones.
    public var keys: AWSCredentials? {
        if case .keys(let keys) = self { return keys }
        return nil
    }

    /// The source in a few words, for errors.
    public var description: String {
        switch self {
        case .keys: "static keys"
        case .webIdentity(let role, _, _, _): "IRSA (role \(role))"
        case .container(let url, _, _): "container credentials (\(url.absoluteString))"
        }
    }

    private static func httpURL(_ text: String, setting: String) throws(StoreError) -> URL {
        guard let url = URL(string: text), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
            throw .invalidConfiguration(setting: setting, reason: "\(text) is not an http(s) URL")
        }
        return url
    }

    private static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "[::1]"
    }
}
