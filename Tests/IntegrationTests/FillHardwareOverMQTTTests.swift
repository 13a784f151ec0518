import BinTestKit
import Foundation
import Testing

/// The fill hardware's path end to end: `smartbin simulate` with a script whose `level` and
/// `button` steps stand in for the ultrasonic sensors and the emptied buttons (the same
/// `FillSensor` seam `smartbin run` feeds from GPIO), a real mosquitto, `mosquitto_sub` on
/// `…/alert`, `…/state` and the Home Assistant discovery topics.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FillHardwareOverMQTTTests {
    static func object(_ message: BrokerMessage) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any]
    }

    @Test func sensorLevelsAlertASharpDropEmptiesAndAButtonEmptiesLikeTheCommand() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/yard/bin-sonar"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#", "homeassistant/#"])
        defer { Task { await subscriber.stop() } }
        let config = directory + "/bin.toml"
        try "[mqtt]\nhome_assistant_discovery = true\n[routing]\nconfidence_threshold = 1.0\n[timing]\nsettle_ms = 10\ndwell_ms = 50\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        // Sensor over `other`: 40 %, 85 % (nearly full), 10 % (a sharp drop: emptied); then one
        // routed item goes to `other` and its button is pressed.
        let script = directory + "/fill.txt"
        try "wait 1s\nlevel other 40%\nwait 300ms\nlevel other 85%\nwait 300ms\nlevel other 10%\nwait 300ms\nopen\nwait 2s\nbutton other\nwait 2s\n"
            .write(toFile: script, atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", config, "--broker", "127.0.0.1:\(broker.port)",
                                       "--fleet", "yard", "--bin-id", "bin-sonar",
                                       "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                       "--script", script, "--data-dir", directory + "/data"], directory: directory)
        #expect(await bin.wait(timeout: .seconds(90)) == 0, "\(bin.output)")
        let alerts = await subscriber.waitForMessages(count: 3, topic: base + "/alert", timeout: .seconds(10))
            .compactMap(Self.object)
        #expect(alerts.map { $0["kind"] as? String } == ["nearly_full", "emptied", "emptied"], "\(alerts)\n\(bin.output)")
        #expect(alerts.map { $0["source"] as? String } == ["sensor", "sensor", "button"])
        #expect(alerts.allSatisfy { $0["compartment"] as? String == "other" })
        #expect(alerts.first?["level"] as? Double == 0.85)
        #expect(alerts.dropFirst().first?["previous_level"] as? Double == 0.85)
        // The button empties exactly like the command: the item routed since is counted off.
        #expect(alerts.last?["items"] as? Int == 1 && alerts.last?["level"] as? Double == 0)
        #expect(subscriber.messages.filter { $0.topic == base + "/event" }.count == 1)
        let last = subscriber.messages.filter { $0.topic == base + "/state" }.compactMap(Self.object).last
        let other = (last?["fill"] as? [String: Any])?["other"] as? [String: Any]
        #expect(other?["items"] as? Int == 0 && other?["measured"] is NSNull, "\(String(describing: last))")
        // Home Assistant gets a sensor for the measured compartment only (no capacity configured).
        let configs = subscriber.messages.filter { $0.topic.hasPrefix("homeassistant/") && !$0.payload.isEmpty }
        #expect(Set(configs.map(\.topic)) == ["homeassistant/sensor/bin-sonar_other_fill/config"], "\(configs)")
    }
}
