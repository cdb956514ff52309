import Foundation
import ShoalStore
import Testing

@Suite("Manifests and references")
struct ManifestTests {
    @Test("a manifest round-trips through JSON with snake_case keys")
    func roundTrip() throws {
        let manifest = Manifest(
            name: "m", version: "3", architecture: "bert", task: "classification", labels: ["a", "b"], dimensions: 2,
            files: [.init(path: "head.json", sha256: String(repeating: "ab", count: 32), size: 10)],
            footprint: .init(weightBytes: 100, activationBytesPerToken: 20, precision: "fp32"), maxSequenceLength: 128,
            created: Date(timeIntervalSince1970: 1_700_000_000), source: "here", base: .init(name: "b", version: "1"),
            profile: .init(cpus: 2, threads: 2, provider: "native", measurements: [
                .init(workload: "b1", batch: 1, tokensPerSequence: 12, latencyP50Ms: 1, latencyP99Ms: 2,
                      sequencesPerSecond: 100, tokensPerSecond: 1200),
            ]))
        let data = try manifest.encoded()
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"max_sequence_length\" : 128"))
        #expect(text.contains("\"activation_bytes_per_token\" : 20"))
        #expect(text.contains("2023-11-14T22:13:20Z"))
        #expect(try Manifest.decode(data, path: "x") == manifest)
    }

    @Test("a malformed manifest is a corruptManifest error naming its path")
    func malformed() {
        #expect(throws: StoreError.self) { try Manifest.decode(Data("{".utf8), path: "/store/models/m/1/manifest.json") }
        do {
            _ = try Manifest.decode(Data("{}".utf8), path: "/p/manifest.json")
        } catch {
            #expect(error.description.contains("/p/manifest.json"))
        }
    }

    @Test("references parse NAME, NAME@VERSION and NAME@latest", arguments: [
        ("minilm", "minilm", nil), ("minilm@2", "minilm", "2"), ("a.b_c-d@latest", "a.b_c-d", nil),
    ] as [(String, String, String?)])
    func references(text: String, name: String, version: String?) throws {
        let reference = try ModelReference(parsing: text)
        #expect(reference.name == name)
        #expect(reference.version == version)
    }

    @Test("malformed references are refused with what to write", arguments: ["", "a/b", "../x", ".hidden", "m@", "m@0", "m@01", "m@x", "m@-1"])
    func badReferences(text: String) {
        #expect(throws: StoreError.self) { try ModelReference(parsing: text) }
    }

    @Test("store URLs: folders, file://, s3:// with endpoint and region")
    func storeURLs() throws {
        let environment = ["AWS_ACCESS_KEY_ID": "k", "AWS_SECRET_ACCESS_KEY": "s", "HOME": "/nonexistent"]
        #expect(try StoreConfiguration(url: "./.shoal/store", environment: [:]).location == .folder(URL(fileURLWithPath: "./.shoal/store")))
        #expect(throws: StoreError.self) { try StoreConfiguration(url: "", environment: [:]) }
        #expect(try StoreConfiguration(url: "file:///srv/t", environment: [:]).location == .folder(URL(fileURLWithPath: "/srv/t")))
        let s3 = try StoreConfiguration(url: "s3://models/prod/eu?endpoint=http://127.0.0.1:9000&region=eu-west-1", environment: environment)
        #expect(s3.location == .s3(bucket: "models", prefix: "prod/eu"))
        #expect(s3.endpoint?.absoluteString == "http://127.0.0.1:9000")
        #expect(s3.region == "eu-west-1")
        #expect(s3.credentials == AWSCredentials(accessKeyID: "k", secretAccessKey: "s"))
        #expect(throws: StoreError.self) { try StoreConfiguration(url: "s3://Bad_Bucket/x", environment: environment) }
        #expect(throws: StoreError.self) { try StoreConfiguration(url: "s3://models/x", endpoint: "ftp://x", environment: environment) }
    }

    @Test("credentials come from the environment, else the profile of ~/.aws/credentials; no keys is a clear error on opening the store only")
    func credentials() throws {
        let home = try TemporaryFolder()
        try FileManager.default.createDirectory(at: home.child(".aws"), withIntermediateDirectories: true)
        try """
            [default]
            aws_access_key_id = DEFAULTKEY
            aws_secret_access_key = defaultsecret

            [ci]
            aws_access_key_id=CIKEY
            aws_secret_access_key=cisecret
            """.write(to: home.child(".aws/credentials"), atomically: true, encoding: .utf8)
        try "[profile ci]\nregion = ap-south-1\n".write(to: home.child(".aws/config"), atomically: true, encoding: .utf8)
        let found = AWSCredentials.find(environment: ["HOME": home.url.path])
        #expect(found == AWSCredentials(accessKeyID: "DEFAULTKEY", secretAccessKey: "defaultsecret"))
        let ci = try StoreConfiguration(url: "s3://bucket/p", environment: ["HOME": home.url.path, "AWS_PROFILE": "ci"])
        #expect(ci.credentials?.accessKeyID == "CIKEY")
        #expect(ci.region == "ap-south-1")
        let keyless = try StoreConfiguration(url: "s3://bucket/p", environment: ["HOME": "/nonexistent"])
        #expect(keyless.credentials == nil)
        do {
            _ = try ModelStore(configuration: keyless)
            Issue.record("opening an S3 store without keys should be an error")
        } catch {
            #expect(error.description.contains("no AWS keys found") && error.description.contains("AWS_ACCESS_KEY_ID"))
        }
    }
}
