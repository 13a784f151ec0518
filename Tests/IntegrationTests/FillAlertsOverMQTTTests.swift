import BinTestKit
import Foundation
import Testing

/// Fill levels end to end: the real `smartbin simulate` with `--compartment-capacity`, a real
/// mosquitto, `mosquitto_sub` watching `…/alert` and `…/state`, and `mosquitto_pub` sending
/// `…/cmd/emptied` while the bin runs.
@Suite(.serialized, .timeLimit(.minutes(3))) struct FillAlertsOverMQTTTests {
    static func object(_ message: BrokerMessage) -> [String: Any]? {
        try? JSONSerialization.jsonObject(with: Data(message.payload.utf8)) as? [String: Any]
    }

    /// Polls the subscriber until `predicate` holds for a message on `topic` (the first such message).
    static func waitFor(_ subscriber: BrokerSubscriber, topic: String, timeout: Duration,
                        where predicate: ([String: Any]) -> Bool) async -> [String: Any]? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let match = subscriber.messages.filter({ $0.topic == topic }).compactMap(object).first(where: predicate) {
                return match
            }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }

    @Test func thresholdsAlertOnceEmptiedResetsAndCountsSurviveARestart() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/fleetF/bin-fill"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"])
        defer { Task { await subscriber.stop() } }
        // Confidence threshold 1.0: every item goes to the fallback compartment `other`.
        let config = directory + "/bin.toml"
        try "[routing]\nconfidence_threshold = 1.0\n[timing]\nsettle_ms = 10\ndwell_ms = 50\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let common = ["simulate", "--config", config, "--broker", "127.0.0.1:\(broker.port)", "--fleet", "fleetF",
                      "--bin-id", "bin-fill", "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                      "--compartment-capacity", "10", "--data-dir", directory + "/data"]

        // First run: 9 items of 10 → 80 % crossed once, 95 % not yet.
        let first = try SmartBinChildProcess(common + ["--items", "9", "--rate", "20"], directory: directory)
        #expect(await first.wait(timeout: .seconds(90)) == 0, "first run:\n\(first.output)")
        _ = await subscriber.waitForMessages(count: 9, topic: base + "/event", timeout: .seconds(10))
        var alerts = subscriber.messages.filter { $0.topic == base + "/alert" }.compactMap(Self.object)
        #expect(alerts.map { $0["kind"] as? String } == ["nearly_full"], "alerts: \(alerts)")
        #expect(alerts.first?["compartment"] as? String == "other" && alerts.first?["level"] as? Double == 0.8)
        #expect(alerts.first?["items"] as? Int == 9 - 1 && alerts.first?["source"] as? String == "count")
        #expect(FileManager.default.fileExists(atPath: directory + "/data/fill.json"))

        // Restart (counts from the data dir): three more items → 95 % crossed once at item 10,
        // no second nearly_full; then the bin waits for commands.
        let script = directory + "/items.txt"
        try "open\nwait 1s\nopen\nwait 1s\nopen\nwait 60s\n".write(toFile: script, atomically: true, encoding: .utf8)
        let second = try SmartBinChildProcess(common + ["--script", script], directory: directory)
        let events = await subscriber.waitForMessages(count: 12, topic: base + "/event", timeout: .seconds(60))
        #expect(events.count == 12, "second run:\n\(second.output)")
        let full = await Self.waitFor(subscriber, topic: base + "/state", timeout: .seconds(10)) { state in
            ((state["fill"] as? [String: Any])?["other"] as? [String: Any])?["items"] as? Int == 12
        }
        #expect(full != nil, "no state with 12 items in other:\n\(second.output)")
        let other = (full?["fill"] as? [String: Any])?["other"] as? [String: Any]
        #expect(other?["level"] as? Double == 1 && other?["status"] as? String == "full" && other?["capacity"] as? Int == 10)
        alerts = subscriber.messages.filter { $0.topic == base + "/alert" }.compactMap(Self.object)
        #expect(alerts.map { $0["kind"] as? String } == ["nearly_full", "full"], "alerts: \(alerts)")
        #expect(alerts.last?["items"] as? Int == 10 && alerts.last?["level"] as? Double == 1)

        // Someone empties `other`: one emptied alert, the state shows level 0.
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/emptied", payload: #"{"compartment": "other"}"#)
        let emptied = await Self.waitFor(subscriber, topic: base + "/alert", timeout: .seconds(10)) { $0["kind"] as? String == "emptied" }
        #expect(emptied?["compartment"] as? String == "other" && emptied?["source"] as? String == "command")
        #expect(emptied?["items"] as? Int == 12 && emptied?["level"] as? Double == 0)
        let reset = await Self.waitFor(subscriber, topic: base + "/state", timeout: .seconds(10)) { state in
            let other = (state["fill"] as? [String: Any])?["other"] as? [String: Any]
            return other?["items"] as? Int == 0
        }
        let level = ((reset?["fill"] as? [String: Any])?["other"] as? [String: Any])?["level"] as? Double
        #expect(level == 0, "no state with other emptied:\n\(second.output)")
        let result = await Self.waitFor(subscriber, topic: base + "/cmd/emptied/result", timeout: .seconds(5)) { _ in true }
        #expect(result?["ok"] as? Bool == true && result?["emptied"] as? [String] == ["other"])

        // An unknown compartment is refused with a reason.
        try await BrokerSubscriber.publish(port: broker.port, topic: base + "/cmd/emptied", payload: #"{"compartment": "cellar"}"#)
        let refused = await Self.waitFor(subscriber, topic: base + "/cmd/emptied/result", timeout: .seconds(5)) { $0["ok"] as? Bool == false }
        #expect((refused?["reason"] as? String)?.contains("cellar") == true)

        second.signal(SIGTERM)
        #expect(await second.wait(timeout: .seconds(20)) == 0, "\(second.output)")
        alerts = subscriber.messages.filter { $0.topic == base + "/alert" }.compactMap(Self.object)
        #expect(alerts.map { $0["kind"] as? String } == ["nearly_full", "full", "emptied"], "alerts: \(alerts)")
        let ids = alerts.compactMap { $0["id"] as? String }
        #expect(Set(ids).count == 3)
        #expect(alerts.allSatisfy { $0["bin_id"] as? String == "bin-fill" && ($0["ts"] as? String)?.hasSuffix("Z") == true })

        // The emptied count is what the next start sees.
        let saved = try String(contentsOfFile: directory + "/data/fill.json", encoding: .utf8)
        #expect(saved.contains(#""other":{"items":0,"alerted":[]}"#), "\(saved)")
    }

    @Test func refusePolicyKeepsTheFlapHomeForAFullCompartment() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let broker = try await MosquittoBroker.start()
        defer { Task { await broker.stop() } }
        let base = "smartbin/default/bin-refuse"
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [base + "/#"])
        defer { Task { await subscriber.stop() } }
        let config = directory + "/bin.toml"
        try "[routing]\nconfidence_threshold = 1.0\n[timing]\nsettle_ms = 10\ndwell_ms = 50\n[fill]\npolicy = \"refuse\"\n"
            .write(toFile: config, atomically: true, encoding: .utf8)
        let script = directory + "/items.txt"
        try "open\nwait 1s\nopen\nwait 1s\nopen\nwait 1s\n".write(toFile: script, atomically: true, encoding: .utf8)
        let bin = try SmartBinChildProcess(["simulate", "--config", config, "--broker", "127.0.0.1:\(broker.port)",
                                       "--bin-id", "bin-refuse", "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"),
                                       "--compartment-capacity", "2", "--script", script, "--data-dir", directory + "/data"],
                                      directory: directory)
        #expect(await bin.wait(timeout: .seconds(90)) == 0, "\(bin.output)")
        let events = subscriber.messages.filter { $0.topic == base + "/event" }
        #expect(events.count == 2, "the third item should have been refused:\n\(bin.output)")
        let last = subscriber.messages.filter { $0.topic == base + "/state" }.compactMap(Self.object).last
        #expect(last?["full_policy"] as? String == "refuse")
        #expect((last?["refusal"] as? String)?.contains("other is full") == true, "state: \(String(describing: last))")
        let other = (last?["fill"] as? [String: Any])?["other"] as? [String: Any]
        #expect(other?["refused"] as? Int == 1 && other?["items"] as? Int == 2)
    }
}
