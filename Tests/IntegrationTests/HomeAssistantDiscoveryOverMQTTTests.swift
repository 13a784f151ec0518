import BinTestKit
import Foundation
import SmartBinApp
import Testing

/// Home Assistant discovery end to end: the real `smartbin simulate` with
/// `mqtt.home_assistant_discovery = true`, a real mosquitto, and an independent `mosquitto_sub`
/// that subscribes only after the bin has gone, so everything it sees was retained.
@Suite(.serialized, .timeLimit(.minutes(3))) struct HomeAssistantDiscoveryOverMQTTTests {
    static func object(_ payload: String) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(payload.utf8)) as? [String: Any]
    }

    @Test func retainedSensorConfigsForTrackedCompartmentsAndNoneForTheOthers() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        // A sensor left from an earlier configuration, for a compartment no longer tracked.
        try await BrokerSubscriber.publish(port: broker.port, topic: "homeassistant/sensor/bin-ha_hazardous_fill/config",
                                           payload: #"{"name":"stale"}"#, retain: true)
        let config = directory + "/bin.toml"
        try """
            [mqtt]
            home_assistant_discovery = true
            [routing]
            confidence_threshold = 1.0
            [timing]
            settle_ms = 10
            dwell_ms = 50
            [fill]
            capacities = { other = 10 }

            """.write(toFile: config, atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", config, "--broker", "127.0.0.1:\(broker.port)",
                                       "--fleet", "north", "--bin-id", "bin-ha",
                                       "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                       "--items", "2", "--rate", "20", "--data-dir", directory + "/data"],
                                      directory: directory)
        #expect(await bin.wait(timeout: .seconds(90)) == 0, "\(bin.output)")

        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["homeassistant/#", "smartbin/north/bin-ha/state"])
        defer { Task { await subscriber.stop() } }
        let configs = await subscriber.waitForMessages(count: 1, topic: "homeassistant/sensor/bin-ha_other_fill/config", timeout: .seconds(10))
        #expect(configs.count == 1, "no retained config; bin output:\n\(bin.output)")
        #expect(configs.first?.retained == true)
        let sensor = try #require(configs.first.flatMap { Self.object($0.payload) })
        #expect(sensor["name"] as? String == "other fill")
        #expect(sensor["unique_id"] as? String == "smartbin_north_bin-ha_other_fill")
        #expect(sensor["state_topic"] as? String == "smartbin/north/bin-ha/state")
        #expect(sensor["value_template"] as? String == "{{ (value_json.fill['other'].level * 100) | round(1) }}")
        #expect(sensor["unit_of_measurement"] as? String == "%" && sensor["state_class"] as? String == "measurement")
        #expect(sensor["json_attributes_topic"] as? String == "smartbin/north/bin-ha/state")
        #expect(sensor["json_attributes_template"] as? String == "{{ value_json.fill['other'] | tojson }}")
        let availability = try #require((sensor["availability"] as? [[String: Any]])?.first)
        #expect(availability["topic"] as? String == "smartbin/north/bin-ha/available")
        #expect(availability["payload_available"] as? String == "online" && availability["payload_not_available"] as? String == "offline")
        #expect(availability["value_template"] as? String == "{{ 'online' if value == 'online' else 'offline' }}")
        let device = try #require(sensor["device"] as? [String: Any])
        #expect(device["identifiers"] as? [String] == ["smartbin_north_bin-ha"])
        #expect(device["name"] as? String == "SmartBin bin-ha")
        #expect(device["sw_version"] as? String == SmartBinApp.firmwareVersion)

        // What the template reads is in the retained state: other's level after two items of 10.
        let state = await subscriber.waitForMessages(count: 1, topic: "smartbin/north/bin-ha/state", timeout: .seconds(5))
        let fill = state.first.flatMap { Self.object($0.payload) }?["fill"] as? [String: Any]
        #expect((fill?["other"] as? [String: Any])?["level"] as? Double == 0.2, "state: \(state)")

        // Only tracked compartments are sensors; the stale one was removed (its retained config cleared).
        try await Task.sleep(for: .milliseconds(300))
        let topics = Set(subscriber.messages.filter { $0.topic.hasPrefix("homeassistant/") }.map(\.topic))
        #expect(topics == ["homeassistant/sensor/bin-ha_other_fill/config"], "\(topics)")
    }
}
