import Dashboard
import Foundation
import Telemetry
import Testing

@Suite struct DashboardStoreTests {
    let now = 1_700_000_000.0

    @Test func databaseIsInWALMode() throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        #expect(try store.journalMode() == "wal")
    }

    @Test func redeliveredEventIsStoredOnce() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        let event = try Fixtures.eventRecord(id: "e-1", bin: "b1", seq: 1, timestamp: now)
        let first = try await store.ingest([.event(event), .event(event)])
        let second = try await store.ingest([.event(event)])
        #expect(first.inserted.map(\.id) == ["e-1"])
        #expect(first.duplicates == 1)
        #expect(second.inserted.isEmpty && second.duplicates == 1)
        #expect(try await store.eventCount() == 1)
        let bins = try await store.bins(now: now)
        #expect(bins.map(\.counts) == [["recyclable": 1]])
    }

    @Test func eventsComeBackAsPublishedInEitherOrderAndFiltered() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        var records: [EventRecord] = []
        for seq in 1...5 {
            records.append(try Fixtures.eventRecord(id: "a\(seq)", bin: "a", seq: UInt64(seq), timestamp: now + Double(seq)))
            records.append(try Fixtures.eventRecord(id: "b\(seq)", bin: "b", seq: UInt64(seq), timestamp: now + Double(seq)))
        }
        _ = try await store.ingest(records.map { .event($0) })
        let desc = try await store.eventPayloads(bin: "a", since: nil, limit: 100, order: .desc)
        #expect(desc == records.filter { $0.binID == "a" }.reversed().map(\.payload))
        let asc = try await store.eventPayloads(bin: nil, since: now + 4, limit: 100, order: .asc)
        #expect(asc.count == 4)
        #expect(try await store.eventPayloads(bin: nil, since: nil, limit: 3, order: .asc).count == 3)
    }

    @Test func availabilityAndStateAreRecordedOnlyWhenTheyChange() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        let first = try await store.ingest([
            .availability(fleet: "f1", binID: "b1", value: "online", at: now),
            .availability(fleet: "f1", binID: "b1", value: "online", at: now + 1),
            .state(fleet: "f1", binID: "b1", json: Fixtures.status("fault", fault: "camera timeout"), at: now + 2),
        ])
        #expect(first.changes.map(\.kind) == [.availability, .state])
        let bin = try #require(try await store.bin("b1", now: now))
        #expect(bin.availability == "online")
        #expect(bin.stateName == "fault" && bin.faultReason == "camera timeout")
        #expect(bin.status == "fault")
        _ = try await store.ingest([.availability(fleet: "f1", binID: "b1", value: "offline", at: now + 3)])
        #expect(try await store.bin("b1", now: now)?.status == "offline")
        #expect(try await store.changes(bin: "b1", limit: 10).map(\.value).first == "offline")
        #expect(try await store.changes(bin: "b1", limit: 10).count == 3)
    }

    @Test func itemsTodayCountsTheCurrentUTCDayOnly() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        let midnight = (now / 86_400).rounded(.down) * 86_400
        _ = try await store.ingest([
            .event(try Fixtures.eventRecord(bin: "b1", seq: 1, timestamp: midnight - 1)),
            .event(try Fixtures.eventRecord(bin: "b1", seq: 2, timestamp: midnight + 1, route: "other")),
            .event(try Fixtures.eventRecord(bin: "b1", seq: 3, timestamp: midnight + 2)),
        ])
        let bin = try #require(try await store.bin("b1", now: midnight + 60))
        #expect(bin.itemsToday == 2)
        #expect(bin.counts == ["recyclable": 2, "other": 1])
        #expect(bin.lastEventTimestamp == midnight + 2)
    }

    @Test func reopeningKeepsTheHistory() async throws {
        let path = try Fixtures.databasePath()
        do {
            let store = try DashboardStore(path: path)
            _ = try await store.ingest([.event(try Fixtures.eventRecord(id: "keep", bin: "b1", seq: 1, timestamp: now))])
        }
        let reopened = try DashboardStore(path: path)
        #expect(try await reopened.eventCount() == 1)
        #expect(try await reopened.ingest([.event(try Fixtures.eventRecord(id: "keep", bin: "b1", seq: 1, timestamp: now))]).duplicates == 1)
    }
}
