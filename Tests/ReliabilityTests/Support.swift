import BinTestKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Where things are, and small helpers shared by the reliability suites.
enum Reliability {
    static var packageRoot: String { SmartBinChildProcess.packageRoot }

    static func model(_ name: String) throws -> String { try SmartBinChildProcess.model(name) }

    static func temporaryDirectory(_ tag: String = "rel") throws -> String {
        let path = NSTemporaryDirectory() + "smartbin-\(tag)-" + UUID().uuidString.prefix(8)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// A config for fast cycles: no settle, dwell or debounce, and flap angles of a few degrees
    /// (the simulated servo takes 2 ms per degree).
    static let fastConfig = """
        [timing]
        settle_ms = 0
        dwell_ms = 0
        debounce_ms = 0

        [flap]
        home_deg = 0
        angles = { recyclable = 1, other = 2, kitchen = 3, hazardous = 4 }

        """

    static func parseJSON(_ text: String) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any]
    }

    /// Resident set size of this process in KiB (`VmRSS` in /proc/self/status).
    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
        for line in status.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? -1
        }
        return -1
    }

    /// The chaos and soak suites run only with `SMARTBIN_HEAVY_TESTS` set: `make test` runs them
    /// in a step of their own after `swift test`, so they neither starve nor are starved by the
    /// other suites on a small machine.
    static var heavyTestsEnabled: Bool { ProcessInfo.processInfo.environment["SMARTBIN_HEAVY_TESTS"] != nil }

    static func environmentInt(_ name: String, default value: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap(Int.init) ?? value
    }
}

/// A small seeded generator (SplitMix64), so a chaos run can be replayed from its printed seed.
struct ChaosRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
