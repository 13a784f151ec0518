import CKernels
import Foundation

/// The layout of a compiled model file (`.sbm`), version 2. All integers little-endian.
///
/// ```
/// offset 0    header, 64 bytes
///             0  magic "SBMODEL\0"        8 bytes
///             8  format version (2)       u32
///             12 section count            u32
///             16 file size                u64
///             24 CRC-32 of the table      u32
///             28 CRC-32 of bytes 0..<28   u32
///             32 reserved, zero           32 bytes
/// offset 64   section table, 48 bytes per section
///             0  name, ASCII, NUL-padded  16 bytes
///             16 offset                   u64 (a multiple of 4096)
///             24 size                     u64
///             32 CRC-32 of the section    u32
///             36 reserved, zero           12 bytes
/// then        the sections, each starting on a 4096-byte boundary (so weights can be used in
///             place from the mapping and their pages dropped once packed), zero padding between.
/// ```
/// Sections: `meta` (JSON: name, source ONNX SHA-256, precisions, preprocessing), `graph` (JSON:
/// layers and shapes), `labels` (TSV: index, label, bin), `weights.fp32` (the fp32 arena the
/// graph's slices index: float32 [count]), `weights.int8` (int8 conv weights, unpacked
/// [outChannels, reduction] row-major per conv), `quant` (JSON: activation scales and zero
/// points, per-channel weight scales, calibration summary).
/// CRC-32 is the IEEE polynomial (zlib's `crc32`).
///
/// Versions: 1 — the first. 2 — the same layout; `quant` adds each int8 convolution's int32 bias
/// (after bias correction), corrected classifier-head biases, and projection shortcuts whose
/// output is not quantised (added in fp32 before their block's requantisation, which a version-1
/// reader would refuse or, for the biases, silently ignore — hence the new number). Version-1
/// files still load (no bias correction; their fp32 biases are quantised at load).
public enum ModelFile {
    public static let magic: [UInt8] = Array("SBMODEL\0".utf8)
    /// The version this firmware writes.
    public static let version: UInt32 = 2
    /// The versions this firmware reads.
    public static let readableVersions: ClosedRange<UInt32> = 1...2
    static let headerSize = 64
    static let entrySize = 48
    static let alignment = 4096

    /// One section as the table records it.
    public struct Section: Sendable, Hashable {
        public var name: String
        public var offset: Int
        public var size: Int
        public var crc32: UInt32
    }

    /// Writes `sections` (name, bytes) as one file at `path` (atomically: a temporary file, then rename).
    static func write(_ sections: [(String, Data)], to path: String, version: UInt32 = version) throws(InferenceError) {
        var table: [Section] = []
        var cursor = (headerSize + entrySize * sections.count + alignment - 1) / alignment * alignment
        for (name, data) in sections {
            precondition(name.utf8.count <= 16, "section names have at most 16 bytes")
            table.append(Section(name: name, offset: cursor, size: data.count, crc32: crc(data)))
            cursor = (cursor + data.count + alignment - 1) / alignment * alignment
        }
        let fileSize = table.last.map { $0.offset + $0.size } ?? headerSize
        var tableBytes = Data()
        for s in table {
            var name = Array(s.name.utf8); name += [UInt8](repeating: 0, count: 16 - name.count)
            tableBytes.append(contentsOf: name)
            tableBytes.append(le: UInt64(s.offset)); tableBytes.append(le: UInt64(s.size)); tableBytes.append(le: s.crc32)
            tableBytes.append(Data(count: 12))
        }
        var header = Data(magic)
        header.append(le: version); header.append(le: UInt32(table.count)); header.append(le: UInt64(fileSize))
        header.append(le: crc(tableBytes))
        header.append(le: crc(header))
        header.append(Data(count: headerSize - header.count))
        var file = header + tableBytes
        for (s, (_, data)) in zip(table, sections) {
            file.append(Data(count: s.offset - file.count))
            file.append(data)
        }
        let temporary = path + ".tmp-\(getpid())"
        do {
            try file.write(to: URL(fileURLWithPath: temporary))
            if FileManager.default.fileExists(atPath: path) { try FileManager.default.removeItem(atPath: path) }
            try FileManager.default.moveItem(atPath: temporary, toPath: path)
        } catch {
            try? FileManager.default.removeItem(atPath: temporary)
            throw InferenceError(.fileUnreadable, "\(path): cannot write the compiled model: \(error.localizedDescription)")
        }
    }

    static func crc(_ data: Data) -> UInt32 { data.withUnsafeBytes { sb_crc32(0, $0.baseAddress, $0.count) } }

    /// Reads and checks the header and table of a mapped file and the CRC of every section,
    /// dropping each checked MiB of the mapping again (so checking a file never makes it all
    /// resident: weights come back page by page when an engine first reads them).
    /// - Throws: `InferenceError(.malformedModel)` naming the part (header, section table or
    ///   section) and its offset when the file is truncated or altered.
    static func sections(of file: MappedFile) throws(InferenceError) -> [Section] {
        let path = file.path
        func u32(_ at: Int) -> UInt32 { file.base.loadUnaligned(fromByteOffset: at, as: UInt32.self).littleEndian }
        func u64(_ at: Int) -> Int { Int(truncatingIfNeeded: file.base.loadUnaligned(fromByteOffset: at, as: UInt64.self).littleEndian) }
        guard file.size >= headerSize else {
            throw InferenceError(.malformedModel, "\(path): truncated in the header (offset 0): the file has \(file.size) bytes, the header alone needs \(headerSize)")
        }
        guard (0..<8).allSatisfy({ file.base.load(fromByteOffset: $0, as: UInt8.self) == magic[$0] }) else {
            throw InferenceError(.malformedModel, "\(path): not a SmartBin compiled model (bad magic at offset 0; expected \"SBMODEL\")")
        }
        guard sb_crc32(0, file.base, 28) == u32(28) else {
            throw InferenceError(.malformedModel, "\(path): header (offset 0) fails its CRC-32: the file is altered or corrupt")
        }
        guard readableVersions.contains(u32(8)) else {
            throw InferenceError(.malformedModel, "\(path): format version \(u32(8)) at offset 8; this firmware reads versions \(readableVersions.lowerBound)–\(readableVersions.upperBound) (compile the model again with this firmware's `smartbin model compile`)")
        }
        let count = Int(u32(12)), declared = u64(16)
        let tableEnd = headerSize + count * entrySize
        guard count <= 64, file.size >= tableEnd else {
            throw InferenceError(.malformedModel, "\(path): truncated in the section table (offset \(headerSize)): it needs \(tableEnd) bytes, the file has \(file.size)")
        }
        guard sb_crc32(0, file.base + headerSize, count * entrySize) == u32(24) else {
            throw InferenceError(.malformedModel, "\(path): section table (offset \(headerSize)) fails its CRC-32: the file is altered or corrupt")
        }
        var result: [Section] = []
        for i in 0..<count {
            let at = headerSize + i * entrySize
            let nameBytes = (0..<16).map { file.base.load(fromByteOffset: at + $0, as: UInt8.self) }.prefix { $0 != 0 }
            let s = Section(name: String(decoding: nameBytes, as: UTF8.self), offset: u64(at + 16), size: u64(at + 24), crc32: u32(at + 32))
            guard s.offset >= tableEnd, s.size >= 0, s.offset <= Int.max - s.size else {
                throw InferenceError(.malformedModel, "\(path): section '\(s.name)' has a bad extent (offset \(s.offset), size \(s.size))")
            }
            guard s.offset + s.size <= file.size else {
                throw InferenceError(.malformedModel, "\(path): truncated in section '\(s.name)' (offset \(s.offset), size \(s.size)): the file ends at \(file.size)")
            }
            result.append(s)
        }
        guard file.size == declared else {
            throw InferenceError(.malformedModel, "\(path): the file has \(file.size) bytes but its header (offset 16) says \(declared): truncated or extended")
        }
        for s in result {
            // In 1 MiB steps so that `verified` can drop pages of a big section as we go.
            var c: UInt32 = 0, done = 0
            while done < s.size {
                let n = min(1 << 20, s.size - done)
                c = sb_crc32(c, file.base + s.offset + done, n)
                file.release(file.base + s.offset + done, n)
                done += n
            }
            guard c == s.crc32 else {
                throw InferenceError(.malformedModel, String(format: "%@: section '%@' (offset %d, size %d) fails its CRC-32 (stored %08x, computed %08x): the file is altered or corrupt", path, s.name, s.offset, s.size, s.crc32, c))
            }
        }
        return result
    }
}

extension Data {
    mutating func append<T: FixedWidthInteger>(le value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}
