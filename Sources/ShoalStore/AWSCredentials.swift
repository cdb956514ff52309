import Foundation

/// An access key pair, as the AWS tools find it: environment variables first, then the shared credentials file
/// (`CredentialSource` adds the temporary credentials of a pod between the two).
public struct AWSCredentials: Sendable, Hashable {
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Set for temporary credentials.
    public var sessionToken: String?
    /// When temporary credentials stop working; `nil` for keys that do not expire.
    public var expiration: Date?

    public init(accessKeyID: String, secretAccessKey: String, sessionToken: String? = nil, expiration: Date? = nil) {
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.sessionToken = sessionToken
        self.expiration = expiration
    }

    /// `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), else the `AWS_PROFILE` (or
    /// `default`) section of `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`; `nil` when neither has keys.
    public static func find(environment: [String: String]) -> AWSCredentials? {
        if let key = environment["AWS_ACCESS_KEY_ID"], let secret = environment["AWS_SECRET_ACCESS_KEY"],
           !key.isEmpty, !secret.isEmpty {
            return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: environment["AWS_SESSION_TOKEN"])
        }
        return fromSharedFile(environment: environment)
    }

    /// The `AWS_PROFILE` (or `default`) section of `AWS_SHARED_CREDENTIALS_FILE` or `~/.aws/credentials`.
    static func fromSharedFile(environment: [String: String]) -> AWSCredentials? {
        let profile = environment["AWS_PROFILE"] ?? "default"
        let path = environment["AWS_SHARED_CREDENTIALS_FILE"] ?? awsFolder(environment).appendingPathComponent("credentials").path
        let section = IniFile.section(profile, path: path)
        guard let key = section["aws_access_key_id"], let secret = section["aws_secret_access_key"] else { return nil }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: section["aws_session_token"])
    }

    /// `AWS_REGION`, `AWS_DEFAULT_REGION`, else the profile's `region` in `~/.aws/config`.
    static func region(environment: [String: String]) -> String? {
        if let region = environment["AWS_REGION"] ?? environment["AWS_DEFAULT_REGION"], !region.isEmpty { return region }
        let profile = environment["AWS_PROFILE"] ?? "default"
        let path = environment["AWS_CONFIG_FILE"] ?? awsFolder(environment).appendingPathComponent("config").path
        let section = IniFile.section(profile == "default" ? "default" : "profile \(profile)", path: path)
        return section["region"]
    }

    private static func awsFolder(_ environment: [String: String]) -> URL {
        let home = environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path
        return URL(fileURLWithPath: home).appendingPathComponent(".aws")
    }
}

/// The `key = value` lines of one `[section]` of an INI file such as `~/.aws/credentials`.
enum IniFile {
    static func section(_ name: String, path: String) -> [String: String] {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [:] }
        var current: String?
        var values: [String: String] = [:]
        for rawLine in text.split(whereSeparator: \.isNewline) {
            let line = rawLine.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                current = String(line.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
                continue
            }
            guard current == name, let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingCharacters(in: .whitespaces).lowercased()
            values[key] = line[line.index(after: equals)...].trimmingCharacters(in: .whitespaces)
        }
        return values
    }
}
