#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging

/// A durable, append-only log of events not yet acknowledged by the broker.
///
/// Layout of the data directory:
/// - `outbox.log`: a 24-byte header (`SBOUTBX1`, the u64 id the next record gets when the log
///   holds none, a CRC32C of those 16 bytes, 4 reserved bytes), then records framed as
///   `[u32 length][u32 CRC32C of payload][payload]`, little endian, payload =
///   `[u64 record id][event bytes]`.
/// - `outbox.acks`: records in the same framing whose payload is the u64 id of an acknowledged
///   record.
///
/// Every append is fsynced before it returns (and the directory when a file is created or
/// renamed), so a returned id survives a crash or power cut. Record ids start at 1, increase by
/// one and are never reused, which makes them the event `seq`. When acknowledged records add up
/// to the compaction threshold (or nothing is pending), the log is rewritten with only the
/// pending records (temp file, fsync, rename, fsync directory) and the ack log is emptied.
///
/// On open, a torn or corrupt tail (a power cut mid-append) is logged with its offset and
/// truncated off; every complete record before it is kept. A damaged record in the middle of the
/// log also ends the readable part (the framing cannot be trusted past it).
///
/// All calls block on disk I/O (fsync: milliseconds on an SD card). Thread safe.
public final class Outbox: @unchecked Sendable {
    /// One pending record.
    public struct Record: Sendable, Hashable {
        /// Record id (1, 2, …), used as the event `seq`.
        public var id: UInt64
        public var payload: [UInt8]

        public init(id: UInt64, payload: [UInt8]) {
            self.id = id
            self.payload = payload
        }
    }

    static let magic: [UInt8] = Array("SBOUTBX1".utf8)
    static let headerSize = 24
    static let frameHeaderSize = 8
    /// Largest payload accepted in one record (a sanity bound when reading lengths from disk).
    public static let maxRecordSize = 16 * 1024 * 1024

    public let directory: String
    public let logPath: String
    public let ackPath: String
    /// Bytes the log may hold (header + pending records) before `append` throws `outboxFull`.
    public let maxBytes: Int
    /// Dead (acknowledged) bytes in the log that trigger a compaction.
    public let compactionThreshold: Int
    private let logger: Logger

    private struct Entry {
        var id: UInt64
        var payload: [UInt8]
        var frameSize: Int { Outbox.frameHeaderSize + 8 + payload.count }
    }

    private struct State {
        var logFD: Int32 = -1
        var ackFD: Int32 = -1
        var logEnd = 0
        var ackEnd = 0
        var pending: [Entry] = []
        var nextID: UInt64 = 1
        var deadBytes = 0
        var warnedNearFull = false
        var nearFullWarnings = 0
        var rejectedFull = 0
        var tornTailsTruncated = 0
    }

    /// Fill level and trouble counters, for the `…/state` document and `smartbin doctor`.
    public struct Metrics: Sendable, Hashable {
        /// Records appended and not yet acknowledged.
        public var pendingRecords: Int
        /// Bytes those records take in the log (with the header): what counts against `maxBytes`.
        public var pendingBytes: Int
        public var maxBytes: Int
        /// At or above `Outbox.nearFullFraction` of `maxBytes` (a warning is logged on crossing).
        public var nearFull: Bool
        /// Times the near-full warning was logged (once per crossing) since open.
        public var nearFullWarnings: Int
        /// Appends refused with `.outboxFull` since open (each one an event lost).
        public var rejectedFull: Int
        /// Torn or corrupt tails (log or ack log) cut off when this outbox was opened.
        public var tornTailsTruncated: Int

        /// `pendingBytes / maxBytes`, 0...1.
        public var fill: Double { maxBytes > 0 ? Double(pendingBytes) / Double(maxBytes) : 0 }
    }

    /// The fraction of `maxBytes` above which the outbox counts as nearly full.
    public static let nearFullFraction = 0.8

    private let state: Locked<State>

    /// Opens (or creates) the outbox in `directory`, recovering from a torn tail.
    /// - Parameters:
    ///   - directory: data directory, created with its parents if missing.
    ///   - maxBytes: size limit of the log; a warning is logged above 80 %.
    ///   - compactionThreshold: acknowledged bytes that trigger rewriting the log.
    /// - Throws: `TelemetryError` `.outboxIO` (naming the file and call) or `.outboxCorrupt`
    ///   when `outbox.log` exists but its header is not an outbox header.
    public init(directory: String, maxBytes: Int = 64 * 1024 * 1024,
                compactionThreshold: Int = 1024 * 1024,
                logger: Logger = Logger(label: "smartbin.outbox")) throws {
        self.directory = directory
        self.logPath = directory + "/outbox.log"
        self.ackPath = directory + "/outbox.acks"
        self.maxBytes = maxBytes
        self.compactionThreshold = compactionThreshold
        self.logger = logger
        self.state = Locked(State())
        try state.withLock { state in try open(&state) }
    }

    deinit {
        state.withLock { state in
            if state.logFD >= 0 { _ = close(state.logFD) }
            if state.ackFD >= 0 { _ = close(state.ackFD) }
        }
    }

    // MARK: Public API

    /// The id the next appended record will get (the next event `seq`).
    public var nextID: UInt64 { state.withLock { $0.nextID } }

    /// Number of records appended and not yet acknowledged.
    public var pendingCount: Int { state.withLock { $0.pending.count } }

    /// Current size of the log file in bytes (header, pending and not yet compacted records).
    public var logSize: Int { state.withLock { $0.logEnd } }

    /// Fill level and counters now.
    public var metrics: Metrics {
        state.withLock { state in
            let live = liveBytes(state)
            return Metrics(pendingRecords: state.pending.count, pendingBytes: live, maxBytes: maxBytes,
                           nearFull: Double(live) >= Double(maxBytes) * Self.nearFullFraction,
                           nearFullWarnings: state.nearFullWarnings, rejectedFull: state.rejectedFull,
                           tornTailsTruncated: state.tornTailsTruncated)
        }
    }

    /// Pending records, oldest first.
    public func pending() -> [Record] {
        state.withLock { $0.pending.map { Record(id: $0.id, payload: $0.payload) } }
    }

    /// Appends `payload` durably and returns its record id.
    /// - Throws: `.outboxFull` past `maxBytes`, `.outboxIO` when the write or fsync fails.
    @discardableResult
    public func append(_ payload: [UInt8]) throws -> UInt64 {
        try append { _ in payload }
    }

    /// Appends the payload `build` makes from the record's id (so an event can carry its `seq`),
    /// fsyncs it and returns the id.
    /// - Throws: whatever `build` throws, `.outboxFull`, `.outboxIO`.
    @discardableResult
    public func append(building build: (UInt64) throws -> [UInt8]) throws -> UInt64 {
        try state.withLock { state in
            let id = state.nextID
            let entry = Entry(id: id, payload: try build(id))
            guard entry.payload.count + 8 <= Self.maxRecordSize else {
                throw TelemetryError(.outboxFull, "\(logPath): record of \(entry.payload.count) bytes exceeds the \(Self.maxRecordSize)-byte record limit")
            }
            if liveBytes(state) + entry.frameSize > maxBytes && state.deadBytes > 0 {
                try compact(&state)
            }
            let live = liveBytes(state)
            guard live + entry.frameSize <= maxBytes else {
                state.rejectedFull += 1
                logger.error("outbox full: event not stored", metadata: [
                    "file": "\(logPath)", "bytes": "\(live)", "max_bytes": "\(maxBytes)",
                    "pending": "\(state.pending.count)", "rejected_total": "\(state.rejectedFull)"])
                throw TelemetryError(.outboxFull, "\(logPath): full (\(live) of \(maxBytes) bytes pending); record \(id) of \(entry.frameSize) bytes not stored")
            }
            let frame = Self.frame(Self.u64(id) + entry.payload)
            do {
                try FileSyscalls.pwriteAll(state.logFD, frame, at: state.logEnd, logPath)
                try FileSyscalls.sync(state.logFD, logPath)
            } catch {
                // Leave no partial record behind for the next append to follow.
                _ = ftruncate(state.logFD, off_t(state.logEnd))
                throw error
            }
            state.logEnd += frame.count
            state.pending.append(entry)
            state.nextID = id + 1
            let nowLive = liveBytes(state)
            if Double(nowLive) >= Double(maxBytes) * Self.nearFullFraction {
                if !state.warnedNearFull {
                    state.warnedNearFull = true
                    state.nearFullWarnings += 1
                    logger.warning("outbox nearly full", metadata: [
                        "file": "\(logPath)", "bytes": "\(nowLive)", "max_bytes": "\(maxBytes)",
                        "pending": "\(state.pending.count)"])
                }
            } else {
                state.warnedNearFull = false
            }
            return id
        }
    }

    /// Marks record `id` as delivered (durably); unknown or already acknowledged ids are ignored.
    /// - Throws: `.outboxIO` when the ack log cannot be written or fsynced.
    public func acknowledge(_ id: UInt64) throws {
        try state.withLock { state in
            guard let index = state.pending.firstIndex(where: { $0.id == id }) else { return }
            let frame = Self.frame(Self.u64(id))
            try FileSyscalls.pwriteAll(state.ackFD, frame, at: state.ackEnd, ackPath)
            try FileSyscalls.sync(state.ackFD, ackPath)
            state.ackEnd += frame.count
            state.deadBytes += state.pending[index].frameSize
            state.pending.remove(at: index)
            if Double(liveBytes(state)) < Double(maxBytes) * Self.nearFullFraction { state.warnedNearFull = false }
            if state.deadBytes >= compactionThreshold || (state.pending.isEmpty && state.deadBytes > 0) {
                try compact(&state)
            }
        }
    }

    /// Rewrites the log with only the pending records and empties the ack log.
    /// - Throws: `.outboxIO`.
    public func compact() throws {
        try state.withLock { state in try compact(&state) }
    }

    // MARK: Framing

    static func u32(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func u64(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }

    static func readU32(_ bytes: [UInt8], _ at: Int) -> UInt32 {
        (0..<4).reduce(0) { $0 | UInt32(bytes[at + $1]) << (8 * $1) }
    }

    static func readU64(_ bytes: [UInt8], _ at: Int) -> UInt64 {
        (0..<8).reduce(0) { $0 | UInt64(bytes[at + $1]) << (8 * $1) }
    }

    /// `[u32 length][u32 CRC32C][payload]`.
    static func frame(_ payload: [UInt8]) -> [UInt8] {
        u32(UInt32(payload.count)) + u32(CRC32C.checksum(payload)) + payload
    }

    static func header(nextID: UInt64) -> [UInt8] {
        let body = magic + u64(nextID)
        return body + u32(CRC32C.checksum(body)) + [0, 0, 0, 0]
    }

    /// Parses frames from `start`; returns the payloads with their offsets and where the valid
    /// part ends (the offset of the first torn or corrupt frame, or the end of the bytes).
    static func parseFrames(_ bytes: [UInt8], from start: Int,
                            minPayload: Int, maxPayload: Int) -> (frames: [(offset: Int, payload: [UInt8])], validEnd: Int) {
        var frames: [(offset: Int, payload: [UInt8])] = []
        var offset = start
        while offset + frameHeaderSize <= bytes.count {
            let length = Int(readU32(bytes, offset))
            let crc = readU32(bytes, offset + 4)
            guard length >= minPayload, length <= maxPayload,
                  offset + frameHeaderSize + length <= bytes.count else { break }
            let payload = Array(bytes[(offset + frameHeaderSize)..<(offset + frameHeaderSize + length)])
            guard CRC32C.checksum(payload) == crc else { break }
            frames.append((offset, payload))
            offset += frameHeaderSize + length
        }
        return (frames, offset)
    }

    // MARK: Open, recover, compact

    private func liveBytes(_ state: State) -> Int {
        Self.headerSize + state.pending.reduce(0) { $0 + $1.frameSize }
    }

    private func open(_ state: inout State) throws {
        try FileSyscalls.makeDirectories(directory)
        if !FileSyscalls.exists(logPath) {
            try writeLogAtomically(nextID: 1, entries: [])
        }
        let bytes = try FileSyscalls.readAll(logPath)
        guard bytes.count >= Self.headerSize, Array(bytes[0..<8]) == Self.magic,
              CRC32C.checksum(bytes[0..<16]) == Self.readU32(bytes, 16) else {
            throw TelemetryError(.outboxCorrupt, "\(logPath): bad outbox header at offset 0 (\(bytes.count) bytes); move the file aside to start a new outbox")
        }
        let headerNextID = Self.readU64(bytes, 8)
        let parsed = Self.parseFrames(bytes, from: Self.headerSize, minPayload: 8,
                                      maxPayload: Self.maxRecordSize)
        var entries: [Entry] = []
        var validEnd = parsed.validEnd
        for frame in parsed.frames {
            let id = Self.readU64(frame.payload, 0)
            // Ids strictly increase; anything else is damage that happened to pass the CRC.
            if id == 0 || (entries.last.map { id <= $0.id } ?? false) {
                validEnd = frame.offset
                break
            }
            entries.append(Entry(id: id, payload: Array(frame.payload[8...])))
        }
        state.logFD = try FileSyscalls.openFile(logPath, O_WRONLY)
        if validEnd < bytes.count {
            logger.warning("outbox: torn or corrupt tail truncated", metadata: [
                "file": "\(logPath)", "offset": "\(validEnd)", "dropped_bytes": "\(bytes.count - validEnd)",
                "records_kept": "\(entries.count)"])
            state.tornTailsTruncated += 1
            try FileSyscalls.truncate(state.logFD, to: validEnd, logPath)
            try FileSyscalls.sync(state.logFD, logPath)
        }
        state.logEnd = validEnd

        let ackCreated = !FileSyscalls.exists(ackPath)
        state.ackFD = try FileSyscalls.openFile(ackPath, O_RDWR | O_CREAT)
        if ackCreated { try FileSyscalls.fsyncDirectory(directory) }
        let ackBytes = try FileSyscalls.readAll(ackPath)
        let acks = Self.parseFrames(ackBytes, from: 0, minPayload: 8, maxPayload: 8)
        if acks.validEnd < ackBytes.count {
            logger.warning("outbox: torn or corrupt ack tail truncated", metadata: [
                "file": "\(ackPath)", "offset": "\(acks.validEnd)",
                "dropped_bytes": "\(ackBytes.count - acks.validEnd)"])
            state.tornTailsTruncated += 1
            try FileSyscalls.truncate(state.ackFD, to: acks.validEnd, ackPath)
            try FileSyscalls.sync(state.ackFD, ackPath)
        }
        state.ackEnd = acks.validEnd
        let acked = Set(acks.frames.map { Self.readU64($0.payload, 0) })

        state.pending = entries.filter { !acked.contains($0.id) }
        state.deadBytes = entries.filter { acked.contains($0.id) }.reduce(0) { $0 + $1.frameSize }
        // An ack proves its id was issued. When the log lost records (a damaged record ends the
        // readable part), acks for them remain: ids continue past them, or a new record would
        // reuse an acknowledged id (and seq) and count as delivered. Found by the outbox fuzz
        // target (regression in Fuzz/regressions/outbox/).
        let maxAcked = acked.max() ?? 0
        let staleAcks = !acked.isSubset(of: Set(entries.map(\.id)))
        state.nextID = max(headerNextID, (entries.last?.id ?? 0) &+ 1, maxAcked &+ 1, 1)
        if staleAcks {
            logger.warning("outbox: acks for records the log no longer holds; ids continue after them", metadata: [
                "file": "\(ackPath)", "max_acked_id": "\(maxAcked)", "next_id": "\(state.nextID)"])
        }
        if state.deadBytes > 0 || (acks.validEnd > 0 && (state.pending.isEmpty || staleAcks)) {
            try compact(&state)
        }
        if !state.pending.isEmpty {
            logger.info("outbox opened with pending records", metadata: [
                "file": "\(logPath)", "pending": "\(state.pending.count)",
                "first_id": "\(state.pending[0].id)", "next_id": "\(state.nextID)"])
        }
    }

    /// Writes a complete log (header + entries) to a temp file and renames it over the log.
    private func writeLogAtomically(nextID: UInt64, entries: [Entry]) throws {
        let tempPath = logPath + ".tmp"
        var bytes = Self.header(nextID: nextID)
        for entry in entries { bytes += Self.frame(Self.u64(entry.id) + entry.payload) }
        let fd = try FileSyscalls.openFile(tempPath, O_WRONLY | O_CREAT | O_TRUNC)
        do {
            try FileSyscalls.pwriteAll(fd, bytes, at: 0, tempPath)
            try FileSyscalls.sync(fd, tempPath)
        } catch {
            _ = close(fd)
            throw error
        }
        try FileSyscalls.call("close", tempPath) { close(fd) }
        try FileSyscalls.renameFile(tempPath, logPath)
        try FileSyscalls.fsyncDirectory(directory)
    }

    private func compact(_ state: inout State) throws {
        try writeLogAtomically(nextID: state.nextID, entries: state.pending)
        if state.logFD >= 0 { _ = close(state.logFD) }
        state.logFD = try FileSyscalls.openFile(logPath, O_WRONLY)
        state.logEnd = liveBytes(state)
        // The new log no longer holds the acknowledged records, so their acks can go. A crash
        // before this truncation leaves acks for ids that are not in the log: harmless.
        try FileSyscalls.truncate(state.ackFD, to: 0, ackPath)
        try FileSyscalls.sync(state.ackFD, ackPath)
        state.ackEnd = 0
        state.deadBytes = 0
        logger.debug("outbox compacted", metadata: [
            "file": "\(logPath)", "bytes": "\(state.logEnd)", "pending": "\(state.pending.count)"])
    }
}
