import BinTestKit
import Dashboard
import Foundation
import HummingbirdTesting
import Telemetry
import Testing

/// The pipeline against a real mosquitto: bins publish over MQTT, `/api/…` shows what arrived.
@Suite(.serialized, .enabled(if: MosquittoBroker.isInstalled, "mosquitto is not installed"),
       .timeLimit(.minutes(1)))
struct FleetIngestTests {
    @Test func ingestsEveryEventFromThreeBinsExactlyOnce() async throws {
        try await DashboardHarness.run { harness, http in
            let bins = ["bin-a", "bin-b", "bin-c"]
            let perBin = 40
            var sent: [String: [String]] = [:]
            try await withThrowingTaskGroup(of: (String, [String]).self) { group in
                for bin in bins {
                    group.addTask {
                        let client = try await harness.connectBin(bin)
                        var ids: [String] = []
                        for seq in 1...perBin {
                            let id = "\(bin)-\(UUID().uuidString)"
                            try await client.publish(topic: TopicLayout(fleet: "f1", binID: bin).event,
                                                     payload: Fixtures.event(id: id, bin: bin, seq: UInt64(seq),
                                                                             timestamp: Date().timeIntervalSince1970,
                                                                             route: seq % 4 == 0 ? "other" : "recyclable"))
                            ids.append(id)
                        }
                        return (bin, ids)
                    }
                }
                for try await (bin, ids) in group { sent[bin] = ids }
            }
            let total = bins.count * perBin
            #expect(await eventually { harness.metrics.snapshot.eventsIngested >= total },
                    "ingested \(harness.metrics.snapshot.eventsIngested) of \(total)")

            let all = try await DashboardHarness.getArray(http, "/api/events?limit=10000&order=asc")
            #expect(all.count == total)
            #expect(Set(all.compactMap { $0["id"] as? String }) == Set(sent.values.flatMap { $0 }))
            for bin in bins {
                let events = try await DashboardHarness.getArray(http, "/api/events?bin=\(bin)&order=asc&limit=10000")
                // One publisher per bin with QoS 1 in order: stored in publish order.
                #expect(events.compactMap { $0["id"] as? String } == sent[bin])
                #expect(events.compactMap { $0["seq"] as? Int } == Array(1...perBin))
            }
            let summaries = try await DashboardHarness.getArray(http, "/api/bins")
            #expect(summaries.compactMap { $0["bin_id"] as? String } == bins)
            for summary in summaries {
                #expect(summary["status"] as? String == "online")
                #expect(summary["items_today"] as? Int == perBin)
                #expect(summary["counts"] as? [String: Int] == ["recyclable": 30, "other": 10])
            }
            #expect(harness.metrics.snapshot.duplicatesDropped == 0)
        }
    }

    @Test func duplicateRedeliveryIsStoredOnce() async throws {
        try await DashboardHarness.run { harness, http in
            let client = try await harness.connectBin("dup")
            let topic = TopicLayout(fleet: "f1", binID: "dup").event
            let payload = Fixtures.event(id: "same-id", bin: "dup", seq: 1, timestamp: Date().timeIntervalSince1970)
            try await client.publish(topic: topic, payload: payload)
            try await client.publish(topic: topic, payload: payload)
            // And a third time from an independent client, as a redelivery after a reconnect would.
            let pub = Process()
            pub.executableURL = URL(fileURLWithPath: BrokerSubscriber.pubExecutable)
            pub.arguments = ["-h", "127.0.0.1", "-p", "\(harness.broker.port)", "-q", "1", "-t", topic,
                             "-m", String(decoding: payload, as: UTF8.self)]
            try pub.run()
            pub.waitUntilExit()
            #expect(await eventually { harness.metrics.snapshot.duplicatesDropped == 2 })
            let events = try await DashboardHarness.getArray(http, "/api/events?bin=dup")
            #expect(events.compactMap { $0["id"] as? String } == ["same-id"])
            #expect(harness.metrics.snapshot.eventsIngested == 1)
            let metrics = String(buffer: try await http.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("\nsmartbin_dashboard_events_duplicates_dropped_total 2\n"))
        }
    }

    @Test func killedBinShowsOfflineAndCleanStopShowsStopped() async throws {
        try await DashboardHarness.run { harness, http in
            let doomed = try BrokerWillClient.start(port: harness.broker.port,
                                                    willTopic: TopicLayout(fleet: "f1", binID: "doomed").available)
            let polite = try await harness.connectBin("polite")
            #expect(try await eventually { try await DashboardHarness.status(http, bin: "doomed") == "online" })
            #expect(try await eventually { try await DashboardHarness.status(http, bin: "polite") == "online" })

            await doomed.killHard()
            #expect(try await eventually { try await DashboardHarness.status(http, bin: "doomed") == "offline" })
            await polite.disconnect(clean: true)
            #expect(try await eventually { try await DashboardHarness.status(http, bin: "polite") == "stopped" })

            let metrics = String(buffer: try await http.execute(uri: "/metrics", method: .get).body)
            #expect(metrics.contains("\nsmartbin_dashboard_bins_online 0\n"))
            let changes = try await harness.store.changes(bin: "doomed", limit: 10)
            #expect(changes.map(\.value) == ["offline", "online"])
        }
    }

    @Test func faultStateShowsAsFault() async throws {
        try await DashboardHarness.run { harness, http in
            let client = try await harness.connectBin("sick")
            try await client.publish(topic: TopicLayout(fleet: "f1", binID: "sick").state,
                                     payload: Array(Fixtures.status("fault", fault: "flap stalled").utf8), retain: true)
            #expect(try await eventually { try await DashboardHarness.status(http, bin: "sick") == "fault" })
            let bin = try await DashboardHarness.getArray(http, "/api/bins").first
            #expect(bin?["fault_reason"] as? String == "flap stalled")
        }
    }
}
