import BinTestKit
import Foundation

/// Runs the `smartbin` executable as a child process, as an operator would.
final class SmartBinProcess: @unchecked Sendable {
    static var packageRoot: String {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }

    /// The binary under test: `SMARTBIN_BINARY` (set by the Makefile to the release build), else
    /// the debug build `swift test` just made.
    static var binary: String {
        if let path = ProcessInfo.processInfo.environment["SMARTBIN_BINARY"], FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return packageRoot + "/.build/debug/smartbin"
    }

    static var models: String {
        ProcessInfo.processInfo.environment["SMARTBIN_TEST_MODELS"] ?? packageRoot + "/out/models"
    }

    static func model(_ name: String) throws -> String {
        let path = models + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw BrokerHarnessError("test model \(path) is missing: run `make models`")
        }
        return path
    }

    let process = Process()
    let outputPath: String

    init(_ arguments: [String], directory: String) throws {
        outputPath = directory + "/smartbin-\(UUID().uuidString.prefix(8)).log"
        FileManager.default.createFile(atPath: outputPath, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: outputPath))
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: Self.packageRoot)
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? "" }

    /// Waits for the process to exit within `timeout`; returns its status (nil on timeout).
    func wait(timeout: Duration) async -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning {
            if ContinuousClock.now >= deadline { return nil }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return process.terminationStatus
    }

    func signal(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "smartbin-it-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}
