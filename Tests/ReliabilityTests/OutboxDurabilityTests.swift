import BinCore
import BinTestKit
import Foundation
import Testing
@testable import Telemetry

/// Power cuts at every byte of the last write, in the log and in the ack log, with
/// acknowledged records present; crashes around compaction; the size bound's warning and metric.
@Suite struct OutboxDurabilityTests {
    private let quiet = LogCapture().logger(level: .critical)

    private func payload(_ n: Int) -> [UInt8] { Array("event-\(n)-payload-\(String(repeating: "x", count: n % 7))".utf8) }

    private func directory() throws -> String { try Reliability.temporaryDirectory("outbox") }

    private func copy(_ files: [String: Data]) throws -> String {
        let dir = try directory()
        for (name, data) in files { try data.write(to: URL(fileURLWithPath: dir + "/" + name)) }
        return dir
    }

    private func read(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    /// Records 1...5 appended, 1 and 3 acknowledged (no compaction), then 6 torn at every offset:
    /// 2, 4, 5 stay pending with their payloads, 1 and 3 stay acknowledged, ids continue at 6.
    @Test func tornLastRecordWithAcknowledgedRecordsBeforeIt() throws {
        let source = try directory()
        defer { try? FileManager.default.removeItem(atPath: source) }
        do {
            let outbox = try Outbox(directory: source, compactionThreshold: .max)
            for n in 1...6 { try outbox.append(payload(n)) }
            try outbox.acknowledge(1)
            try outbox.acknowledge(3)
        }
        let log = try read(source + "/outbox.log")
        let acks = try read(source + "/outbox.acks")
        #expect(acks.count == 2 * 16)
        let lastFrame = Outbox.frameHeaderSize + 8 + payload(6).count
        var cuts = 0
        for cut in (log.count - lastFrame)..<log.count {
            let dir = try copy(["outbox.log": log.prefix(cut), "outbox.acks": acks])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let outbox = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
            #expect(outbox.pending().map(\.id) == [2, 4, 5], "cut at \(cut)")
            #expect(outbox.pending().map(\.payload) == [payload(2), payload(4), payload(5)], "cut at \(cut)")
            #expect(outbox.nextID == 6, "cut at \(cut)")
            #expect(try outbox.append(payload(6)) == 6)
            cuts += 1
        }
        print("outbox: log torn at \(cuts) offsets of its last record (acks present): every complete record kept")
    }

    /// The ack log torn at every offset of its last ack: the acks before it hold; the torn
    /// one's record is pending again (delivered twice at worst: at least once, never lost).
    @Test func tornLastAckAtEveryOffset() throws {
        let source = try directory()
        defer { try? FileManager.default.removeItem(atPath: source) }
        do {
            let outbox = try Outbox(directory: source, compactionThreshold: .max)
            for n in 1...4 { try outbox.append(payload(n)) }
            try outbox.acknowledge(1)
            try outbox.acknowledge(3)
        }
        let log = try read(source + "/outbox.log")
        let acks = try read(source + "/outbox.acks")
        for cut in 16..<acks.count {
            let dir = try copy(["outbox.log": log, "outbox.acks": acks.prefix(cut)])
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let outbox = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
            #expect(outbox.pending().map(\.id) == [2, 3, 4], "ack log cut at \(cut)")
            #expect(outbox.metrics.tornTailsTruncated == (cut % 16 == 0 ? 0 : 1), "ack log cut at \(cut)")
            #expect(outbox.nextID == 5)
            try outbox.acknowledge(3)
            let reopened = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
            #expect(reopened.pending().map(\.id) == [2, 4], "ack log cut at \(cut), re-acknowledged")
        }
    }

    /// Both files torn at once (a power cut while appending record 5 and acknowledging 2).
    @Test func bothFilesTornTogether() throws {
        let source = try directory()
        defer { try? FileManager.default.removeItem(atPath: source) }
        do {
            let outbox = try Outbox(directory: source, compactionThreshold: .max)
            for n in 1...5 { try outbox.append(payload(n)) }
            try outbox.acknowledge(1)
            try outbox.acknowledge(2)
        }
        let log = try read(source + "/outbox.log")
        let acks = try read(source + "/outbox.acks")
        let lastFrame = Outbox.frameHeaderSize + 8 + payload(5).count
        for logCut in stride(from: log.count - lastFrame, to: log.count, by: 6) {
            for ackCut in 16..<acks.count {
                let dir = try copy(["outbox.log": log.prefix(logCut), "outbox.acks": acks.prefix(ackCut)])
                defer { try? FileManager.default.removeItem(atPath: dir) }
                let outbox = try Outbox(directory: dir, logger: quiet)
                #expect(outbox.pending().map(\.id) == [2, 3, 4], "log cut \(logCut), ack cut \(ackCut)")
                let torn = (logCut == log.count - lastFrame ? 0 : 1) + (ackCut % 16 == 0 ? 0 : 1)
                #expect(outbox.metrics.tornTailsTruncated == torn, "log cut \(logCut), ack cut \(ackCut)")
            }
        }
    }

    /// A crash during compaction leaves a half-written `outbox.log.tmp` (ignored and replaced) or,
    /// after the rename, acks for ids the log no longer holds (harmless).
    @Test func crashesAroundCompactionLoseNothing() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let outbox = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
            for n in 1...4 { try outbox.append(payload(n)) }
        }
        try Data("SBOUTBX1 half a temp file".utf8).write(to: URL(fileURLWithPath: dir + "/outbox.log.tmp"))
        do {
            let outbox = try Outbox(directory: dir, compactionThreshold: 1)
            #expect(outbox.pending().map(\.id) == [1, 2, 3, 4])
            try outbox.acknowledge(2)  // compacts: rewrites the log through the temp file
            #expect(outbox.pending().map(\.id) == [1, 3, 4])
        }
        // Renamed but the ack log not yet emptied: stale acks for 2 (gone) and, as damage could
        // leave, 99. An ack proves its id was issued, so ids continue after 99.
        let stale = Outbox.frame(Outbox.u64(2)) + Outbox.frame(Outbox.u64(99))
        try Data(stale).write(to: URL(fileURLWithPath: dir + "/outbox.acks"))
        let outbox = try Outbox(directory: dir, logger: quiet)
        #expect(outbox.pending().map(\.id) == [1, 3, 4])
        #expect(outbox.nextID == 100)
        #expect(try outbox.append(payload(5)) == 100)
        #expect(try Outbox(directory: dir, logger: quiet).pending().map(\.id) == [1, 3, 4, 100])
    }

    /// A damaged record in the middle ends the readable log, so records after it are gone, but
    /// their acks remain. New ids must continue after those acks: reusing one would give a new
    /// event an old seq and count it as delivered (found by the outbox fuzz target).
    @Test func idsContinueAfterAcksOfRecordsTheLogLost() throws {
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            let outbox = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
            for n in 1...4 { try outbox.append(payload(n)) }
            try outbox.acknowledge(3)
        }
        // Flip a byte in record 2's payload: 2, 3 and 4 become unreadable.
        let url = URL(fileURLWithPath: dir + "/outbox.log")
        var bytes = try Data(contentsOf: url)
        let second = Outbox.headerSize + (Outbox.frameHeaderSize + 8 + payload(1).count) + Outbox.frameHeaderSize + 9
        bytes[second] ^= 0x01
        try bytes.write(to: url)
        let outbox = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
        #expect(outbox.pending().map(\.id) == [1])
        #expect(outbox.nextID == 4, "ids must continue after the acknowledged id 3")
        let id = try outbox.append(payload(9))
        let reopened = try Outbox(directory: dir, compactionThreshold: .max, logger: quiet)
        #expect(reopened.pending().map(\.id) == [1, id], "the new record counted as acknowledged")
    }

    /// Above 80 % of `maxBytes` a warning is logged once per crossing and the metric says so; a
    /// refused append is logged as an error and counted.
    @Test func nearFullWarnsOnceAndIsVisibleInMetricsAndState() throws {
        let capture = LogCapture()
        let frame = Outbox.frameHeaderSize + 8 + payload(1).count
        let dir = try directory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let outbox = try Outbox(directory: dir, maxBytes: Outbox.headerSize + 10 * frame,
                                logger: capture.logger())
        for n in 1...7 { try outbox.append(payload(1)); _ = n }
        #expect(!outbox.metrics.nearFull)
        try outbox.append(payload(1))  // 8 of 10 frames: 80 % with the header
        #expect(outbox.metrics.nearFull)
        try outbox.append(payload(1))
        try outbox.append(payload(1))
        #expect(throws: TelemetryError.self) { try outbox.append(payload(1)) }
        var metrics = outbox.metrics
        #expect(metrics.nearFullWarnings == 1)
        #expect(metrics.rejectedFull == 1)
        #expect(metrics.pendingRecords == 10)
        #expect(metrics.fill > 0.99)
        #expect(capture.lines.filter { $0.message == "outbox nearly full" && $0.level == .warning }.count == 1)
        #expect(capture.lines.contains { $0.message.hasPrefix("outbox full") && $0.level == .error })

        for id in 1...5 { try outbox.acknowledge(UInt64(id)) }
        #expect(!outbox.metrics.nearFull)
        for _ in 1...4 { try outbox.append(payload(1)) }
        metrics = outbox.metrics
        #expect(metrics.nearFull && metrics.nearFullWarnings == 2, "a second crossing warns again")

        let state = EventEncoding.encode(BinStatus(state: "idle"), timestamp: 0, outbox: metrics)
        let json = try #require(Reliability.parseJSON(String(decoding: state, as: UTF8.self)))
        let box = try #require(json["outbox"] as? [String: Any])
        #expect(box["near_full"] as? Bool == true)
        #expect(box["pending"] as? Int == 9)
        #expect(box["rejected_full"] as? Int == 1)
    }
}
