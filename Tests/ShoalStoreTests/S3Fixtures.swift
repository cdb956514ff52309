import Foundation
import ShoalStore
import ShoalTesting

/// Stores on a test S3 server and files to move through them.
extension S3TestServer {
    /// A store on this server at `s3://BUCKET/PREFIX`, with small parts so that multipart uploads are cheap to test.
    func store(bucket: String = "models", prefix: String = "shoal", secretKey: String = S3TestServer.secretKey,
               partSize: Int64 = 5 << 20) throws -> ModelStore {
        var environment = self.environment
        environment["AWS_SECRET_ACCESS_KEY"] = secretKey
        var configuration = try StoreConfiguration(url: "s3://\(bucket)/\(prefix)", endpoint: endpoint, environment: environment)
        configuration.partSize = partSize
        configuration.multipartThreshold = partSize
        configuration.requestTimeout = .seconds(60)
        return try ModelStore(configuration: configuration)
    }
}

extension Fixtures {
    /// A manifest draft for raw files that are not a model (transfer tests).
    static func blobDraft(name: String) -> Manifest {
        Manifest(name: name, architecture: "none", task: "embedding", labels: [], dimensions: 1,
                 footprint: .init(weightBytes: 0, activationBytesPerToken: 0, precision: "fp32"), maxSequenceLength: 1,
                 source: "test")
    }

    /// A file of `size` pseudo-random bytes.
    static func blob(at url: URL, size: Int, seed: UInt64 = 1) throws -> URL {
        var state = seed
        var data = Data(count: size)
        data.withUnsafeMutableBytes { raw in
            let words = raw.bindMemory(to: UInt64.self)
            for index in words.indices {
                state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                words[index] = state
            }
        }
        try data.write(to: url)
        return url
    }
}
