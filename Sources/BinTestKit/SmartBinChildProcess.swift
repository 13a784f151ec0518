import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The `smartbin` executable as a child process, run as an operator would: stdout and stderr go
/// to a log file in `directory` (a file, not a pipe; see `ChildProcess`), stdin is /dev/null,
/// and the working directory is the package root (so `../shared` resolves as in a checkout).
public final class SmartBinChildProcess: @unchecked Sendable {
    /// The package root (this file is `Sources/BinTestKit/…`).
    public static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The binary under test: `SMARTBIN_BINARY` when it names an executable, else the debug build
    /// `swift test` just made.
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SMARTBIN_BINARY"],
           FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return packageRoot + "/.build/debug/smartbin"
    }

    /// The `smartbin-dashboard` debug build `swift test` just made (`SMARTBIN_BUILD_DIR`
    /// overrides the folder, as for the dashboard's own tests).
    public static var dashboardBinary: String {
        (ProcessInfo.processInfo.environment["SMARTBIN_BUILD_DIR"] ?? packageRoot + "/.build/debug") + "/smartbin-dashboard"
    }

    /// Where `make models` writes the test models (`SMARTBIN_TEST_MODELS` overrides).
    public static var models: String {
        ProcessInfo.processInfo.environment["SMARTBIN_TEST_MODELS"] ?? packageRoot + "/out/models"
    }

    /// The path of test model `name`; throws, naming the fix, when it has not been made.
    public static func model(_ name: String) throws -> String {
        let path = models + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw BrokerHarnessError("test model \(path) is missing: run `make models`")
        }
        return path
    }

    public let process = Process()
    public let outputPath: String

    /// Starts `smartbin arguments…` (or another of the package's executables);
    /// `environment` entries are added to this process's.
    public init(_ arguments: [String], directory: String, environment: [String: String] = [:],
                executable: String = SmartBinChildProcess.binary) throws {
        outputPath = directory + "/smartbin-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.packageRoot)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        try process.run()
        try handle.close()
    }

    /// Everything the process wrote so far.
    public var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }
    public var pid: Int32 { process.processIdentifier }

    /// Waits for the exit within `timeout`; its status, or nil on timeout.
    public func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return process.terminationStatus
    }

    /// Waits until the log contains `text`; false after `timeout` or once the process exited
    /// without writing it.
    public func waitForOutput(_ text: String, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if output.contains(text) { return true }
            if !process.isRunning { return output.contains(text) }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return output.contains(text)
    }

    public func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}
