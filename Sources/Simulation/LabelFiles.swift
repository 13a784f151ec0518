import BinCore
import Foundation

extension LabelMap {
    /// Reads and parses a map file (`maps/*.tsv`).
    /// - Throws: `SimulationError.unreadable`, or `BinCoreError` naming `file:line`.
    public static func load(contentsOfFile path: String) throws -> LabelMap {
        try parse(try readText(path), file: path)
    }
}

extension LabelsFile {
    /// Reads a one-label-per-line file (`--labels L.txt`).
    /// - Throws: `SimulationError.unreadable`, or `BinCoreError` naming `file:line`.
    public static func load(contentsOfFile path: String) throws -> [String] {
        try parse(try readText(path), file: path)
    }
}

func readText(_ path: String) throws(SimulationError) -> String {
    do { return try String(contentsOfFile: path, encoding: .utf8) } catch {
        throw SimulationError(.unreadable, "\(path): \(error.localizedDescription)")
    }
}
