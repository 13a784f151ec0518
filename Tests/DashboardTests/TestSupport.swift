import BinCore
import BinTestKit
import Dashboard
import Foundation
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// Builders and helpers shared by the dashboard tests.
enum Fixtures {
    /// An `…/event` payload as the firmware would publish it.
    static func event(id: String = UUID().uuidString, bin: String, seq: UInt64, timestamp: Double,
                      label: String = "glass", route: String = "recyclable", fallback: Bool = false,
                      confidence: Double = 0.9, totalMS: Double = 120) -> [UInt8] {
        EventEncoding.encode(BinEvent(
            id: id, seq: seq, binID: bin, timestamp: timestamp,
            classification: Classification(label: label, classIndex: 1, confidence: confidence,
                                            top: [LabelScore(label: label, score: confidence)]),
            route: Route(bin: route, angleDegrees: route == "other" ? -45 : 45, fallback: fallback),
            model: ModelInfo(name: "tiny", sha256: String(repeating: "ab", count: 32), precision: "fp32"),
            timings: StageTimings(capture: 5, preprocess: 3, inference: totalMS / 2, actuate: totalMS / 4, total: totalMS),
            firmware: "test"))
    }

    static func eventRecord(id: String = UUID().uuidString, fleet: String = "f1", bin: String, seq: UInt64,
                            timestamp: Double, route: String = "recyclable", fallback: Bool = false,
                            label: String = "glass", confidence: Double = 0.9, totalMS: Double = 120) throws -> EventRecord {
        try EventRecord(payload: event(id: id, bin: bin, seq: seq, timestamp: timestamp, label: label, route: route,
                                       fallback: fallback, confidence: confidence, totalMS: totalMS),
                        fleet: fleet, binID: bin, receivedAt: timestamp + 0.01)
    }

    static func status(_ state: String, fault: String? = nil) -> String {
        String(decoding: EventEncoding.encode(BinStatus(state: state, faultReason: fault), timestamp: 1_700_000_000), as: UTF8.self)
    }

    /// A fresh SQLite path in a temporary directory.
    static func databasePath() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-dashboard-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("dashboard.sqlite").path
    }

    /// The package root (this file is `Tests/DashboardTests/TestSupport.swift`).
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()

    /// A built executable of this package (`.build/debug/<name>`), or nil when it is missing.
    /// `SMARTBIN_BUILD_DIR` overrides the build directory.
    static func builtExecutable(_ name: String) -> URL? {
        let directory = ProcessInfo.processInfo.environment["SMARTBIN_BUILD_DIR"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.appendingPathComponent(".build/debug")
        let url = directory.appendingPathComponent(name)
        return FileManager.default.isExecutableFile(atPath: url.path) ? url : nil
    }
}

/// Polls `condition` every 20 ms until it holds or `timeout` passes; returns whether it held.
func eventually(timeout: Duration = .seconds(10), _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}

/// Parses a JSON array of objects (an API response body).
func jsonObjects(_ text: String) throws -> [[String: Any]] {
    guard let array = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [[String: Any]] else {
        throw DashboardError(.badRequest, "not a JSON array of objects: \(text.prefix(200))")
    }
    return array
}

/// A child process with its output collected in a file, killed by PID when released.
final class ChildProcess: @unchecked Sendable {
    let process = Process()
    let outputURL: URL
    private let lock = NSLock()

    init(_ executable: URL, _ arguments: [String], stdin: Pipe? = nil) throws {
        outputURL = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-child-\(UUID().uuidString).log")
        FileManager.default.createFile(atPath: outputURL.path, contents: nil)
        let handle = try FileHandle(forWritingTo: outputURL)
        process.executableURL = executable
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = stdin ?? FileHandle.nullDevice
        try process.run()
        try? handle.close()
    }

    var output: String { (try? String(contentsOf: outputURL, encoding: .utf8)) ?? "" }

    /// Waits up to `timeout` for the process to exit; true when it did.
    func waitForExit(timeout: Duration) async -> Bool {
        await eventually(timeout: timeout) { !process.isRunning }
    }

    func signal(_ number: Int32) {
        if process.isRunning { kill(process.processIdentifier, number) }
    }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        try? FileManager.default.removeItem(at: outputURL)
    }
}

/// Records published commands instead of sending them.
final class RecordingCommandPublisher: CommandPublisher, @unchecked Sendable {
    private let lock = NSLock()
    private var _published: [(topic: String, payload: String)] = []

    var published: [(topic: String, payload: String)] { lock.withLock { _published } }

    func publishCommand(topic: String, payload: [UInt8]) async throws {
        lock.withLock { _published.append((topic, String(decoding: payload, as: UTF8.self))) }
    }
}

/// What the end-to-end tests need from the build and the machine.
enum EndToEnd {
    /// `.build/debug/smartbin`, when built.
    static var smartbin: URL? { Fixtures.builtExecutable("smartbin") }
    /// `.build/debug/smartbin-dashboard`, when built.
    static var dashboard: URL? { Fixtures.builtExecutable("smartbin-dashboard") }
    /// The tiny test model (`tools/make_test_models.sh out/models`; `SMARTBIN_TEST_MODELS`
    /// overrides the folder), when generated.
    static var tinyModel: String? {
        let folder = ProcessInfo.processInfo.environment["SMARTBIN_TEST_MODELS"]
            ?? Fixtures.packageRoot.appendingPathComponent("out/models").path
        let path = folder + "/tiny-v1.5-torch-6.onnx"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
    /// Debian's Chromium, when installed (`tools/setup.sh` installs it).
    static var chromium: String? {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
    static var python: String? {
        ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static var canSimulate: Bool { MosquittoBroker.isInstalled && smartbin != nil && tinyModel != nil }
    static var canBrowse: Bool { MosquittoBroker.isInstalled && dashboard != nil && chromium != nil && python != nil }

    /// Starts `smartbin simulate` for `bin` against the broker with its own outbox directory.
    static func simulate(bin: String, items: Int, rate: Double, port: Int) throws -> ChildProcess {
        let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-sim-\(UUID().uuidString)").path
        return try ChildProcess(smartbin!, ["simulate", "--broker", "127.0.0.1:\(port)", "--bin-id", bin, "--fleet", "sim",
                                            "--items", "\(items)", "--rate", "\(rate)", "--model", tinyModel!,
                                            "--data-dir", dataDir])
    }
}
