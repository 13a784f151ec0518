import BinCore
import CKernels
import Foundation
import Imaging
import Inference
import Logging
import SmartBinApp
import Telemetry
#if canImport(Glibc)
import Glibc
#endif

/// One function per fuzz target: feed it any bytes; it must return (an error is fine) and never
/// trap, hang or run out of memory. The libFuzzer executables in `Fuzz/Targets/` call these, and
/// `FuzzRegressionTests` replays `Fuzz/corpus/` and `Fuzz/regressions/` through them in
/// `make test`.
public enum FuzzHarness {
    public static let targets: [String: @Sendable ([UInt8]) -> Void] = [
        "jpeg": jpeg, "onnx": onnx, "config": config, "command": command, "outbox": outbox,
        "compiled": compiled,
    ]

    /// `Imaging.JPEG.decode` (libjpeg-turbo behind the `CJPEG` shim, EXIF orientation in Swift).
    public static func jpeg(_ bytes: [UInt8]) {
        guard let image = try? JPEG.decode(bytes, source: "fuzz.jpg") else { return }
        precondition(image.pixels.count == image.width * image.height * 3, "decoded buffer does not match its size")
    }

    /// `Inference.Network.load(onnxBytes:path:)`: protobuf decode, graph checks, weight import.
    public static func onnx(_ bytes: [UInt8]) {
        _ = try? Network.load(onnxBytes: Data(bytes), path: "fuzz.onnx")
    }

    /// `ConfigLoader.parse` (TOMLKit/toml++ underneath, then our strict schema).
    public static func config(_ bytes: [UInt8]) {
        _ = try? ConfigLoader.parse(String(decoding: bytes, as: UTF8.self), file: "fuzz.toml")
    }

    /// A schema with every field type, like the real commands'.
    static let schema = CommandSchema([
        .init("enabled", .bool), .init("angle_deg", .number(0...180)),
        .init("bin", .string(maxLength: 64, oneOf: ["recyclable", "other"])), .init("path", .string(maxLength: 1024, oneOf: nil)),
    ])

    /// `CommandRequest.parse` (size bound, strict JSON, schema), plus a property: whatever parses
    /// re-encodes to JSON that parses to the same value.
    public static func command(_ bytes: [UInt8]) {
        _ = try? CommandRequest.parse(name: "fuzz", payload: bytes, schema: schema)
        guard bytes.count <= CommandRequest.maxPayloadBytes, let value = try? CommandJSON.parse(bytes) else { return }
        let again = try? CommandJSON.parse(value.encoded())
        precondition(again == value, "JSON round trip changed the value: \(String(decoding: value.encoded(), as: UTF8.self))")
    }

    /// `Outbox` open/recovery on arbitrary log and ack-log bytes, then an append and a reopen
    /// whose records must match. Input: `[mode][u16 LE split][bytes]`; the first `split` bytes
    /// are `outbox.log`, the rest `outbox.acks`; mode bit 0 puts a valid header in front of the
    /// log (so the fuzzer reaches the record framing), bit 1 writes the ack log at all.
    public static func outbox(_ bytes: [UInt8]) {
        guard bytes.count >= 3 else { return }
        let mode = bytes[0]
        let rest = Array(bytes.dropFirst(3))
        let split = min(rest.count, Int(bytes[1]) | Int(bytes[2]) << 8)
        var log = Array(rest[..<split])
        let acks = Array(rest[split...])
        if mode & 1 == 1 {
            let body = Array("SBOUTBX1".utf8) + [UInt8](repeating: 0, count: 8)
            log = body + le32(CRC32C.checksum(body)) + [0, 0, 0, 0] + log
        }
        let directory = scratch + "/outbox-\(getpid())"
        try? FileManager.default.removeItem(atPath: directory)
        try? FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        _ = FileManager.default.createFile(atPath: directory + "/outbox.log", contents: Data(log))
        if mode & 2 == 2 { _ = FileManager.default.createFile(atPath: directory + "/outbox.acks", contents: Data(acks)) }
        guard let box = try? Outbox(directory: directory, logger: .init(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }) else { return }
        let pending = box.pending()
        precondition(zip(pending, pending.dropFirst()).allSatisfy { $0.id < $1.id }, "pending ids not increasing")
        precondition(pending.allSatisfy { $0.id < box.nextID && $0.id > 0 }, "a pending id at or past nextID")
        guard let id = try? box.append([1, 2, 3]) else { return }
        guard let reopened = try? Outbox(directory: directory, logger: .init(label: "fuzz") { _ in SwiftLogNoOpLogHandler() }) else {
            preconditionFailure("an outbox we just wrote does not reopen")
        }
        precondition(reopened.pending() == pending + [.init(id: id, payload: [1, 2, 3])], "reopen lost or changed records")
    }

    /// `Inference.CompiledModel(path:)` on arbitrary file bytes: header, section table, section
    /// CRCs, then the `meta`, `graph`, `labels` and `quant` sections; whatever opens must describe
    /// itself without trapping. Input: `[mode][file bytes]`; mode bit 0 re-stamps every CRC-32
    /// (each section's, the table's, the header's) and bit 1 the declared file size, so the fuzzer
    /// gets past the checksums into the JSON sections and the graph checks behind them.
    public static func compiled(_ bytes: [UInt8]) {
        guard let mode = bytes.first else { return }
        var file = Array(bytes.dropFirst())
        if mode & 2 == 2, file.count >= 24 { put(UInt64(file.count), at: 16, in: &file) }
        if mode & 1 == 1 { restampChecksums(&file) }
        let path = scratch + "/compiled-\(getpid()).sbm"
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard FileManager.default.createFile(atPath: path, contents: Data(file)),
              let model = try? CompiledModel(path: path) else { return }
        _ = model.layerDescriptions
        _ = (model.inputShape, model.inputLayout, model.outputCount, model.hasFP32, model.hasInt8, model.labelsTSV)
    }

    /// Recomputes a compiled model's CRC-32s in place, as `ModelFile.write` stamps them: each
    /// section's that lies inside the file, then the section table's, then the header's.
    static func restampChecksums(_ file: inout [UInt8]) {
        let header = 64, entry = 48
        guard file.count >= header else { return }
        func u64(_ at: Int) -> Int {
            Int(truncatingIfNeeded: (0..<8).reduce(UInt64(0)) { $0 | UInt64(file[at + $1]) << (8 * UInt64($1)) })
        }
        func crc(_ range: Range<Int>) -> UInt32 { file[range].withUnsafeBytes { sb_crc32(0, $0.baseAddress, $0.count) } }
        let count = min(64, (0..<4).reduce(0) { $0 | Int(file[12 + $1]) << (8 * $1) })
        let tableEnd = min(file.count, header + count * entry)
        for at in stride(from: header, to: tableEnd - entry + 1, by: entry) {
            let offset = u64(at + 16), size = u64(at + 24)
            guard offset >= 0, size >= 0, offset <= file.count, size <= file.count - offset else { continue }
            put(crc(offset..<offset + size), at: at + 32, in: &file)
        }
        put(crc(header..<tableEnd), at: 24, in: &file)
        put(crc(0..<28), at: 28, in: &file)
    }

    /// Writes `value` little-endian at `offset` (which must leave room for it).
    static func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        for i in 0..<MemoryLayout<T>.size { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * i)) }
    }

    static func le32(_ value: UInt32) -> [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) } }

    /// tmpfs when there is one (fsync is free there).
    static let scratch: String = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
}
