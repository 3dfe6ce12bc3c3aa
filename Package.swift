// swift-tools-version: 6.0
import Foundation
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "sandbox",
    products: [
        .executable(name: "sandbox", targets: ["sandbox"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // Everything that must be C: libseccomp calls and the code that runs
        // between clone and exec. Every exported symbol carries the `sbx_` prefix.
        .target(
            name: "CSandbox",
            cSettings: [.define("_GNU_SOURCE"), .unsafeFlags(["-Wall", "-Wextra", "-Werror"])],
            linkerSettings: [.linkedLibrary("seccomp")]
        ),
        // Pure: limits, configuration, the seccomp profile format, the result record.
        .target(name: "SandboxModel", swiftSettings: swiftSettings),
        // Pure: reading the reports tools write (JUnit, TRX, coverage, lint), strictly.
        .target(name: "SandboxReports", dependencies: ["SandboxModel"], swiftSettings: swiftSettings),
        // Pure: gates, evaluated over what the steps did and reported.
        .target(
            name: "SandboxVerdict", dependencies: ["SandboxModel", "SandboxReports"], swiftSettings: swiftSettings),
        // Pure: per-language policies (YAML), their layering and validation.
        .target(
            name: "SandboxPolicy",
            dependencies: ["SandboxModel", .product(name: "Yams", package: "Yams")],
            swiftSettings: swiftSettings
        ),
        // The OS layer: cgroups, the seccomp compiler, the launcher, kernel probes.
        .target(
            name: "SandboxKernel",
            dependencies: ["CSandbox", "SandboxModel", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        // Runs one step: sets the sandbox up, relays its output, enforces limits, reports.
        .target(
            name: "SandboxSupervisor",
            dependencies: ["SandboxKernel", "SandboxModel", .product(name: "SystemPackage", package: "swift-system")],
            swiftSettings: swiftSettings
        ),
        // Toolchain images: built from Debian and PyPI in sandboxes, imported from OCI
        // layouts, kept by content digest in a store of this user's own.
        .target(
            name: "SandboxImage",
            dependencies: [
                "SandboxSupervisor", "SandboxKernel", "SandboxModel", "SandboxPolicy", "SandboxReports",
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // Runs a tree's policies in sandboxes and gathers the evidence for a verdict.
        .target(
            name: "SandboxVerify",
            dependencies: [
                "SandboxSupervisor", "SandboxKernel", "SandboxModel", "SandboxPolicy", "SandboxReports",
                "SandboxVerdict", "SandboxImage", .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "sandbox",
            dependencies: [
                "SandboxSupervisor", "SandboxKernel", "SandboxModel", "SandboxPolicy", "SandboxVerdict",
                "SandboxVerify", "SandboxImage", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SandboxUnitTests",
            dependencies: [
                "CSandbox", "SandboxModel", "SandboxKernel", "SandboxReports", "SandboxSupervisor",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SandboxReportsTests",
            dependencies: ["SandboxReports", "SandboxVerdict", "SandboxModel", "SandboxPolicy"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SandboxVerifyTests",
            dependencies: [
                "SandboxVerify", "SandboxImage", "SandboxPolicy", "SandboxSupervisor", "SandboxModel", "SandboxReports",
                "SandboxKernel", .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SandboxIntegrationTests",
            dependencies: [
                "SandboxSupervisor", "SandboxKernel", "SandboxModel", "SandboxImage", "SandboxPolicy",
                .product(name: "SystemPackage", package: "swift-system"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// `make fuzz` builds the libFuzzer harness of every parser of untrusted input
// (Sources/sandbox-fuzz) with SANDBOX_FUZZ set; other builds leave it out, since
// its entry point is libFuzzer's own.
if ProcessInfo.processInfo.environment["SANDBOX_FUZZ"] != nil {
    package.targets.append(
        .executableTarget(
            name: "sandbox-fuzz",
            dependencies: ["SandboxModel", "SandboxPolicy", "SandboxReports"],
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        ))
}
