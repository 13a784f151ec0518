// swift-tools-version:6.1
//
// SmartBin: firmware for a camera-equipped waste bin that classifies each item with
// ResNet50, turns a servo flap to the right compartment and reports over MQTT.
// Module boundaries follow ../shared/DESIGN.md; see README.md ("Architecture").

import PackageDescription

/// C code that does numeric work is always optimised, even in debug builds, so that
/// `swift test` runs whole networks in seconds rather than minutes.
let optimisedC: [CSetting] = [.unsafeFlags(["-O2", "-fno-strict-aliasing"])]

let package = Package(
    name: "SmartBin",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "smartbin", targets: ["smartbin"]),
        .library(name: "BinCore", targets: ["BinCore"]),
        .library(name: "Inference", targets: ["Inference"]),
        .executable(name: "smartbin-dashboard", targets: ["smartbin-dashboard"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.28.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // MARK: C libraries, one target each, imported only by the adapter that wraps them.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto",
                       providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CGPIOD", pkgConfig: "libgpiod",
                       providers: [.apt(["libgpiod-dev"])]),
        // libjpeg and libv4l2 come in through pkg-config like the others, underneath a small C
        // shim (libjpeg's errors need setjmp; V4L2's VIDIOC_* are macros): the shim is the library's
        // one C* module, and the Lib* system-library target under it is only its build dependency.
        .systemLibrary(name: "LibJPEG", pkgConfig: "libjpeg",
                       providers: [.apt(["libjpeg62-turbo-dev"])]),
        .systemLibrary(name: "LibV4L2", pkgConfig: "libv4l2",
                       providers: [.apt(["libv4l-dev"])]),
        .target(name: "CJPEG", dependencies: ["LibJPEG"], cSettings: optimisedC),
        .target(name: "CV4L2", dependencies: ["LibV4L2"]),
        .target(name: "CKernels", cSettings: optimisedC, linkerSettings: [.linkedLibrary("m")]),

        // MARK: Swift modules.
        .target(name: "BinCore", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .target(name: "Inference", dependencies: [
            "CKernels", "COpenBLAS",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .target(name: "Imaging", dependencies: ["CJPEG"]),
        .target(name: "Telemetry", dependencies: [
            "BinCore", "CMosquitto",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Hardware", dependencies: [
            "BinCore", "Imaging", "CGPIOD", "CV4L2",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Simulation", dependencies: [
            "BinCore", "Imaging",
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "SmartBinApp", dependencies: [
            "BinCore", "Inference", "Imaging", "Telemetry", "Hardware", "Simulation",
            .product(name: "Logging", package: "swift-log"),
            .product(name: "TOMLKit", package: "TOMLKit"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "smartbin", dependencies: [
            "SmartBinApp", "Inference", "Imaging", "BinCore", "Hardware",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        /// The fleet dashboard: MQTT ingest into SQLite (GRDB) and a Hummingbird web server.
        .target(name: "Dashboard", dependencies: [
            "Telemetry",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "GRDB", package: "GRDB.swift"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        .executableTarget(name: "smartbin-dashboard", dependencies: [
            "Dashboard", "Telemetry",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        /// The fuzz targets' bodies (Fuzz/README.md): replayed by ReliabilityTests, driven by libFuzzer
        /// in the `fuzz-*` executables below.
        .target(name: "FuzzHarness", dependencies: [
            "BinCore", "CKernels", "Imaging", "Inference", "SmartBinApp", "Telemetry",
            .product(name: "Logging", package: "swift-log"),
        ], path: "Fuzz/Harness"),
        /// Fakes and fixtures shared by the test targets (not a test target itself).
        .target(name: "BinTestKit", dependencies: ["BinCore", .product(name: "Logging", package: "swift-log")]),

        // MARK: Tests.
        .testTarget(name: "BinCoreTests", dependencies: ["BinCore", "BinTestKit", .product(name: "Logging", package: "swift-log")],
                    exclude: ["Scenarios"]),
        .testTarget(name: "InferenceTests", dependencies: ["Inference", "CKernels", "Imaging", "BinTestKit"]),
        .testTarget(name: "ImagingTests", dependencies: ["Imaging", "BinTestKit"]),
        .testTarget(name: "TelemetryTests", dependencies: ["Telemetry", "BinCore", "BinTestKit"]),
        .testTarget(name: "SimulationTests", dependencies: ["Simulation", "BinCore", "BinTestKit"]),
        .testTarget(name: "HardwareTests", dependencies: ["Hardware", "BinCore"], exclude: ["Fixtures"]),
        .testTarget(name: "DashboardTests", dependencies: [
            "Dashboard", "Telemetry", "BinCore", "BinTestKit",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: ["SmartBinApp", "BinCore", "BinTestKit"]),
        .testTarget(name: "ReliabilityTests", dependencies: ["Telemetry", "BinCore", "BinTestKit", "SmartBinApp",
                                                             "Imaging", "Simulation", "FuzzHarness",
                                                             .product(name: "Logging", package: "swift-log")]),
    ]
)

// MARK: libFuzzer executables, only when SMARTBIN_FUZZ is set (they have no `main`; libFuzzer's
// comes in with `--sanitize fuzzer`). `make fuzz` builds them into .build-fuzz; see Fuzz/README.md.
if Context.environment["SMARTBIN_FUZZ"] != nil {
    for name in ["jpeg", "onnx", "compiled", "config", "command", "outbox"] {
        package.targets.append(.executableTarget(name: "fuzz-\(name)", dependencies: ["FuzzHarness"],
                                                 path: "Fuzz/Targets/\(name)"))
    }
}
