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

extension FillControllerTests {
    /// What the fill hardware reports goes through `observe`: a button press records the
    /// emptying exactly like `cmd/emptied` (source `button`), measured levels feed the fill
    /// tracking (source `sensor`) and a sharp drop of them is an emptying.
    @Test func fillHardwareObservationsAlertAndEmpty() async throws {
        let rig = try Rig(capacity: 10, restored: ["other": FillRecord(items: 9, alerted: [.nearlyFull])])
        let sensor = FakeFillSensor()
        let run = Task { await rig.controller.run() }
        let feed = Task { for await observation in sensor.observations() { await rig.controller.observe(observation) } }

        sensor.press("other")
        #expect(await eventually { rig.sink.alerts.count == 1 })
        let emptied = rig.sink.alerts[0]
        #expect(emptied.kind == .emptied && emptied.source == .button && emptied.compartment == "other")
        #expect(emptied.items == 9 && emptied.previousLevel == 0.9 && emptied.level == 0)
        #expect(await eventually { rig.store.records["other"] == FillRecord() })

        sensor.measure("recyclable", 0.5)
        sensor.measure("recyclable", 0.85)
        #expect(await eventually { rig.sink.alerts.count == 2 })
        #expect(rig.sink.alerts[1].kind == .nearlyFull && rig.sink.alerts[1].source == .sensor)
        #expect(await eventually { rig.sink.statuses.last?.fill["recyclable"]?.measuredLevel == 0.85 })
        sensor.measure("recyclable", 0.1)   // a drop of 75 points: emptied
        #expect(await eventually { rig.sink.alerts.count == 3 })
        #expect(rig.sink.alerts[2].kind == .emptied && rig.sink.alerts[2].source == .sensor)
        #expect(rig.sink.alerts[2].previousLevel == 0.85)

        sensor.press("cellar")              // no such compartment: logged, nothing happens
        sensor.measure("cellar", 0.5)
        sensor.press("recyclable")
        #expect(await eventually { rig.sink.alerts.count == 4 })
        #expect(rig.sink.alerts[3].compartment == "recyclable" && rig.sink.alerts[3].source == .button)
        sensor.finish()
        await feed.value
        run.cancel()
        await run.value
    }
}
