import BinTestKit
import Dashboard
import Foundation
import HummingbirdTesting
import Testing

/// The real `smartbin simulate` binary publishing to the dashboard through mosquitto.
@Suite(.serialized,
       .enabled(if: EndToEnd.canSimulate,
                "needs mosquitto, .build/debug/smartbin (swift build) and out/models (tools/make_test_models.sh out/models)"),
       .timeLimit(.minutes(2)))
struct SimulatedFleetTests {
    @Test func twoSimulatedBinsAreStoredExactlyAsPublished() async throws {
        try await DashboardHarness.run { harness, http in
            // An independent subscriber records what the bins really published.
            let witness = try await BrokerSubscriber.start(port: harness.broker.port, topics: ["smartbin/+/+/event"])
            defer { Task { await witness.stop() } }
            let items = 6
            let bins = ["sim-1", "sim-2"]
            let children = try bins.map { try EndToEnd.simulate(bin: $0, items: items, rate: 20, port: harness.broker.port) }
            for (bin, child) in zip(bins, children) {
                #expect(await child.waitForExit(timeout: .seconds(90)), "\(bin) did not finish:\n\(child.output)")
                #expect(child.process.terminationStatus == 0, "\(bin) failed:\n\(child.output)")
            }
            let published = await witness.waitForMessages(count: items * bins.count, timeout: .seconds(10))
            let publishedIDs = try published.map { message -> String in
                let object = try JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any]
                return try #require(object?["id"] as? String)
            }
            #expect(Set(publishedIDs).count == items * bins.count)
            #expect(await eventually { harness.metrics.snapshot.eventsIngested >= items * bins.count })

            let stored = try await DashboardHarness.getArray(http, "/api/events?order=asc&limit=10000")
            #expect(stored.count == items * bins.count)
            #expect(Set(stored.compactMap { $0["id"] as? String }) == Set(publishedIDs))
            // Exactly as published: the API returns the payload bytes the witness saw.
            let storedPayloads = try await harness.store.eventPayloads(bin: nil, since: nil, limit: 100, order: .asc)
            #expect(Set(storedPayloads) == Set(published.map(\.payload)))
            for bin in bins {
                let events = try await DashboardHarness.getArray(http, "/api/events?bin=\(bin)&order=asc")
                #expect(events.compactMap { $0["seq"] as? Int } == Array(1...items))
                // A clean exit publishes the retained `stopped`.
                #expect(try await eventually { try await DashboardHarness.status(http, bin: bin) == "stopped" })
            }
            let summary = try await DashboardHarness.getArray(http, "/api/bins")
            #expect(summary.allSatisfy { ($0["counts"] as? [String: Int])?.values.reduce(0, +) == items })
            #expect(summary.allSatisfy { $0["fleet"] as? String == "sim" })
        }
    }

    @Test func simulatedBinKilledWithSIGKILLShowsOffline() async throws {
        try await DashboardHarness.run { harness, http in
            let child = try EndToEnd.simulate(bin: "sim-doomed", items: 1000, rate: 5, port: harness.broker.port)
            #expect(try await eventually(timeout: .seconds(30)) {
                try await DashboardHarness.status(http, bin: "sim-doomed") == "online"
                    && harness.metrics.snapshot.eventsIngested > 0
            }, "no event from the simulated bin:\n\(child.output)")
            child.signal(SIGKILL)
            #expect(await child.waitForExit(timeout: .seconds(5)))
            #expect(try await eventually { try await DashboardHarness.status(http, bin: "sim-doomed") == "offline" })
        }
    }

    @Test func simulatedBinFillsUpAndEmptyingClearsItsAlerts() async throws {
        try await DashboardHarness.run { harness, http in
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smartbin-sim-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            // Confidence threshold 1.0: every item goes to the fallback compartment `other`;
            // 5 items of capacity 5 cross 80 % at the fourth and 95 % at the fifth.
            let config = directory + "/bin.toml", script = directory + "/items.txt"
            try "[routing]\nconfidence_threshold = 1.0\n[timing]\nsettle_ms = 10\ndwell_ms = 50\n"
                .write(toFile: config, atomically: true, encoding: .utf8)
            try (String(repeating: "open\nwait 1s\n", count: 5) + "wait 60s\n")
                .write(toFile: script, atomically: true, encoding: .utf8)
            let child = try ChildProcess(EndToEnd.smartbin!, [
                "simulate", "--config", config, "--broker", "127.0.0.1:\(harness.broker.port)", "--fleet", "sim",
                "--bin-id", "sim-fill", "--model", EndToEnd.tinyModel!, "--compartment-capacity", "5",
                "--script", script, "--data-dir", directory + "/data"])
            func bin() async throws -> [String: Any]? {
                try await DashboardHarness.getArray(http, "/api/bins").first { $0["bin_id"] as? String == "sim-fill" }
            }
            func other(_ bin: [String: Any]?) -> [String: Any]? { (bin?["fill"] as? [String: Any])?["other"] as? [String: Any] }
            #expect(try await eventually(timeout: .seconds(60)) {
                other(try await bin())?["items"] as? Int == 5 && harness.metrics.snapshot.alertsIngested == 2
            }, "the bin never filled up:\n\(child.output)")
            let full = try await bin()
            #expect(other(full)?["level"] as? Double == 1 && other(full)?["status"] as? String == "full")
            #expect((full?["open_alerts"] as? [[String: Any]])?.compactMap { $0["kind"] as? String } == ["nearly_full", "full"])
            let needs = try await DashboardHarness.getArray(http, "/api/needs_emptying")
            #expect(needs.first?["bin_id"] as? String == "sim-fill" && needs.first?["kind"] as? String == "full")

            try await BrokerSubscriber.publish(port: harness.broker.port, topic: "smartbin/sim/sim-fill/cmd/emptied",
                                               payload: #"{"compartment": "other"}"#)
            #expect(try await eventually(timeout: .seconds(10)) {
                let now = try await bin()
                return (now?["open_alerts"] as? [Any])?.isEmpty == true && other(now)?["level"] as? Double == 0
            }, "emptying did not clear the alerts:\n\(child.output)")
            #expect(try await DashboardHarness.getArray(http, "/api/needs_emptying").isEmpty)
            let alerts = try await DashboardHarness.getArray(http, "/api/alerts?bin=sim-fill")
            #expect(alerts.compactMap { $0["kind"] as? String } == ["emptied", "full", "nearly_full"])
            let history = try await DashboardHarness.getArray(http, "/api/fill?bin=sim-fill&compartment=other")
            #expect(history.compactMap { $0["level"] as? Double }.suffix(2) == [1, 0])
            child.signal(SIGTERM)
            #expect(await child.waitForExit(timeout: .seconds(20)))
        }
    }
}
