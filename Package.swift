// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Shoal",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shoal", targets: ["shoal"]),
        .library(name: "ShoalModels", targets: ["ShoalModels"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(
            name: "ShoalKernels",
            cSettings: [.unsafeFlags(["-O3", "-fno-math-errno"])]
        ),
        .target(name: "ShoalTensor", dependencies: ["CBLAS", "ShoalKernels"]),
        .target(name: "ShoalTokenizers"),
        .target(name: "ShoalCorpus"),
        .target(name: "ShoalModels", dependencies: ["ShoalCorpus", "ShoalTensor", "ShoalTokenizers"]),
        .target(
            name: "ShoalStore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "ShoalImporter", dependencies: ["ShoalCorpus", "ShoalModels", "ShoalStore", "ShoalTensor"]),
        .target(
            name: "ShoalTraining",
            dependencies: ["CBLAS", "ShoalImporter", "ShoalModels", "ShoalStore", "ShoalTensor"]
        ),
        .target(
            name: "ShoalInference",
            dependencies: [
                "ShoalModels",
                "ShoalStore",
                "ShoalTensor",
                "ShoalTokenizers",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ShoalServer",
            dependencies: [
                "ShoalInference",
                "ShoalModels",
                "ShoalStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("openapi.json")]
        ),
        .target(
            name: "ShoalControl",
            dependencies: [
                "ShoalCorpus",
                "ShoalStore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ShoalBatch",
            dependencies: [
                "ShoalInference",
                "ShoalModels",
                "ShoalStore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(name: "ShoalTesting", dependencies: ["ShoalModels", "ShoalStore", "ShoalTensor"]),
        .executableTarget(
            name: "shoal",
            dependencies: [
                "ShoalBatch",
                "ShoalControl",
                "ShoalImporter",
                "ShoalInference",
                "ShoalModels",
                "ShoalServer",
                "ShoalStore",
                "ShoalTensor",
                "ShoalTraining",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "ShoalTensorTests", dependencies: ["ShoalTensor"]),
        .testTarget(name: "ShoalTokenizersTests", dependencies: ["ShoalTokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "ShoalModelsTests", dependencies: ["ShoalModels", "ShoalTensor", "ShoalTesting"], resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ShoalCLITests",
            dependencies: [
                "shoal", "ShoalControl", "ShoalInference", "ShoalModels", "ShoalStore", "ShoalTensor", "ShoalTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "ShoalStoreTests",
            dependencies: [
                "ShoalImporter", "ShoalInference", "ShoalModels", "ShoalStore", "ShoalTensor", "ShoalTesting", "shoal",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(
            name: "ShoalControlTests",
            dependencies: [
                "ShoalControl", "ShoalStore", "ShoalTensor", "ShoalTesting",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            resources: [.copy("Fixtures")]
        ),
        .testTarget(
            name: "ShoalTrainingTests",
            dependencies: ["ShoalImporter", "ShoalModels", "ShoalStore", "ShoalTensor", "ShoalTesting", "ShoalTraining"]
        ),
        .testTarget(
            name: "ShoalInferenceTests",
            dependencies: [
                "ShoalInference", "ShoalModels", "ShoalStore", "ShoalTensor", "ShoalTesting",
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "ShoalServerTests",
            dependencies: [
                "ShoalInference", "ShoalModels", "ShoalServer", "ShoalTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
    ]
)
