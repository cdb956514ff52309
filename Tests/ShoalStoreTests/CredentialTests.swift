import Foundation
import Hummingbird
import HummingbirdTesting
@testable import ShoalStore
import ShoalTesting
import Synchronization
import Testing

@Suite("Credentials: the default chain, IRSA, container credentials, refreshes and failures")
struct CredentialTests {
    static let role = "arn:aws:iam::123456789012:role/shoal-models"

    @Test("the chain's order: keys, IRSA, container credentials, the credentials file")
    func chainOrder() throws {
        let home = try TemporaryFolder()
        try FileManager.default.createDirectory(at: home.child(".aws"), withIntermediateDirectories: true)
        try "[default]\naws_access_key_id = FILEKEY\naws_secret_access_key = filesecret\n"
            .write(to: home.child(".aws/credentials"), atomically: true, encoding: .utf8)
        let file = ["HOME": home.url.path]
        let irsa = ["AWS_ROLE_ARN": Self.role, "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"]
        let podIdentity = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials",
                           "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"]
        let keys = ["AWS_ACCESS_KEY_ID": "ENVKEY", "AWS_SECRET_ACCESS_KEY": "envsecret"]
        func find(_ parts: [String: String]..., region: String = "eu-west-1") throws -> CredentialSource? {
            try CredentialSource.find(environment: parts.reduce(into: [:]) { $0.merge($1) { $1 } }, region: region)
        }

        #expect(try find(file, irsa, podIdentity, keys)?.keys?.accessKeyID == "ENVKEY")
        #expect(try find(file, irsa, podIdentity) == .webIdentity(
            roleARN: Self.role, tokenFile: "/var/run/secrets/eks.amazonaws.com/serviceaccount/token", sessionName: nil,
            sts: URL(string: "https://sts.eu-west-1.amazonaws.com")!))
        #expect(try find(file, irsa, region: "cn-north-1").map { "\($0)" } == "IRSA (role \(Self.role))")
        guard case .webIdentity(_, _, _, let china)? = try find(irsa, region: "cn-north-1") else {
            Issue.record("IRSA expected")
            return
        }
        #expect(china.absoluteString == "https://sts.cn-north-1.amazonaws.com.cn")
        guard case .webIdentity(_, _, let session, let sts)? = try find(
            irsa, ["AWS_ENDPOINT_URL_STS": "http://127.0.0.1:5000", "AWS_ROLE_SESSION_NAME": "pod-1"]) else {
            Issue.record("IRSA expected")
            return
        }
        #expect(sts.absoluteString == "http://127.0.0.1:5000" && session == "pod-1")
        #expect(try find(file, podIdentity) == .container(
            url: URL(string: "http://169.254.170.23/v1/credentials")!,
            tokenFile: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token", token: nil))
        // ECS: a path against the agent's address, ahead of a full URI.
        #expect(try find(podIdentity, ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/abc"]) == .container(
            url: URL(string: "http://169.254.170.2/v2/credentials/abc")!,
            tokenFile: "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token", token: nil))
        #expect(try find(file)?.keys?.accessKeyID == "FILEKEY")
        #expect(try find(["HOME": "/nonexistent"]) == nil)
        // Keys in clear to some other host are refused, naming the variable.
        #expect(throws: StoreError.invalidConfiguration(
            setting: "AWS_CONTAINER_CREDENTIALS_FULL_URI",
            reason: "http://198.51.100.7/creds is plain HTTP to another host; use https, a loopback address or the EKS/ECS agent's")) {
            try find(["AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://198.51.100.7/creds"])
        }
        #expect(throws: StoreError.self) { try find(irsa, ["AWS_ENDPOINT_URL_STS": "sts.local"]) }
        let store = try StoreConfiguration(url: "s3://models/p", environment: irsa)
        #expect(store.credentials == nil && store.credentialSource?.keys == nil && store.credentialSource != nil)
    }

    @Test("expiration times with and without fractional seconds")
    func expirationDates() {
        #expect(CredentialFetcher.date("2026-12-07T06:21:16Z") == Date(timeIntervalSince1970: 1_796_624_476))
        #expect(CredentialFetcher.date("2026-12-07T06:21:16.095802Z") == Date(timeIntervalSince1970: 1_796_624_476))
        #expect(CredentialFetcher.date("tomorrow") == nil)
    }

    @Test("IRSA: a store on moto with only a role and a web identity token publishes and reads", .timeLimit(.minutes(2)),
          .enabled(if: S3TestServer.isInstalled(.moto), "moto_server is not installed; run scripts/setup.sh"))
    func webIdentityOnMoto() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        try "eyJhbGciOiJSUzI1NiJ9.pod-token".write(to: work.child("token"), atomically: true, encoding: .utf8)
        let environment = ["AWS_ROLE_ARN": Self.role, "AWS_WEB_IDENTITY_TOKEN_FILE": work.child("token").path,
                           "AWS_ENDPOINT_URL_STS": server.endpoint, "AWS_REGION": "us-east-1", "HOME": work.url.path]
        let configuration = try StoreConfiguration(url: "s3://models/irsa", endpoint: server.endpoint, environment: environment)
        let source = try #require(configuration.credentialSource)
        #expect(source.keys == nil)
        try await Self.publishAndRead(ModelStore(configuration: configuration), in: work.url)

        // The store signed with STS's temporary keys, which last an hour and so are not fetched again.
        let current = try await CredentialProvider.shared(for: source, timeout: .seconds(10)).credentials()
        #expect(current.accessKeyID.hasPrefix("ASIA") && current.sessionToken != nil)
        #expect((current.expiration ?? .distantPast).timeIntervalSinceNow > 3_000)
    }

    @Test("IRSA: credentials about to expire are fetched again, one fetch for many requests, the token file read each time",
          .timeLimit(.minutes(1)))
    func refresh() async throws {
        let work = try TemporaryFolder()
        let tokenFile = work.child("token")
        try "token-1".write(to: tokenFile, atomically: true, encoding: .utf8)
        let sts = STSStandIn(firstLifetime: 60)
        try await sts.serve { url in
            let provider = CredentialProvider(
                source: .webIdentity(roleARN: Self.role, tokenFile: tokenFile.path, sessionName: "s", sts: url), timeout: .seconds(10))
            // Eight requests at once share the first fetch.
            let first = try await withThrowingTaskGroup(of: AWSCredentials.self) { group in
                for _ in 0..<8 { group.addTask { try await provider.credentials() } }
                return try await group.reduce(into: Set<AWSCredentials>()) { $0.insert($1) }
            }
            #expect(first.count == 1 && first.first?.accessKeyID == "ASIAFETCH1")
            #expect(sts.tokens == ["token-1"])
            // A refused refresh leaves keys that still work in use.
            try "refuse-me".write(to: tokenFile, atomically: true, encoding: .utf8)
            #expect(try await provider.credentials().accessKeyID == "ASIAFETCH1")
            // Those expire in a minute, inside the five-minute margin: the next request fetches with the rotated token.
            try "token-2".write(to: tokenFile, atomically: true, encoding: .utf8)
            let second = try await provider.credentials()
            #expect(second.accessKeyID == "ASIAFETCH2" && second.sessionToken == "session-2")
            #expect(sts.tokens == ["token-1", "token-2"])
            // These last an hour: no more fetches.
            #expect(try await provider.credentials() == second)
            #expect(sts.tokens.count == 2)
        }
    }

    @Test("IRSA: a refused token and a missing token file are clear errors; STS is asked at the first request, not before",
          .timeLimit(.minutes(1)))
    func webIdentityFailures() async throws {
        let work = try TemporaryFolder()
        let tokenFile = work.child("token").path, home = work.url.path
        try "refuse-me".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let sts = STSStandIn(firstLifetime: 3_600)
        try await sts.serve { url in
            let environment = ["AWS_ROLE_ARN": Self.role, "AWS_WEB_IDENTITY_TOKEN_FILE": tokenFile,
                               "AWS_ENDPOINT_URL_STS": url.absoluteString, "HOME": home]
            // No S3 server is needed: the store fails on credentials before its first S3 request.
            let store = try ModelStore(configuration: StoreConfiguration(
                url: "s3://models/p", endpoint: "http://127.0.0.1:9", environment: environment))
            #expect(sts.calls == 0)
            let error = await #expect(throws: StoreError.self) { _ = try await store.versions(of: "m") }
            #expect(sts.calls == 1)
            let text = error?.description ?? ""
            #expect(text.hasPrefix("no AWS credentials from IRSA: STS at \(url.absoluteString) refused the web identity token"), "\(text)")
            #expect(text.contains("InvalidIdentityToken: Couldn't retrieve verification key from your identity provider"), "\(text)")
            #expect(text.contains("trust policy"))
        }
        let missing = CredentialProvider(
            source: .webIdentity(roleARN: Self.role, tokenFile: work.child("absent").path, sessionName: nil,
                                 sts: URL(string: "http://127.0.0.1:9")!), timeout: .seconds(5))
        let error = await #expect(throws: StoreError.self) { _ = try await missing.credentials() }
        #expect(error?.description.contains("cannot read the web identity token file \(work.child("absent").path)") == true)
    }

    @Test("container credentials: the Authorization header from its token file, JSON keys; a store on moto uses them",
          .timeLimit(.minutes(2)), .enabled(if: S3TestServer.isInstalled(.moto), "moto_server is not installed; run scripts/setup.sh"))
    func containerCredentials() async throws {
        let server = try await S3TestServer(.moto)
        defer { server.stop() }
        try await server.createBucket()
        let work = try TemporaryFolder()
        let folder = work.url, endpoint = server.endpoint
        try "pod-identity-token\n".write(to: work.child("token"), atomically: true, encoding: .utf8)
        let agent = PodIdentityStandIn(token: "pod-identity-token")
        try await agent.serve { url in
            let environment = ["AWS_CONTAINER_CREDENTIALS_FULL_URI": url.absoluteString,
                               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": folder.appendingPathComponent("token").path, "HOME": folder.path]
            let configuration = try StoreConfiguration(url: "s3://models/pod", endpoint: endpoint, environment: environment)
            try await Self.publishAndRead(ModelStore(configuration: configuration), in: folder)
            let source = try #require(configuration.credentialSource)
            let current = try await CredentialProvider.shared(for: source, timeout: .seconds(10)).credentials()
            #expect(current == AWSCredentials(accessKeyID: "ASIAPOD", secretAccessKey: "podsecret", sessionToken: "podsession",
                                              expiration: agent.expiration))
            #expect(agent.requests == 1)

            // A token the agent does not accept: its answer, and what to check.
            let wrong = CredentialProvider(source: .container(url: url, tokenFile: nil, token: "stale"), timeout: .seconds(5))
            let error = await #expect(throws: StoreError.self) { _ = try await wrong.credentials() }
            #expect(error?.description == "no AWS credentials from container credentials: \(url.absoluteString) answered HTTP 401: "
                + "{\"message\":\"invalid token\"}; check the authorization token")
        }
    }

    // The bounds on time are loose because the other suites running meanwhile can stall this one for many
    // seconds; what they rule out is waiting for the deadline (refused) or forever (silent).
    @Test("a refused connection fails without waiting for the timeout; a server that never answers, at the timeout",
          .timeLimit(.minutes(3)))
    func unreachable() async throws {
        let port = try LoopbackPorts.free(1)[0]
        let refused = try #require(URL(string: "http://127.0.0.1:\(port)/v1/credentials"))
        let provider = CredentialProvider(source: .container(url: refused, tokenFile: nil, token: "t"), timeout: .seconds(120))
        var started = ContinuousClock.now
        let error = await #expect(throws: StoreError.self) { _ = try await provider.credentials() }
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(error?.description.hasPrefix("no AWS credentials from container credentials: cannot reach \(refused.absoluteString): ") == true,
                "\(String(describing: error))")

        let silent = try SilentListener()
        let sts = try #require(URL(string: "http://127.0.0.1:\(silent.port)"))
        let work = try TemporaryFolder()
        try "token".write(to: work.child("token"), atomically: true, encoding: .utf8)
        let slow = CredentialProvider(
            source: .webIdentity(roleARN: Self.role, tokenFile: work.child("token").path, sessionName: nil, sts: sts), timeout: .seconds(1))
        started = ContinuousClock.now
        let timedOut = await #expect(throws: StoreError.self) { _ = try await slow.credentials() }
        #expect(ContinuousClock.now - started < .seconds(60))
        #expect(timedOut?.description == "no AWS credentials from IRSA: STS at \(sts.absoluteString) did not answer within 1.0 seconds")
    }

    /// Publishes two small files, downloads them back and checks them byte for byte.
    static func publishAndRead(_ store: ModelStore, in work: URL) async throws {
        let blob = try Fixtures.blob(at: work.appendingPathComponent("weights.bin"), size: 70_000)
        let files = [StagedFile(path: "weights.bin", source: blob, size: 70_000)]
        let manifest = try await store.publish(Fixtures.blobDraft(name: "irsa"), files: files)
        #expect(try await store.versions(of: "irsa") == [manifest.version])
        let back = work.appendingPathComponent("back-\(manifest.version)")
        try await store.download(manifest, into: back)
        #expect(try Data(contentsOf: back.appendingPathComponent("weights.bin")) == Data(contentsOf: blob))
    }
}

/// STS on 127.0.0.1: answers `AssumeRoleWithWebIdentity` as AWS does, the first credentials lasting
/// `firstLifetime` seconds and later ones an hour; refuses the token `refuse-me` with STS's error document.
final class STSStandIn: Sendable {
    let firstLifetime: TimeInterval
    private let seen = Mutex<[String]>([])
    private let requests = Mutex(0)

    init(firstLifetime: TimeInterval) {
        self.firstLifetime = firstLifetime
    }

    /// The web identity tokens it was sent, in order.
    var tokens: [String] { seen.withLock { $0 } }
    /// How many requests it was sent, refused ones too.
    var calls: Int { requests.withLock { $0 } }

    func serve(_ body: @escaping @Sendable (URL) async throws -> Void) async throws {
        let router = Router()
        router.post("/") { request, _ -> Response in
            self.requests.withLock { $0 += 1 }
            let form = String(buffer: try await request.body.collect(upTo: 1 << 16))
            let fields = Dictionary(form.split(separator: "&").map { pair in
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
                return (parts[0], parts.count > 1 ? parts[1] : "")
            }) { $1 }
            guard fields["Action"] == "AssumeRoleWithWebIdentity", fields["RoleArn"] == CredentialTests.role,
                  let token = fields["WebIdentityToken"], fields["RoleSessionName"]?.isEmpty == false else {
                return Self.xml(.badRequest, "<ErrorResponse><Error><Code>MissingParameter</Code></Error></ErrorResponse>")
            }
            guard token != "refuse-me" else {
                return Self.xml(.badRequest, """
                    <ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>\
                    <Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key from your identity provider</Message>\
                    </Error><RequestId>1</RequestId></ErrorResponse>
                    """)
            }
            let count = self.seen.withLock { $0.append(token); return $0.count }
            let expiration = Date().addingTimeInterval(count == 1 ? self.firstLifetime : 3_600)
            return Self.xml(.ok, """
                <AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult>\
                <Credentials><AccessKeyId>ASIAFETCH\(count)</AccessKeyId><SecretAccessKey>secret-\(count)</SecretAccessKey>\
                <SessionToken>session-\(count)</SessionToken><Expiration>\(ISO8601DateFormatter().string(from: expiration))</Expiration>\
                </Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>
                """)
        }
        try await serveLoopback(router, body)
    }

    private static func xml(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/xml"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}

/// The EKS Pod Identity agent on 127.0.0.1: serves keys as JSON to requests whose `Authorization` is `token`.
final class PodIdentityStandIn: Sendable {
    let token: String
    /// The keys' expiration, whole seconds (as the agent writes it).
    let expiration = Date(timeIntervalSince1970: (Date().timeIntervalSince1970 + 6 * 3_600).rounded(.down))
    private let served = Mutex(0)

    init(token: String) {
        self.token = token
    }

    /// How many requests it answered with keys.
    var requests: Int { served.withLock { $0 } }

    func serve(_ body: @escaping @Sendable (URL) async throws -> Void) async throws {
        let router = Router()
        router.get("/v1/credentials") { request, _ -> Response in
            guard request.headers[.authorization] == self.token else {
                return Response(status: .unauthorized, body: .init(byteBuffer: ByteBuffer(string: "{\"message\":\"invalid token\"}")))
            }
            self.served.withLock { $0 += 1 }
            let json = """
                {"AccessKeyId":"ASIAPOD","SecretAccessKey":"podsecret","Token":"podsession",\
                "AccountId":"123456789012","Expiration":"\(ISO8601DateFormatter().string(from: self.expiration))"}
                """
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: json)))
        }
        try await serveLoopback(router) { url in try await body(url.appendingPathComponent("v1/credentials")) }
    }
}

/// Runs `router` on a free port of 127.0.0.1 while `body` runs with its base URL.
private func serveLoopback(_ router: Router<BasicRequestContext>, _ body: @escaping @Sendable (URL) async throws -> Void) async throws {
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)))
    try await app.test(.live) { client in
        let port = try #require(client.port)
        try await body(try #require(URL(string: "http://127.0.0.1:\(port)")))
    }
}

/// A TCP socket on 127.0.0.1 that takes connections into its backlog and never answers them.
final class SilentListener {
    let port: Int
    private let descriptor: Int32

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(descriptor, $0, length) == 0 && listen(descriptor, 16) == 0 && getsockname(descriptor, $0, &length) == 0
            }
        }
        guard descriptor >= 0, bound else {
            close(descriptor)
            throw S3TestServer.Failure("cannot listen on 127.0.0.1")
        }
        self.descriptor = descriptor
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    deinit { close(descriptor) }
}
