import BinCore
import BinTestKit
import Foundation
import SmartBinApp
import Telemetry
import Testing

/// `cmd/<name>` through the router against a running controller (fakes for the hardware):
/// size bound, strict JSON, schemas, state rules, and an answer for every message.
@Suite(.timeLimit(.minutes(1))) struct CommandTests {
    let layout = TopicLayout(fleet: "f", binID: "bin-1")

    struct Bin {
        let controller: BinController
        let flap: RecordingFlap
        let triggers: FakeTriggerSource
        let run: Task<Void, Never>
        let router: CommandRouter
    }

    func startBin() throws -> Bin {
        let triggers = FakeTriggerSource()
        let flap = RecordingFlap()
        let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
        let controller = try BinController(
            config: TestBins.config, labels: TestBins.trashnetMap, identity: .init(binID: "bin-1", firmware: "test"),
            triggers: triggers, frames: FakeFrameSource(), classifier: classifier, flap: flap,
            sink: RecordingEventSink(), clock: ContinuousClock(), wallClock: { 0 })
        let run = Task { await controller.run() }
        let router = CommandRouter(layout: layout, handlers: [
            MaintenanceCommand(controller: controller),
            FlapTestCommand(controller: controller, flap: flap, config: TestBins.config),
        ])
        return Bin(controller: controller, flap: flap, triggers: triggers, run: run, router: router)
    }

    func send(_ router: CommandRouter, _ name: String, _ payload: String) async throws -> [String: Any] {
        let (topic, bytes) = try #require(await router.handle(topic: layout.command(name), payload: Array(payload.utf8)))
        #expect(topic == layout.commandResult(name))
        return try #require(Reliability.parseJSON(String(decoding: bytes, as: UTF8.self)))
    }

    @Test func everyBadPayloadIsRefusedWithAReason() async throws {
        let bin = try startBin()
        defer { bin.run.cancel() }
        let cases: [(String, String, String)] = [
            ("maintenance", String(repeating: " ", count: 4097), "too_large"),
            ("maintenance", "{\"enabled\": tru}", "malformed"),
            ("maintenance", "{\"enabled\": true,}", "malformed"),
            ("maintenance", "{\"enabled\": true, \"enabled\": false}", "malformed"),
            ("maintenance", "[true]", "invalid"),
            ("maintenance", "{}", "invalid"),
            ("maintenance", "{\"enabled\": \"yes\"}", "invalid"),
            ("maintenance", "{\"enabled\": true, \"shell\": \"rm -rf /\"}", "invalid"),
            ("maintenance", String(repeating: "[", count: 40) + String(repeating: "]", count: 40), "malformed"),
            ("flap_test", "{\"angle_deg\": 720}", "invalid"),
            ("flap_test", "{\"bin\": \"kitchen\"}", "invalid"),
            ("flap_test", "{\"angle_deg\": 10}", "not_allowed"),
            ("self_destruct", "{}", "unknown_command"),
        ]
        for (name, payload, code) in cases {
            let result = try await send(bin.router, name, payload)
            #expect(result["ok"] as? Bool == false, "\(name) \(payload.prefix(60))")
            #expect(result["code"] as? String == code, "\(name) \(payload.prefix(60)): \(result)")
            #expect((result["error"] as? String)?.isEmpty == false)
            #expect(result["command"] as? String == name)
        }
        #expect(bin.flap.moves.isEmpty, "a refused command moved the flap: \(bin.flap.moves)")
        print("commands: \(cases.count) bad payloads refused with a reason")
    }

    @Test func maintenanceThenFlapTestMovesAndReturnsHome() async throws {
        let bin = try startBin()
        defer { bin.run.cancel() }
        var result = try await send(bin.router, "maintenance", "{\"enabled\": true, \"reason\": \"clean\", \"request_id\": \"r1\"}")
        #expect(result["ok"] as? Bool == true && result["state"] as? String == "maintenance")
        #expect(result["request_id"] as? String == "r1")
        // Wait for the flap to be locked home.
        for _ in 0..<100 where await !bin.controller.snapshot.atRest { try await Task.sleep(for: .milliseconds(5)) }
        let before = bin.flap.moves.count
        result = try await send(bin.router, "flap_test", "{\"bin\": \"recyclable\", \"request_id\": \"r2\"}")
        #expect(result["ok"] as? Bool == true, "\(result)")
        #expect(Array(bin.flap.moves.dropFirst(before)) == [45, 0])
        result = try await send(bin.router, "flap_test", "{}")
        #expect(result["angles_deg"] as? [Double] == [-45, 45, 0] || result["angles_deg"] as? [Double] == [45, -45, 0])
        result = try await send(bin.router, "flap_test", "{\"bin\": \"recyclable\", \"angle_deg\": 3}")
        #expect(result["code"] as? String == "invalid")
        result = try await send(bin.router, "maintenance", "{\"enabled\": false}")
        #expect(result["ok"] as? Bool == true && result["state"] as? String == "idle")
    }

    @Test func resultTopicsAndForeignTopicsAreIgnored() async throws {
        let bin = try startBin()
        defer { bin.run.cancel() }
        #expect(await bin.router.handle(topic: layout.commandResult("maintenance"), payload: []) == nil)
        #expect(await bin.router.handle(topic: "smartbin/f/bin-2/cmd/maintenance", payload: []) == nil)
        #expect(await bin.router.handle(topic: layout.command("Bad-Name"), payload: []) == nil)
        #expect(bin.router.filter == "smartbin/f/bin-1/cmd/+")
    }

    @Test func parserRoundTripsAndBoundsDepth() throws {
        let text = #"{"a":[1,2.5,-3e2,true,false,null,"x\"\u00e9\ud83d\ude00"],"b":{}}"#
        let value = try CommandJSON.parse(Array(text.utf8))
        let again = try CommandJSON.parse(value.encoded())
        #expect(value == again)
        #expect(throws: CommandError.self) { try CommandJSON.parse(Array((String(repeating: "[", count: 9) + String(repeating: "]", count: 9)).utf8)) }
        #expect(throws: CommandError.self) { try CommandJSON.parse(Array("\"\\ud800\"".utf8)) }
        #expect(throws: CommandError.self) { try CommandJSON.parse(Array("1e999".utf8)) }
        #expect(throws: CommandError.self) { try CommandJSON.parse([0x22, 0x01, 0x22]) }
    }
}
