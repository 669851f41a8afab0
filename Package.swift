// swift-tools-version: 6.2
import PackageDescription

/// Targets that must stay free of unsafe pointer code: the compiler enforces it.
let fenced: [SwiftSetting] = [.strictMemorySafety(), .treatAllWarnings(as: .error)]
/// Targets that talk to C: unsafe code allowed, but every unsafe expression is marked and warnings fail the build.
let bridge: [SwiftSetting] = [.treatAllWarnings(as: .error)]

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Strata", targets: ["Strata"]),
        .library(name: "StrataSystem", targets: ["StrataSystem"]),
        .library(name: "StrataFUSE", targets: ["StrataFUSE"]),
        .library(name: "StrataOCI", targets: ["StrataOCI"]),
        .executable(name: "strata", targets: ["strata"]),
        .executable(name: "strata-serve", targets: ["strata-serve"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .target(name: "CStrataSystem"),
        .target(
            name: "StrataSystem",
            dependencies: ["CStrataSystem", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: bridge
        ),
        .target(
            name: "Strata",
            dependencies: ["StrataSystem", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: fenced
        ),
        .systemLibrary(name: "CFuse3", pkgConfig: "fuse3", providers: [.apt(["libfuse3-dev"])]),
        .target(
            name: "StrataFUSE",
            dependencies: ["Strata", "CFuse3"],
            swiftSettings: bridge
        ),
        .systemLibrary(name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .target(
            name: "StrataArchive",
            dependencies: ["CArchive", "StrataSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: bridge
        ),
        .target(
            name: "StrataOCI",
            dependencies: ["Strata", "StrataArchive", "StrataSystem", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: fenced
        ),
        .target(
            name: "StrataBench",
            dependencies: ["Strata"],
            swiftSettings: fenced
        ),
        .executableTarget(
            name: "strata",
            dependencies: [
                "Strata", "StrataFUSE", "StrataOCI", "StrataBench",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: fenced
        ),
        // The serving process of `strata mount`: no Foundation, no image code (see `ServeCommand`).
        .executableTarget(
            name: "strata-serve",
            dependencies: ["StrataFUSE"],
            swiftSettings: fenced,
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        .target(
            name: "StrataTestSupport",
            dependencies: ["Strata", "StrataSystem"],
            swiftSettings: bridge
        ),
        .testTarget(name: "StrataSystemTests", dependencies: ["StrataSystem"]),
        .testTarget(name: "StrataTests", dependencies: ["Strata", "StrataTestSupport"]),
        .testTarget(name: "DifferentialTests", dependencies: ["Strata", "StrataTestSupport"]),
        .testTarget(name: "StrataOCITests", dependencies: ["StrataOCI", "StrataArchive", "Strata", "StrataTestSupport"]),
        .testTarget(name: "StrataFUSETests", dependencies: ["Strata", "StrataFUSE", "StrataTestSupport"]),
        .testTarget(name: "StrataBenchTests", dependencies: ["StrataBench", "StrataTestSupport"]),
        .executableTarget(
            name: "StrataSoak",
            dependencies: [
                "Strata", "StrataTestSupport", .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Soak/StrataSoak",
            swiftSettings: bridge
        ),
        .executableTarget(
            name: "CoreBenchmarks",
            dependencies: ["Strata", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/CoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
