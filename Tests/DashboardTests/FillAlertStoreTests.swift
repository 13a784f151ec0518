import BinCore
import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// Fill alerts and fill history in the store and through the routes, on a store filled directly.
@Suite struct FillAlertStoreTests {
    let now = 1_700_000_000.0

    @Test func emptiedClosesOnlyEarlierAlertsOfItsCompartment() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        let result = try await store.ingest([
            .alert(try Fixtures.alertRecord(id: "a1", bin: "b1", compartment: "other", kind: .nearlyFull, level: 0.8, timestamp: now)),
            .alert(try Fixtures.alertRecord(id: "a2", bin: "b1", compartment: "recyclable", kind: .nearlyFull, level: 0.8, timestamp: now + 1)),
            .alert(try Fixtures.alertRecord(id: "a1", bin: "b1", compartment: "other", kind: .nearlyFull, level: 0.8, timestamp: now)),
            .alert(try Fixtures.alertRecord(id: "e1", bin: "b1", compartment: "other", kind: .emptied, level: 0.9, timestamp: now + 2)),
            // A late redelivery of an alert raised before that emptying arrives already closed…
            .alert(try Fixtures.alertRecord(id: "a0", bin: "b1", compartment: "other", kind: .full, level: 0.95, timestamp: now + 1.5)),
            // …one raised after it opens again.
            .alert(try Fixtures.alertRecord(id: "a3", bin: "b1", compartment: "other", kind: .nearlyFull, level: 0.8, timestamp: now + 3)),
        ])
        #expect(result.alertsInserted.map(\.id) == ["a1", "a2", "e1", "a0", "a3"])
        #expect(result.alertDuplicates == 1)
        #expect(try await store.openAlerts().map(\.id) == ["a2", "a3"])
        #expect(try await store.alertCount() == 5)
    }

    @Test func fillHistoryKeepsOneSamplePerChange() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        _ = try await store.ingest([
            .state(fleet: "f1", binID: "b1", json: Fixtures.fillState(["other": 0.2, "recyclable": 0], timestamp: now), at: now),
            // The document changed (its ts), the fill did not: no sample.
            .state(fleet: "f1", binID: "b1", json: Fixtures.fillState(["other": 0.2, "recyclable": 0], timestamp: now + 1), at: now + 1),
            .state(fleet: "f1", binID: "b1", json: Fixtures.fillState(["other": 0.8, "recyclable": 0], timestamp: now + 2), at: now + 2),
            .state(fleet: "f1", binID: "b1", json: Fixtures.status("idle"), at: now + 3),
        ])
        let other = try await store.fillHistory(bin: "b1", compartment: "other", since: nil, limit: 100)
        #expect(other.map(\.level) == [0.2, 0.8])
        #expect(other.map(\.timestamp) == [now, now + 2])
        #expect(other.last?.status == "nearly_full")
        let all = try await store.fillHistory(bin: "b1", compartment: nil, since: now + 1, limit: 100)
        #expect(all.map(\.compartment) == ["other"])
    }

    @Test func needsEmptyingPutsFullFirstThenLevelThenOldest() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        _ = try await store.ingest([
            .state(fleet: "f1", binID: "a", json: Fixtures.fillState(["other": 0.8]), at: now),
            .state(fleet: "f1", binID: "b", json: Fixtures.fillState(["other": 0.9, "glass": 1]), at: now),
            .state(fleet: "f1", binID: "c", json: Fixtures.fillState(["other": 0.8]), at: now),
            .alert(try Fixtures.alertRecord(bin: "c", kind: .nearlyFull, level: 0.8, timestamp: now - 50)),
            .alert(try Fixtures.alertRecord(bin: "a", kind: .nearlyFull, level: 0.8, timestamp: now - 10)),
            .alert(try Fixtures.alertRecord(bin: "b", kind: .nearlyFull, level: 0.8, timestamp: now - 5)),
            .alert(try Fixtures.alertRecord(bin: "b", compartment: "glass", kind: .full, level: 1, timestamp: now - 1)),
        ])
        let list = NeedsEmptying.list(try await store.bins(now: now))
        #expect(list.map { "\($0.binID)/\($0.compartment)" } == ["b/glass", "b/other", "c/other", "a/other"])
        #expect(list.map(\.kind) == ["full", "nearly_full", "nearly_full", "nearly_full"])
        // b/other: the level is the state's (0.9), not the alert's (0.8).
        #expect(list[1].level == 0.9)
    }

    @Test func routesServeAlertsFillHistoryAndTheFillChart() async throws {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        _ = try await store.ingest([
            .availability(fleet: "f1", binID: "b1", value: "online", at: now),
            .state(fleet: "f1", binID: "b1", json: Fixtures.fillState(["other": 0.4, "recyclable": 0.1], timestamp: now - 30), at: now - 30),
            .state(fleet: "f1", binID: "b1", json: Fixtures.fillState(["other": 0.6, "recyclable": 0.1], timestamp: now - 20), at: now - 20),
            .state(fleet: "f1", binID: "b1", json: Fixtures.fillState(["other": 0.8, "recyclable": 0.1], timestamp: now - 10), at: now - 10),
            .alert(try Fixtures.alertRecord(id: "n1", bin: "b1", kind: .nearlyFull, level: 0.8, timestamp: now - 10)),
        ])
        let now = self.now
        let routes = DashboardRoutes(store: store, feed: LiveFeed(), metrics: DashboardMetrics(), now: { now })
        try await Application(router: routes.router()).test(.router) { client in
            let bins = try jsonObjects(String(buffer: try await client.execute(uri: "/api/bins", method: .get).body))
            let fill = bins.first?["fill"] as? [String: [String: Any]]
            #expect(fill?["other"]?["level"] as? Double == 0.8 && fill?["other"]?["status"] as? String == "nearly_full")
            #expect(fill?["other"]?["capacity"] as? Int == 10 && fill?["recyclable"]?["level"] as? Double == 0.1)
            #expect((bins.first?["open_alerts"] as? [[String: Any]])?.map { $0["id"] as? String } == ["n1"])

            let alerts = try jsonObjects(String(buffer: try await client.execute(uri: "/api/alerts?bin=b1", method: .get).body))
            #expect(alerts.map { $0["id"] as? String } == ["n1"] && alerts.first?["threshold"] as? Double == 0.8)
            let history = try jsonObjects(String(buffer: try await client.execute(
                uri: "/api/fill?bin=b1&compartment=other", method: .get).body))
            #expect(history.map { $0["level"] as? Double } == [0.4, 0.6, 0.8])
            #expect(history.first?["ts"] as? String == "2023-11-14T22:12:50.000Z")
            let since = try jsonObjects(String(buffer: try await client.execute(
                uri: "/api/fill?bin=b1&compartment=other&since=2023-11-14T22:13:00Z", method: .get).body))
            #expect(since.count == 2)
            let needs = try jsonObjects(String(buffer: try await client.execute(uri: "/api/needs_emptying", method: .get).body))
            #expect(needs.map { $0["compartment"] as? String } == ["other"])
            for bad in ["/api/fill", "/api/fill?bin=b1&since=soon", "/api/alerts?limit=0", "/api/alerts?since=x"] {
                #expect(try await client.execute(uri: bad, method: .get).status == .badRequest, "\(bad)")
            }

            let page = String(buffer: try await client.execute(uri: "/bins/b1", method: .get).body)
            #expect(page.contains("<h2>Fill levels</h2>"))
            #expect(page.contains("aria-label=\"Fill: other — 80% (nearly_full)\""))
            #expect(page.contains("aria-label=\"Fill: recyclable — 10% (ok)\""))
            // The other compartment's line has its three samples, in the nearly-full colour,
            // on a 0–100 % axis.
            let chart = try #require(page.components(separatedBy: "data-compartment=\"other\">").dropFirst().first?
                .components(separatedBy: "</svg>").first)
            let polyline = try #require(chart.components(separatedBy: "<polyline points=\"").dropFirst().first?
                .components(separatedBy: "\"").first)
            #expect(polyline.split(separator: " ").count == 3)
            #expect(chart.contains("stroke=\"#d68910\"") && chart.contains(">100%<"))
            #expect(page.contains("open alerts:"))

            let fleet = String(buffer: try await client.execute(uri: "/", method: .get).body)
            #expect(fleet.contains("id=\"needs\"") && fleet.contains("bin_alert"))
        }
    }
}
