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
}
