import BinTestKit
import Dashboard
import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
import Telemetry
import Testing

/// The dashboard's pipeline in-process against a real mosquitto on loopback: its own MQTT
/// client subscribed to `smartbin/#`, the ingestor, a store in a temporary file and the
/// HTTP routes (driven through Hummingbird's router test client).
struct DashboardHarness {
    let broker: MosquittoBroker
    let store: DashboardStore
    let feed: LiveFeed
    let metrics: DashboardMetrics
    let routes: DashboardRoutes

    /// Runs `body` with a live pipeline; everything is torn down afterwards, bounded in time.
    static func run(_ body: @Sendable (DashboardHarness, any TestClientProtocol) async throws -> Void) async throws {
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let store = try DashboardStore(path: try Fixtures.databasePath())
        let feed = LiveFeed()
        let metrics = DashboardMetrics()
        let client = try MQTTClient(configuration: .init(host: broker.host, port: broker.port,
                                                         clientID: "dashboard-\(UUID().uuidString.prefix(8))",
                                                         cleanSession: true))
        let messages = try client.subscribe("smartbin/#", qos: 1)
        try client.connect()
        try #require(await client.waitUntilConnected(timeout: .seconds(5)), "dashboard client did not connect; broker log:\n\(broker.log)")
        let ingestor = Ingestor(messages: messages, store: store, feed: feed, metrics: metrics)
        let ingest = Task { try await ingestor.run() }
        // The SUBSCRIBE goes out on CONNACK without waiting for SUBACK: publish probes (an
        // ignored topic under the prefix) until one comes back through the pipeline.
        let subscribed = await eventually(timeout: .seconds(5)) {
            _ = try? client.enqueue(topic: "smartbin/_probe/_probe/probe", payload: [1], qos: 0)
            return await eventually(timeout: .milliseconds(100)) { metrics.snapshot.messagesReceived > 0 }
        }
        try #require(subscribed, "the dashboard's subscription never delivered")
        let harness = DashboardHarness(broker: broker, store: store, feed: feed, metrics: metrics,
                                       routes: DashboardRoutes(store: store, feed: feed, metrics: metrics))
        do {
            try await Application(router: harness.routes.router()).test(.router) { http in
                try await body(harness, http)
            }
        } catch {
            await client.disconnect(clean: true, timeout: .seconds(1))
            _ = try? await ingest.value
            await broker.stop()
            throw error
        }
        await client.disconnect(clean: true, timeout: .seconds(1))
        _ = try await ingest.value
        await broker.stop()
    }

    /// A bin's MQTT client as the firmware configures it: client id = bin id, retained
    /// `online` on connect and `offline` as the Last Will on `…/available`.
    func connectBin(_ binID: String, fleet: String = "f1") async throws -> MQTTClient {
        let layout = TopicLayout(fleet: fleet, binID: binID)
        let client = try MQTTClient(configuration: .init(host: broker.host, port: broker.port, clientID: binID,
                                                         cleanSession: true,
                                                         availability: .init(topic: layout.available)))
        try client.connect()
        try #require(await client.waitUntilConnected(timeout: .seconds(5)), "bin \(binID) did not connect")
        return client
    }

    /// GET `uri` and parse the body as a JSON array of objects.
    static func getArray(_ http: any TestClientProtocol, _ uri: String) async throws -> [[String: Any]] {
        let response = try await http.execute(uri: uri, method: .get)
        try #require(response.status == .ok, "GET \(uri): \(response.status) \(String(buffer: response.body))")
        return try jsonObjects(String(buffer: response.body))
    }

    /// `status` of one bin in `/api/bins`, nil when absent.
    static func status(_ http: any TestClientProtocol, bin: String) async throws -> String? {
        try await getArray(http, "/api/bins").first { $0["bin_id"] as? String == bin }?["status"] as? String
    }
}
