import BinCore
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The fill records in one small JSON file (`<data_dir>/fill.json`), replaced atomically: written
/// to `fill.json.tmp`, fsynced, renamed over the old file, directory fsynced. A crash leaves the
/// old or the new file, never a torn one.
///
/// Format: `{"schema":1,"compartments":{"other":{"items":8,"alerted":["nearly_full"]},…}}`
/// (compartments sorted). Blocks for one small write and two fsyncs per save.
public struct FillFileStore: FillStore {
    public let path: String

    /// - Parameter directory: the data directory (created on the first save if missing).
    public init(directory: String) {
        path = directory + "/fill.json"
    }

    /// - Throws: `TelemetryError` `.outboxIO` when the file exists but cannot be read,
    ///   `.malformedJSON` naming the file when it is not a fill document.
    public func load() throws -> [String: FillRecord] {
        guard FileSyscalls.exists(path) else { return [:] }
        let bytes = try FileSyscalls.readAll(path)
        return try Self.decode(bytes, file: path)
    }

    /// - Throws: `TelemetryError` `.outboxIO` naming the call and the file.
    public func save(_ records: [String: FillRecord]) async throws {
        let directory = FileSyscalls.parentDirectory(of: path)
        try FileSyscalls.makeDirectories(directory)
        let temporary = path + ".tmp"
        let fd = try FileSyscalls.openFile(temporary, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try FileSyscalls.pwriteAll(fd, Self.encode(records), at: 0, temporary)
            try FileSyscalls.sync(fd, temporary)
        } catch {
            _ = close(fd)
            throw error
        }
        try FileSyscalls.call("close", temporary) { close(fd) }
        try FileSyscalls.renameFile(temporary, path)
        try FileSyscalls.fsyncDirectory(directory)
    }

    /// The file's bytes for `records`.
    public static func encode(_ records: [String: FillRecord]) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.int(1)
        w.key("compartments")
        w.beginObject()
        for (name, record) in records.sorted(by: { $0.key < $1.key }) {
            w.key(name)
            w.beginObject()
            w.key("items"); w.int(record.items)
            w.key("alerted")
            w.beginArray()
            for kind in record.alerted.map(\.rawValue).sorted() { w.string(kind) }
            w.endArray()
            w.endObject()
        }
        w.endObject()
        w.endObject()
        return w.bytes
    }

    /// Parses the file's bytes; unknown alert kinds are dropped.
    public static func decode(_ bytes: [UInt8], file: String) throws -> [String: FillRecord] {
        func bad(_ what: String) -> TelemetryError { TelemetryError(.malformedJSON, "\(file): \(what)") }
        guard let object = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
              let compartments = object["compartments"] as? [String: Any] else {
            throw bad("not a fill document (expected {\"schema\":1,\"compartments\":{…}})")
        }
        var records: [String: FillRecord] = [:]
        for (name, value) in compartments {
            guard let entry = value as? [String: Any], let items = (entry["items"] as? NSNumber)?.intValue, items >= 0 else {
                throw bad("compartments.\(name).items is not a non-negative integer")
            }
            let alerted = (entry["alerted"] as? [String] ?? []).compactMap(FillAlertKind.init(rawValue:))
            records[name] = FillRecord(items: items, alerted: Set(alerted))
        }
        return records
    }
}
