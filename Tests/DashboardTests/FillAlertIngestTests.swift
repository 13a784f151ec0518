import BinCore
import BinTestKit
import Dashboard
import Foundation
import HummingbirdTesting
import Telemetry
import Testing

/// Fill levels and alerts through a real mosquitto: bins publish `…/state` and `…/alert`,
/// `/api/…` shows what arrived.
@Suite(.serialized, .enabled(if: MosquittoBroker.isInstalled, "mosquitto is not installed"),
       .timeLimit(.minutes(1)))
struct FillAlertIngestTests {
    static func openAlertIDs(_ http: any TestClientProtocol, bin: String) async throws -> [String]? {
        let summary = try await DashboardHarness.getArray(http, "/api/bins").first { $0["bin_id"] as? String == bin }
        return (summary?["open_alerts"] as? [[String: Any]])?.compactMap { $0["id"] as? String }
    }

    @Test func alertIsStoredOnceAndEmptiedClearsIt() async throws {
        try await DashboardHarness.run { harness, http in
            let client = try await harness.connectBin("fill-1")
            let layout = TopicLayout(fleet: "f1", binID: "fill-1")
            let now = Date().timeIntervalSince1970
            try await client.publish(topic: layout.state, payload: Array(Fixtures.fillState(["other": 0.8, "recyclable": 0.3],
                                                                                           timestamp: now).utf8), retain: true)
            let alert = Fixtures.alert(id: "alert-1", bin: "fill-1", kind: .nearlyFull, level: 0.8, timestamp: now)
            try await client.publish(topic: layout.alert, payload: alert)
            try await client.publish(topic: layout.alert, payload: alert)
            // And once more from an independent client, as a redelivery after a reconnect would.
            try await BrokerSubscriber.publish(port: harness.broker.port, topic: layout.alert,
                                               payload: String(decoding: alert, as: UTF8.self))
            #expect(await eventually { harness.metrics.snapshot.alertDuplicatesDropped == 2 })
            #expect(harness.metrics.snapshot.alertsIngested == 1)
            let stored = try await DashboardHarness.getArray(http, "/api/alerts?bin=fill-1")
            #expect(stored.compactMap { $0["id"] as? String } == ["alert-1"])

            let summary = try await DashboardHarness.getArray(http, "/api/bins").first { $0["bin_id"] as? String == "fill-1" }
            let fill = summary?["fill"] as? [String: [String: Any]]
            #expect(fill?["other"]?["level"] as? Double == 0.8 && fill?["other"]?["status"] as? String == "nearly_full")
            #expect(fill?["recyclable"]?["level"] as? Double == 0.3 && fill?["recyclable"]?["items"] as? Int == 3)
            #expect(try await Self.openAlertIDs(http, bin: "fill-1") == ["alert-1"])

            try await client.publish(topic: layout.alert, payload: Fixtures.alert(id: "emptied-1", bin: "fill-1", kind: .emptied,
                                                                                   level: 0.8, timestamp: now + 1))
            #expect(try await eventually { try await Self.openAlertIDs(http, bin: "fill-1") == [] })
            let all = try await DashboardHarness.getArray(http, "/api/alerts?bin=fill-1")
            #expect(all.compactMap { $0["kind"] as? String } == ["emptied", "nearly_full"])
            let metrics = String(buffer: try await http.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("\nsmartbin_dashboard_alerts_duplicates_dropped_total 2\n"))
        }
    }

    @Test func needsEmptyingListIsOrderedByUrgency() async throws {
        try await DashboardHarness.run { harness, http in
            let now = Date().timeIntervalSince1970
            // (bin, level in the state, alert kind, alert age in seconds)
            let bins: [(String, Double, FillAlertKind, Double)] = [
                ("old-80", 0.8, .nearlyFull, 60), ("new-80", 0.8, .nearlyFull, 10),
                ("at-90", 0.9, .nearlyFull, 5), ("full", 1.0, .full, 1),
            ]
            for (bin, level, kind, age) in bins {
                let client = try await harness.connectBin(bin)
                let layout = TopicLayout(fleet: "f1", binID: bin)
                try await client.publish(topic: layout.state, payload: Array(Fixtures.fillState(["other": level], timestamp: now).utf8),
                                         retain: true)
                try await client.publish(topic: layout.alert, payload: Fixtures.alert(bin: bin, kind: kind, level: level,
                                                                                       timestamp: now - age))
            }
            #expect(await eventually { harness.metrics.snapshot.alertsIngested == bins.count })
            let expected = ["full", "at-90", "old-80", "new-80"]
            #expect(try await eventually {
                try await DashboardHarness.getArray(http, "/api/needs_emptying").compactMap { $0["bin_id"] as? String } == expected
            })
            let needs = try await DashboardHarness.getArray(http, "/api/needs_emptying")
            #expect(needs.compactMap { $0["kind"] as? String } == ["full", "nearly_full", "nearly_full", "nearly_full"])
            #expect(needs.compactMap { $0["level"] as? Double } == [1, 0.9, 0.8, 0.8])
        }
    }
}
