import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

/// The HTTP endpoints through Hummingbird's router test framework, on a store filled directly.
@Suite struct DashboardRoutesTests {
    let now = 1_700_000_000.0

    func routes(token: String? = nil, publisher: RecordingCommandPublisher? = nil) async throws -> DashboardRoutes {
        let store = try DashboardStore(path: try Fixtures.databasePath())
        _ = try await store.ingest([
            .availability(fleet: "f1", binID: "b1", value: "online", at: now),
            .state(fleet: "f1", binID: "b1", json: Fixtures.status("idle"), at: now),
            .event(try Fixtures.eventRecord(id: "e1", bin: "b1", seq: 1, timestamp: now - 10)),
            .event(try Fixtures.eventRecord(id: "e2", bin: "b1", seq: 2, timestamp: now - 5, route: "other",
                                            fallback: true, label: "trash", confidence: 0.41, totalMS: 300)),
            .event(try Fixtures.eventRecord(id: "e3", bin: "b2", seq: 1, timestamp: now - 1)),
            .availability(fleet: "f1", binID: "b2", value: "offline", at: now),
        ])
        let now = self.now
        return DashboardRoutes(store: store, feed: LiveFeed(), metrics: DashboardMetrics(),
                               commandPublisher: publisher, adminToken: try token.map { try AdminToken($0) },
                               now: { now })
    }

    @Test func apiBinsHasOneObjectPerBin() async throws {
        let app = Application(router: try await routes().router())
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/bins", method: .get)
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            let bins = try jsonObjects(String(buffer: response.body))
            #expect(bins.map { $0["bin_id"] as? String } == ["b1", "b2"])
            let b1 = bins[0]
            #expect(b1["fleet"] as? String == "f1")
            #expect(b1["availability"] as? String == "online")
            #expect(b1["status"] as? String == "online")
            #expect((b1["state"] as? [String: Any])?["state"] as? String == "idle")
            #expect(b1["items_today"] as? Int == 2)
            #expect(b1["counts"] as? [String: Int] == ["recyclable": 1, "other": 1])
            #expect(b1["last_event_ts"] as? String == "2023-11-14T22:13:15.000Z")
            #expect(bins[1]["status"] as? String == "offline")
        }
    }

    @Test func apiEventsReturnsThePayloadsAsPublished() async throws {
        let app = Application(router: try await routes().router())
        try await app.test(.router) { client in
            let all = try jsonObjects(String(buffer: try await client.execute(uri: "/api/events", method: .get).body))
            #expect(all.map { $0["id"] as? String } == ["e3", "e2", "e1"])
            let asc = try jsonObjects(String(buffer: try await client.execute(uri: "/api/events?bin=b1&order=asc", method: .get).body))
            #expect(asc.map { $0["id"] as? String } == ["e1", "e2"])
            #expect(asc[1]["timing_ms"] as? [String: Double] != nil)
            let since = try jsonObjects(String(buffer: try await client.execute(
                uri: "/api/events?since=2023-11-14T22:13:15Z&limit=1", method: .get).body))
            #expect(since.map { $0["id"] as? String } == ["e3"])
            for bad in ["since=yesterday", "limit=0", "limit=x", "order=up"] {
                #expect(try await client.execute(uri: "/api/events?\(bad)", method: .get).status == .badRequest)
            }
        }
    }

    @Test func pagesRenderWithChartsAndNoExternalResources() async throws {
        let app = Application(router: try await routes().router())
        try await app.test(.router) { client in
            let fleet = try await client.execute(uri: "/", method: .get)
            #expect(fleet.status == .ok)
            let html = String(buffer: fleet.body)
            #expect(html.contains("/api/stream") && html.contains("\"bin_id\":\"b1\""))
            let bin = String(buffer: try await client.execute(uri: "/bins/b1", method: .get).body)
            #expect(bin.components(separatedBy: "<svg").count - 1 == 5)
            #expect(bin.contains("Confidence histogram") && bin.contains("fallback rate <b>50%</b>"))
            for page in [html, bin] {
                #expect(!page.contains("src=\"http") && !page.contains("href=\"http") && !page.contains("https://"))
            }
            #expect(try await client.execute(uri: "/bins/nope", method: .get).status == .notFound)
        }
    }

    @Test func metricsArePrometheusText() async throws {
        let app = Application(router: try await routes().router())
        try await app.test(.router) { client in
            let text = String(buffer: try await client.execute(uri: "/metrics", method: .get).body)
            #expect(text.contains("# TYPE smartbin_dashboard_events_ingested_total counter"))
            #expect(text.contains("\nsmartbin_dashboard_bins_online 1\n"))
            #expect(text.contains("\nsmartbin_dashboard_bins_known 2\n"))
            #expect(text.contains("smartbin_dashboard_ingest_delay_seconds_bucket{le=\"+Inf\"}"))
        }
    }

    @Test func commandsAreRefusedWithoutAnAdminToken() async throws {
        let app = Application(router: try await routes().router())
        try await app.test(.router) { client in
            let response = try await client.execute(uri: "/api/bins/b1/cmd/flap_test", method: .post,
                                                    headers: [.authorization: "Bearer whatever-it-is-123"])
            #expect(response.status == .forbidden)
        }
    }

    @Test func commandsNeedTheRightBearerTokenAndAKnownName() async throws {
        let publisher = RecordingCommandPublisher()
        let token = "s3cret-admin-token-0123"
        let app = Application(router: try await routes(token: token, publisher: publisher).router())
        try await app.test(.router) { client in
            let uri = "/api/bins/b1/cmd/maintenance"
            #expect(try await client.execute(uri: uri, method: .post).status == .unauthorized)
            #expect(try await client.execute(uri: uri, method: .post,
                                             headers: [.authorization: "Bearer \(token)x"]).status == .unauthorized)
            #expect(try await client.execute(uri: uri, method: .post,
                                             headers: [.authorization: "Basic \(token)"]).status == .unauthorized)
            let auth: HTTPFields = [.authorization: "Bearer \(token)"]
            #expect(try await client.execute(uri: "/api/bins/b1/cmd/reboot", method: .post, headers: auth).status == .notFound)
            #expect(try await client.execute(uri: "/api/bins/nope/cmd/flap_test", method: .post, headers: auth).status == .notFound)
            #expect(try await client.execute(uri: uri, method: .post, headers: auth,
                                             body: ByteBuffer(string: "[1]")).status == .badRequest)
            let ok = try await client.execute(uri: uri, method: .post, headers: auth, body: ByteBuffer(string: "{\"on\":true}"))
            #expect(ok.status == .accepted)
            let flap = try await client.execute(uri: "/api/bins/b1/cmd/flap_test", method: .post, headers: auth)
            #expect(flap.status == .accepted)
        }
        #expect(publisher.published.map(\.topic) == ["smartbin/f1/b1/cmd/maintenance", "smartbin/f1/b1/cmd/flap_test"])
        #expect(publisher.published.map(\.payload) == ["{\"on\":true}", "{}"])
    }
}

@Suite struct AdminTokenTests {
    @Test func comparesWholeTokensOnly() throws {
        let token = try AdminToken("0123456789abcdef")
        #expect(token.authorizes(authorizationHeader: "Bearer 0123456789abcdef"))
        #expect(token.authorizes(authorizationHeader: "bearer 0123456789abcdef"))
        #expect(!token.authorizes(authorizationHeader: "Bearer 0123456789abcde"))
        #expect(!token.authorizes(authorizationHeader: "Bearer 0123456789abcdef" + String(repeating: "x", count: 256)))
        #expect(!token.authorizes(authorizationHeader: nil))
        #expect(!"\(token)".contains("0123"))
        #expect(throws: DashboardError.self) { try AdminToken("short") }
    }
}
