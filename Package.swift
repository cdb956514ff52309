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
        .target(name: "ShoalTesting", dependencies: ["ShoalModels"]),
        .executableTarget(
            name: "shoal",
            dependencies: [
                "ShoalModels",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .testTarget(name: "ShoalTensorTests", dependencies: ["ShoalTensor"]),
        .testTarget(name: "ShoalTokenizersTests", dependencies: ["ShoalTokenizers"], resources: [.copy("Fixtures")]),
        .testTarget(name: "ShoalModelsTests", dependencies: ["ShoalModels", "ShoalTesting"], resources: [.copy("Fixtures")]),
    ]
)
