// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "Stats",
    dependencies: [
        .package(url: "https://github.com/apple/swift-numerics.git", from: "1.0.0")
    ],
    targets: [
        .target(name: "Stats", dependencies: [.product(name: "RealModule", package: "swift-numerics")]),
        .testTarget(name: "StatsTests", dependencies: ["Stats"]),
    ]
)
