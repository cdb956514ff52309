import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Fetches temporary credentials: from STS's `AssumeRoleWithWebIdentity` (IRSA) or from a container credentials
/// endpoint (EKS Pod Identity, ECS). Each attempt is bounded by `timeout`; refused connections and server errors
/// are tried three times, 0.2 s and 0.4 s apart; every failure is a `StoreError.credentials` naming the source.
struct CredentialFetcher: Sendable {
    let source: CredentialSource
    let timeout: Duration

    static let irsaName = "IRSA"
    static let containerName = "container credentials"

    /// A client that fails a request as soon as its connection is refused (the shared one tries to connect again
    /// until the deadline), gives up connecting after 2 s (an agent's link-local address off its node does not
    /// answer at all), and follows no redirects, which could carry the token elsewhere.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration(
            redirectConfiguration: .disallow, timeout: .init(connect: .seconds(2), read: .seconds(30)))
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }()

    func fetch() async throws -> AWSCredentials {
        switch source {
        case .keys(let keys):
            keys
        case .webIdentity(let role, let tokenFile, let sessionName, let sts):
            try await assumeRole(role, tokenFile: tokenFile, sessionName: sessionName, sts: sts)
        case .container(let url, let tokenFile, let token):
            try await containerCredentials(url, tokenFile: tokenFile, token: token)
        }
    }

    // MARK: IRSA

    /// An unsigned `AssumeRoleWithWebIdentity` POST (the token is the proof), answered in XML.
    private func assumeRole(_ role: String, tokenFile: String, sessionName: String?, sts: URL) async throws -> AWSCredentials {
        let name = Self.irsaName
        let token = try Self.readToken(tokenFile, source: name, what: "web identity token file")
        let form = [
            ("Action", "AssumeRoleWithWebIdentity"), ("Version", "2011-06-15"), ("RoleArn", role),
            ("RoleSessionName", sessionName ?? "shoal-\(Int(Date().timeIntervalSince1970))"), ("WebIdentityToken", token),
        ]
        var request = HTTPClientRequest(url: sts.absoluteString)
        request.method = .POST
        request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded; charset=utf-8")
        request.body = .bytes(ByteBuffer(string: form.map {
            SigV4Signer.encode($0.0, slash: true) + "=" + SigV4Signer.encode($0.1, slash: true)
        }.joined(separator: "&")))
        let target = "STS at \(sts.absoluteString)"
        let (status, body) = try await exchange(request, source: name, target: target)
        let values = S3XML.values(in: body)
        func field(_ path: String) -> String? {
            values.first { $0.key.hasSuffix(path) }?.value.first
        }
        guard status == 200 else {
            let code = field("Error/Code") ?? "HTTP \(status)"
            let message = field("Error/Message").map { ": \($0)" } ?? ""
            let verdict = status < 500
                ? "refused the web identity token for \(role) (\(code)\(message)); check that the role's trust policy "
                    + "names this cluster's OIDC provider and the pod's ServiceAccount"
                : "failed (\(code)\(message)); retry later"
            throw StoreError.credentials(source: name, reason: "\(target) \(verdict)")
        }
        guard let key = field("Credentials/AccessKeyId"), let secret = field("Credentials/SecretAccessKey") else {
            throw StoreError.credentials(source: name, reason: "\(target) answered without credentials")
        }
        return AWSCredentials(accessKeyID: key, secretAccessKey: secret, sessionToken: field("Credentials/SessionToken"),
                              expiration: field("Credentials/Expiration").flatMap(Self.date))
    }

    // MARK: Container credentials

    /// The JSON that the ECS and EKS Pod Identity agents serve.
    private struct ContainerAnswer: Decodable {
        var AccessKeyId: String
        var SecretAccessKey: String
        var Token: String?
        var Expiration: String?
    }

    private func containerCredentials(_ url: URL, tokenFile: String?, token: String?) async throws -> AWSCredentials {
        let name = Self.containerName
        var request = HTTPClientRequest(url: url.absoluteString)
        request.headers.add(name: "accept", value: "application/json")
        let authorization = try tokenFile.map { try Self.readToken($0, source: name, what: "authorization token file") } ?? token
        if let authorization { request.headers.add(name: "authorization", value: authorization) }
        let target = url.absoluteString
        let (status, body) = try await exchange(request, source: name, target: target)
        guard status == 200 else {
            let text = String(decoding: body.prefix(300), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            throw StoreError.credentials(
                source: name, reason: "\(target) answered HTTP \(status)\(text.isEmpty ? "" : ": \(text)")"
                    + (status == 401 || status == 403 ? "; check the authorization token" : ""))
        }
        guard let answer = try? JSONDecoder().decode(ContainerAnswer.self, from: body) else {
            throw StoreError.credentials(source: name, reason: "\(target) answered without AccessKeyId and SecretAccessKey")
        }
        return AWSCredentials(accessKeyID: answer.AccessKeyId, secretAccessKey: answer.SecretAccessKey,
                              sessionToken: answer.Token, expiration: answer.Expiration.flatMap(Self.date))
    }

    // MARK: Plumbing

    /// The status and body of `request`, trying again after refused connections and server errors.
    private func exchange(_ request: HTTPClientRequest, source: String, target: String) async throws -> (Int, Data) {
        let deadline = TimeAmount.milliseconds(max(1, Int64(timeout.seconds * 1000)))
        var attempt = 0
        while true {
            attempt += 1
            do {
                let response = try await Self.client.execute(request, timeout: deadline)
                let body = try await response.body.collect(upTo: 1 << 20)
                let status = Int(response.status.code)
                if status >= 500, attempt < 3 {
                    try await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                return (status, Data(body.readableBytesView))
            } catch let error as CancellationError {
                throw error
            } catch {
                let timedOut = (error as? HTTPClientError).map { [.deadlineExceeded, .connectTimeout, .readTimeout].contains($0) } ?? false
                if !timedOut, attempt < 3 {
                    try await Task.sleep(for: .milliseconds(100 << attempt))
                    continue
                }
                let reason = timedOut ? "\(target) did not answer within \(timeout)" : "cannot reach \(target): \(error)"
                throw StoreError.credentials(source: source, reason: reason)
            }
        }
    }

    /// A token file's text, read on every fetch since the kubelet rotates it.
    private static func readToken(_ path: String, source: String, what: String) throws(StoreError) -> String {
        do {
            return try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        } catch {
            throw .credentials(source: source, reason: "cannot read the \(what) \(path) (\(SystemReason.describe(error)))")
        }
    }

    /// An ISO 8601 time in UTC, with or without fractional seconds (`2026-01-02T03:04:05.123456Z`).
    static func date(_ text: String) -> Date? {
        var whole = text
        if let dot = text.firstIndex(of: ".") {
            let zone = text[dot...].drop { $0 == "." || $0.isNumber }
            whole = String(text[..<dot]) + zone
        }
        return ISO8601DateFormatter().date(from: whole)
    }
}
