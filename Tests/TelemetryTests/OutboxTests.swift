import Foundation
import Testing
@testable import Telemetry

@Suite struct OutboxTests {
    private func payload(_ n: Int) -> [UInt8] { Array("event-\(n)-payload-with-some-bytes".utf8) }

    private func fileSize(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.intValue ?? -1
    }

    @Test func appendedRecordsArePendingInOrderAndSurviveReopen() throws {
        let dir = TelemetryFixtures.temporaryDirectory()
        do {
            let outbox = try Outbox(directory: dir)
            #expect(outbox.nextID == 1)
            for n in 1...3 { #expect(try outbox.append(payload(n)) == UInt64(n)) }
            try outbox.acknowledge(2)
            #expect(outbox.pending().map(\.id) == [1, 3])
        }
        let reopened = try Outbox(directory: dir)
        #expect(reopened.pending().map(\.id) == [1, 3])
        #expect(reopened.pending().map(\.payload) == [payload(1), payload(3)])
        #expect(reopened.nextID == 4)
    }

    @Test func sequenceSurvivesCompactionOfAnEmptyOutbox() throws {
        let dir = TelemetryFixtures.temporaryDirectory()
        do {
            let outbox = try Outbox(directory: dir)
            try outbox.append(payload(1))
            try outbox.append(payload(2))
            try outbox.acknowledge(1)
            try outbox.acknowledge(2)
            #expect(outbox.pendingCount == 0)
            #expect(outbox.logSize == Outbox.headerSize)
        }
        let reopened = try Outbox(directory: dir)
        #expect(reopened.pendingCount == 0)
        #expect(reopened.nextID == 3)
        #expect(try reopened.append(payload(3)) == 3)
        #expect(try fileSize(dir + "/outbox.acks") == 0)
    }

    @Test func appendBuildingHandsTheRecordIDToTheBuilder() throws {
        let outbox = try Outbox(directory: TelemetryFixtures.temporaryDirectory())
        let id = try outbox.append { id in Array("seq=\(id)".utf8) }
        #expect(id == 1)
        #expect(outbox.pending().first?.payload == Array("seq=1".utf8))
    }

    @Test func acknowledgingUnknownIDsIsHarmless() throws {
        let outbox = try Outbox(directory: TelemetryFixtures.temporaryDirectory())
        try outbox.append(payload(1))
        try outbox.acknowledge(99)
        try outbox.acknowledge(1)
        try outbox.acknowledge(1)
        #expect(outbox.pendingCount == 0)
    }

    /// A power cut mid-append can leave any prefix of the last record on disk: every one of
    /// them is cut off on open, the complete records are kept and appending continues.
    @Test func tornTailIsTruncatedAtEveryByteOffsetOfTheLastRecord() throws {
        let source = TelemetryFixtures.temporaryDirectory()
        do {
            let outbox = try Outbox(directory: source)
            for n in 1...3 { try outbox.append(payload(n)) }
        }
        let bytes = try Data(contentsOf: URL(fileURLWithPath: source + "/outbox.log"))
        let lastFrame = Outbox.frameHeaderSize + 8 + payload(3).count
        let lastStart = bytes.count - lastFrame
        for cut in lastStart..<bytes.count {
            let dir = TelemetryFixtures.temporaryDirectory()
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            try bytes.prefix(cut).write(to: URL(fileURLWithPath: dir + "/outbox.log"))
            let outbox = try Outbox(directory: dir)
            #expect(outbox.pending().map(\.id) == [1, 2], "cut at \(cut)")
            #expect(outbox.pending().map(\.payload) == [payload(1), payload(2)], "cut at \(cut)")
            #expect(try fileSize(dir + "/outbox.log") == lastStart, "cut at \(cut)")
            #expect(try outbox.append(payload(3)) == 3, "cut at \(cut)")
            let reopened = try Outbox(directory: dir)
            #expect(reopened.pending().map(\.id) == [1, 2, 3], "cut at \(cut)")
        }
    }

    @Test func corruptByteInTheLastRecordDropsOnlyThatRecord() throws {
        let dir = TelemetryFixtures.temporaryDirectory()
        do {
            let outbox = try Outbox(directory: dir)
            for n in 1...3 { try outbox.append(payload(n)) }
        }
        let url = URL(fileURLWithPath: dir + "/outbox.log")
        var bytes = try Data(contentsOf: url)
        bytes[bytes.count - 3] ^= 0x40
        try bytes.write(to: url)
        let outbox = try Outbox(directory: dir)
        #expect(outbox.pending().map(\.id) == [1, 2])
        #expect(outbox.nextID == 3)
    }

    @Test func tornAckTailKeepsCompleteAcks() throws {
        let dir = TelemetryFixtures.temporaryDirectory()
        do {
            let outbox = try Outbox(directory: dir)
            for n in 1...3 { try outbox.append(payload(n)) }
            try outbox.acknowledge(1)
        }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/outbox.acks"))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data([0x08, 0, 0, 0, 0xAA]))  // half an ack of record 2
        try handle.close()
        let outbox = try Outbox(directory: dir)
        #expect(outbox.pending().map(\.id) == [2, 3])
    }

    @Test func appendPastTheSizeLimitThrowsOutboxFull() throws {
        let frame = Outbox.frameHeaderSize + 8 + payload(1).count
        let outbox = try Outbox(directory: TelemetryFixtures.temporaryDirectory(),
                                maxBytes: Outbox.headerSize + 2 * frame)
        try outbox.append(payload(1))
        try outbox.append(payload(2))
        #expect(throws: TelemetryError.self) { try outbox.append(payload(3)) }
        do {
            try outbox.append(payload(3))
        } catch let error as TelemetryError {
            #expect(error.code == .outboxFull)
            #expect(error.message.contains("outbox.log"))
        }
        try outbox.acknowledge(1)
        #expect(try outbox.append(payload(3)) == 3)
        #expect(outbox.pending().map(\.id) == [2, 3])
    }

    @Test func notAnOutboxFileIsReportedWithItsPath() throws {
        let dir = TelemetryFixtures.temporaryDirectory()
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("hello, not an outbox".utf8).write(to: URL(fileURLWithPath: dir + "/outbox.log"))
        do {
            _ = try Outbox(directory: dir)
            Issue.record("expected an error")
        } catch let error as TelemetryError {
            #expect(error.code == .outboxCorrupt)
            #expect(error.message.contains(dir + "/outbox.log"))
            #expect(error.message.contains("offset 0"))
        }
    }

    @Test func compactionKeepsPendingRecordsAndDropsAcknowledgedOnes() throws {
        let dir = TelemetryFixtures.temporaryDirectory()
        let outbox = try Outbox(directory: dir, compactionThreshold: 1)
        for n in 1...4 { try outbox.append(payload(n)) }
        try outbox.acknowledge(1)
        try outbox.acknowledge(3)
        let frame = Outbox.frameHeaderSize + 8 + payload(1).count
        #expect(outbox.logSize == Outbox.headerSize + 2 * frame)
        #expect(try fileSize(dir + "/outbox.log") == Outbox.headerSize + 2 * frame)
        let reopened = try Outbox(directory: dir)
        #expect(reopened.pending().map(\.id) == [2, 4])
        #expect(reopened.nextID == 5)
    }
}
