// swift-tools-version: 6.2
import PackageDescription

/// libFuzzer targets for Strata's parsers and readers of untrusted input, kept out of the main build:
/// `scripts/fuzz` builds this package with `-sanitize=fuzzer` (which instruments Strata's own modules
/// too) and runs each target on its corpus in `Fuzz/Corpus/<target>`.

/// libFuzzer's `main` and SwiftPM's alias of `main` to the target's entry point: the alias wins.
let fuzzerLink: [LinkerSetting] = [.unsafeFlags(["-use-ld=lld", "-Xlinker", "--allow-multiple-definition"])]

let package = Package(
    name: "StrataFuzz",
    dependencies: [.package(name: "Strata", path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        .executableTarget(
            name: "FuzzMountOptions",
            dependencies: ["FuzzSupport", .product(name: "StrataFUSE", package: "Strata"), .product(name: "Strata", package: "Strata")],
            linkerSettings: fuzzerLink),
        .executableTarget(
            name: "FuzzMarkers",
            dependencies: ["FuzzSupport", .product(name: "Strata", package: "Strata")],
            linkerSettings: fuzzerLink),
        .executableTarget(
            name: "FuzzArchive",
            dependencies: [
                "FuzzSupport", .product(name: "Strata", package: "Strata"), .product(name: "StrataOCI", package: "Strata"),
            ],
            linkerSettings: fuzzerLink),
    ]
)
