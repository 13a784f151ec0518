import BinTestKit
import Foundation
import Testing

/// A small seeded generator so kernel tests draw the same "random" shapes every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E3779B97F4A7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58476D1CE4E5B9
        z = (z ^ (z >> 27)) &* 0x94D049BB133111EB
        return z ^ (z >> 31)
    }
}

extension Array where Element == Float {
    static func random(count: Int, using rng: inout SplitMix64) -> [Float] {
        (0..<count).map { _ in Float.random(in: -1...1, using: &rng) }
    }
}

/// Where the package's files are, found from this source file's path.
enum Paths {
    static let packageRoot: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    /// The generated test models (`make models`, or `tools/make_test_models.sh out/models`).
    static var models: String {
        ProcessInfo.processInfo.environment["SMARTBIN_TEST_MODELS"] ?? packageRoot + "/out/models"
    }

    static var python: String { ProcessInfo.processInfo.environment["PYTHON"] ?? "python3" }

    static func model(_ name: String) throws -> String {
        let path = models + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw TestFailure("test model \(path) is missing: run `make models` (tools/make_test_models.sh \(models))")
        }
        return path
    }

    static func temporaryDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "smartbin-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Runs a program to completion and returns its exit status, stdout and stderr.
@discardableResult
func runProcess(_ executable: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try ChildProcess.run(executable, arguments)
}
