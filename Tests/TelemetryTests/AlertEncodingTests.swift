import BinCore
import BinTestKit
import Foundation
import Testing
@testable import Telemetry

/// The `…/alert` payload, the fill part of `…/state`, the fill records file, and alerts over a
/// real broker.
@Suite struct AlertEncodingTests {
    static let alertKeys: Set<String> = ["schema", "id", "bin_id", "ts", "compartment", "kind", "level", "source",
                                         "items", "capacity", "threshold", "previous_level"]

    func json(_ bytes: [UInt8]) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any])
    }

    @Test func alertCarriesCompartmentLevelKindAndTheContractKeys() throws {
        let alert = BinAlert(id: "a-1", binID: "bin-07", timestamp: 1_700_000_000.25, compartment: "recyclable",
                             kind: .nearlyFull, level: 0.8, source: .count, items: 8, capacity: 10, threshold: 0.8)
        let bytes = EventEncoding.encode(alert)
        #expect(!bytes.contains(UInt8(ascii: "\n")))
        let object = try json(bytes)
        #expect(Set(object.keys) == Self.alertKeys)
        #expect(object["compartment"] as? String == "recyclable" && object["kind"] as? String == "nearly_full")
        #expect(object["level"] as? Double == 0.8 && object["source"] as? String == "count")
        #expect(object["ts"] as? String == "2023-11-14T22:13:20.250Z" && object["bin_id"] as? String == "bin-07")
        #expect(object["previous_level"] is NSNull)
        #expect(try EventEncoding.decodeAlert(bytes) == alert)
    }

    @Test func emptiedAlertRoundTripsWithItsPreviousLevel() throws {
        let alert = BinAlert(id: "a-2", binID: "b", timestamp: 1_700_000_000, compartment: "other", kind: .emptied,
                             level: 0, source: .command, items: 12, capacity: nil, threshold: nil, previousLevel: 1)
        let object = try json(EventEncoding.encode(alert))
        #expect(object["kind"] as? String == "emptied" && object["previous_level"] as? Int == 1)
        #expect(object["capacity"] is NSNull && object["threshold"] is NSNull)
        #expect(try EventEncoding.decodeAlert(EventEncoding.encode(alert)) == alert)
        #expect(throws: TelemetryError.self) { try EventEncoding.decodeAlert(Array(#"{"ts":"2023-11-14T22:13:20Z","kind":"overflowing"}"#.utf8)) }
    }

    @Test func stateCarriesEveryCompartmentsFillAndThePolicy() throws {
        let status = BinStatus(state: "idle", countsPerBin: ["other": 3], fill: [
            "other": CompartmentFill(level: 0.3, items: 3, capacity: 10, status: "ok"),
            "recyclable": CompartmentFill(level: 0.96, items: 0, capacity: nil, measuredLevel: 0.96, status: "full", refused: 2),
        ], fullPolicy: "refuse", refusal: "recyclable is full (96%): glass refused, flap stays home")
        let bytes = EventEncoding.encode(status, timestamp: 1_700_000_000)
        let object = try json(bytes)
        let fill = try #require(object["fill"] as? [String: [String: Any]])
        #expect(fill["other"]?["level"] as? Double == 0.3 && fill["other"]?["capacity"] as? Int == 10)
        #expect(fill["recyclable"]?["measured"] as? Double == 0.96 && fill["recyclable"]?["refused"] as? Int == 2)
        #expect(fill["other"]?["measured"] is NSNull)
        #expect(Set(fill["other"]?.keys ?? [:].keys) == ["level", "items", "capacity", "measured", "status", "refused", "diverted"])
        #expect(object["full_policy"] as? String == "refuse")
        let decoded = try EventEncoding.decodeStatus(bytes).status
        #expect(decoded == status)
    }

    @Test func aStateWithoutFillStillDecodes() throws {
        let old = #"{"schema":1,"state":"idle","fault_reason":null,"counts":{},"model":null,"uptime_s":1,"triggers_during_cycle":0,"ts":"2023-11-14T22:13:20Z"}"#
        let status = try EventEncoding.decodeStatus(Array(old.utf8)).status
        #expect(status.fill.isEmpty && status.fullPolicy == nil && status.refusal == nil)
    }

    @Test func fillRecordsSurviveASaveAndLoadAndLeaveNoTemporaryFile() async throws {
        let directory = TelemetryFixtures.temporaryDirectory("fill")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = FillFileStore(directory: directory + "/data")
        #expect(try store.load().isEmpty)
        let records = ["other": FillRecord(items: 9, alerted: [.nearlyFull]), "recyclable": FillRecord()]
        try await store.save(records)
        try await store.save(records.merging(["other": FillRecord(items: 10, alerted: [.nearlyFull, .full])]) { $1 })
        #expect(try FillFileStore(directory: directory + "/data").load()["other"] == FillRecord(items: 10, alerted: [.nearlyFull, .full]))
        #expect(!FileManager.default.fileExists(atPath: store.path + ".tmp"))
        let text = try String(contentsOfFile: store.path, encoding: .utf8)
        #expect(text == #"{"schema":1,"compartments":{"other":{"items":10,"alerted":["full","nearly_full"]},"recyclable":{"items":0,"alerted":[]}}}"#)
        try "{not json".write(toFile: store.path, atomically: true, encoding: .utf8)
        #expect(throws: TelemetryError.self) { try store.load() }
    }

    @Test(.enabled(if: MosquittoBroker.isInstalled, "needs /usr/sbin/mosquitto"), .timeLimit(.minutes(1)))
    func alertsArePublishedWithQoS1OnTheAlertTopic() async throws {
        let layout = TopicLayout(fleet: "test-fleet", binID: "bin-07")
        #expect(layout.alert == "smartbin/test-fleet/bin-07/alert")
        let broker = try await MosquittoBroker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [layout.alert])
        let mqtt = MQTTConfiguration(port: broker.port, clientID: "", keepAliveSeconds: 5,
                                     reconnectDelayMin: 1, reconnectDelayMax: 1, reconnectExponential: false)
        let publisher = try MQTTEventPublisher(mqtt: mqtt, layout: layout,
                                               outboxDirectory: TelemetryFixtures.temporaryDirectory())
        // Published before the connection exists: held, then sent once connected.
        await publisher.publishAlert(BinAlert(id: "x1", binID: "bin-07", timestamp: 1_700_000_000, compartment: "other",
                                              kind: .nearlyFull, level: 0.8, source: .count, items: 8, capacity: 10, threshold: 0.8))
        try await publisher.start()
        await publisher.publishAlert(BinAlert(id: "x2", binID: "bin-07", timestamp: 1_700_000_001, compartment: "other",
                                              kind: .full, level: 1, source: .count, items: 10, capacity: 10, threshold: 0.95))
        #expect(await publisher.flush(timeout: .seconds(10)))
        #expect(await publisher.pendingAlertCount == 0)
        let received = await subscriber.waitForMessages(count: 2, topic: layout.alert)
        let alerts = try received.map { try EventEncoding.decodeAlert(Array($0.payload.utf8)) }
        #expect(alerts.map(\.id) == ["x1", "x2"] && alerts.map(\.kind) == [.nearlyFull, .full])
        #expect(received.allSatisfy { !$0.retained })
        await publisher.shutdown()
        await subscriber.stop()
        await broker.stop()
    }
}
