import Foundation
@testable import Hardware

/// Fixtures next to this file (the test target declares no resources, so read them by path).
enum Fixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures")

    static func data(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: directory.appendingPathComponent(name)))
    }

    static func text(_ name: String) throws -> String {
        try String(contentsOf: directory.appendingPathComponent(name), encoding: .utf8)
    }

    /// `rising <ns>` / `falling <ns>` lines; `#` comments; other lines are returned as markers.
    static func edges(_ name: String) throws -> [(marker: String?, edge: GPIOEdge?)] {
        try text(name).split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard let first = parts.first, !first.hasPrefix("#"), parts.count == 2, let ns = Int64(parts[1]) else { return nil }
            switch first {
            case "rising": return (nil, GPIOEdge(.rising, at: .nanoseconds(ns)))
            case "falling": return (nil, GPIOEdge(.falling, at: .nanoseconds(ns)))
            default: return ("\(first) \(ns)", nil)
            }
        }
    }

    /// The repository root (for `board/`).
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
}

/// A fresh temporary directory, removed by `remove()`.
struct TempDirectory {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "smartbin-hw-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    func write(_ text: String, to relative: String) throws {
        let url = URL(fileURLWithPath: path + "/" + relative)
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try text.write(to: url, atomically: false, encoding: .utf8)
    }
}

/// Whether any node matching `prefix` exists in /dev (for hardware-gated tests).
func devicePresent(_ prefix: String) -> Bool {
    ((try? FileManager.default.contentsOfDirectory(atPath: "/dev")) ?? []).contains { $0.hasPrefix(prefix) }
}
