import Foundation

/// Runs helper programs from tests (python reference checks, shell scripts) with their output
/// captured in a temporary file rather than a pipe: a pipe's write end can leak into other
/// children started at the same time (brokers, the firmware), and a reader waiting for EOF on it
/// would then hang until those exit.
public enum ChildProcess {
    /// Runs `executable` (looked up on PATH) to completion.
    /// - Returns: exit status, stdout, and stderr (stderr merged into stdout when `mergeErrors`).
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], directory: URL? = nil,
                           mergeErrors: Bool = false) throws -> (status: Int32, stdout: String, stderr: String) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-child-\(UUID().uuidString)")
        let outURL = base.appendingPathExtension("out"), errURL = base.appendingPathExtension("err")
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        let out = try FileHandle(forWritingTo: outURL), err = try FileHandle(forWritingTo: errURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [executable] + arguments
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = mergeErrors ? out : err
        try process.run()
        process.waitUntilExit()
        try out.close()
        try err.close()
        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        return (process.terminationStatus, stdout, stderr)
    }
}
