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
        .target(name: "ShoalModels", dependencies: ["ShoalTensor", "ShoalTokenizers"]),
        .target(
            name: "ShoalStore",
            dependencies: [
                "ShoalModels",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ]
        ),
        .target(
            name: "ShoalInference",
            dependencies: [
                "ShoalModels",
                "ShoalStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "ShoalServer",
            dependencies: [
                "ShoalInference",
                .product(name: "Hummingbird", package: "hummingbird"),
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
                "ShoalModels",
                "ShoalStore",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
            ]
        ),
        .target(name: "ShoalTesting", dependencies: ["ShoalModels"]),
        .executableTarget(
            name: "shoal",
            dependencies: [
                "ShoalModels",
                "ShoalServer",
                "ShoalStore",
                "ShoalControl",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ShoalTensorTests", dependencies: ["ShoalTensor"]),
        .testTarget(name: "ShoalTokenizersTests", dependencies: ["ShoalTokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ShoalModelsTests", dependencies: ["ShoalModels", "ShoalTesting"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ShoalCLITests", dependencies: ["shoal", "ShoalControl", "ShoalModels", "ShoalTensor", "ShoalTesting"]),
        .testTarget(name: "ShoalStoreTests", dependencies: ["ShoalStore", "ShoalInference", "ShoalTesting", "shoal"]),
        .testTarget(
            name: "ShoalControlTests",
            dependencies: [
                "ShoalControl", "ShoalStore", "ShoalTesting",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
        .testTarget(name: "ShoalInferenceTests", dependencies: ["ShoalInference", "ShoalTesting"]),
        .testTarget(
            name: "ShoalServerTests",
            dependencies: [
                "ShoalServer", "ShoalTesting",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ]
)
