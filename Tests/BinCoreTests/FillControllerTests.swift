import BinCore
import BinTestKit
import Testing

/// The controller's side of fill tracking: records restored from and saved to the `FillStore`,
/// alerts stamped with id, bin id and time for the sink, `emptied` checked by name.
@Suite struct FillControllerTests {
    struct Rig {
        let clock = ManualClock()
        let triggers = FakeTriggerSource()
        let frames = FakeFrameSource()
        let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
        let flap = RecordingFlap()
        let sink = RecordingEventSink()
        let store: MemoryFillStore
        let controller: BinController

        init(capacity: Int, restored: [String: FillRecord]) throws {
            store = MemoryFillStore(restored)
            var config = TestBins.config
            config.fill = FillConfig(capacity: capacity)
            nonisolated(unsafe) var next = 0
            controller = try BinController(
                config: config, labels: TestBins.trashnetMap, identity: .init(binID: "bin-7", firmware: "1.2.3"),
                triggers: triggers, frames: frames, classifier: classifier, flap: flap, sink: sink,
                clock: clock, fillStore: store, wallClock: { 1_700_000_000 },
                makeEventID: { next += 1; return "id-\(next)" })
        }

        func drop(_ label: String) async {
            let origin = "\(label)-\(frames.captureCount).jpg"
            frames.enqueue(origin: origin)
            classifier.set(origin, .result(label: label, confidence: 0.9))
            triggers.send(.lidOpened)
            _ = await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(300))
            _ = await eventually { await controller.snapshot.state == .routing }
            _ = await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(800))
            _ = await eventually { await controller.snapshot.state == .idle }
        }
    }

    @Test func restoredCountsContinueAndAlertsAreStampedAndSaved() async throws {
        let rig = try Rig(capacity: 4, restored: ["recyclable": FillRecord(items: 2)])
        #expect(await rig.controller.status().fill["recyclable"]?.level == 0.5)
        let run = Task { await rig.controller.run() }
        await rig.drop("glass")                                   // 3 of 4: 75 %
        #expect(rig.sink.alerts.isEmpty)
        await rig.drop("paper")                                   // 4 of 4
        #expect(await eventually { rig.sink.alerts.count == 2 })
        let alerts = rig.sink.alerts
        #expect(alerts.map(\.kind) == [.nearlyFull, .full])
        #expect(alerts.allSatisfy { $0.binID == "bin-7" && $0.timestamp == 1_700_000_000 && $0.compartment == "recyclable" })
        #expect(alerts.map(\.threshold) == [0.8, 0.95])
        #expect(Set(alerts.map(\.id)).count == 2)
        #expect(await eventually { rig.store.records["recyclable"] == FillRecord(items: 4, alerted: [.nearlyFull, .full]) })

        let emptied = try await rig.controller.emptied("recyclable", source: .button)
        #expect(emptied == ["recyclable"])
        #expect(await eventually { rig.sink.alerts.last?.kind == .emptied })
        #expect(await eventually { rig.store.records["recyclable"] == FillRecord() })
        #expect(await eventually { rig.sink.statuses.last?.fill["recyclable"]?.level == 0 })
        #expect(rig.sink.statuses.last?.fullPolicy == "keep_routing")
        await #expect(throws: BinCoreError.self) { try await rig.controller.emptied("cellar", source: .command) }
        let all = try await rig.controller.emptied(nil, source: .command)
        #expect(all == ["other", "recyclable"])
        run.cancel()
        await run.value
    }
}
