import BinCore
import BinTestKit
import Testing

@Suite struct BinControllerTests {
    struct Rig {
        let clock = ManualClock()
        let triggers = FakeTriggerSource()
        let frames = FakeFrameSource()
        let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
        let flap = RecordingFlap()
        let sink = RecordingEventSink()
        let controller: BinController

        init(firstSeq: UInt64 = 41) throws {
            controller = try BinController(
                config: TestBins.config, labels: TestBins.trashnetMap,
                identity: .init(binID: "bin-7", firmware: "1.2.3"),
                triggers: triggers, frames: frames, classifier: classifier, flap: flap, sink: sink,
                clock: clock, firstSeq: firstSeq, wallClock: { 1_700_000_000 })
        }
    }

    @Test func routedItemBecomesAnEventWithSeqTimingsAndCounts() async throws {
        let rig = try Rig()
        rig.frames.enqueue(origin: "glass1.jpg")
        rig.classifier.set("glass1.jpg", .result(label: "glass", confidence: 0.93))
        let run = Task { await rig.controller.run() }

        rig.triggers.send(.lidOpened)
        #expect(await rig.clock.waitForSleepers(1))           // settle timer armed
        rig.clock.advance(by: .milliseconds(300))
        #expect(await eventually { rig.sink.events.count == 1 })
        #expect(await rig.clock.waitForSleepers(1))           // dwell timer armed
        rig.clock.advance(by: .milliseconds(800))
        #expect(await eventually { await rig.controller.snapshot.state == .idle })

        let event = try #require(rig.sink.events.first)
        #expect(event.seq == 41)
        #expect(event.binID == "bin-7")
        #expect(event.firmware == "1.2.3")
        #expect(event.timestamp == 1_700_000_000)
        #expect(event.id.count == 36)
        #expect(event.route == Route(bin: "recyclable", angleDegrees: 45, fallback: false))
        #expect(event.classification.classIndex == 1)
        #expect(event.timings.inference == 2)
        #expect(event.timings.total == 300)                    // settle on the manual clock
        #expect(await rig.controller.nextSeq == 42)
        #expect(rig.flap.moves == [45, 0])
        #expect(await rig.controller.status().countsPerBin == ["recyclable": 1])
        #expect(await rig.controller.recentTransitions.map(\.to) ==
                [.triggered, .capturing, .classifying, .routing, .returning, .idle])

        run.cancel()
        await run.value
        #expect(rig.flap.moves.last == 0)
        #expect(rig.flap.releaseCount == 1)
        #expect(await eventually { rig.sink.statuses.last?.state == "stopped" })
    }

    @Test func cancellingMidCycleMovesTheFlapHome() async throws {
        let rig = try Rig()
        rig.frames.enqueue(origin: "a")
        rig.classifier.set("a", .result(label: "trash", confidence: 0.99))
        let run = Task { await rig.controller.run() }
        rig.triggers.send(.lidOpened)
        #expect(await rig.clock.waitForSleepers(1))
        rig.clock.advance(by: .milliseconds(300))
        #expect(await eventually { rig.flap.moves == [-45] })
        run.cancel()
        await run.value
        #expect(rig.flap.moves == [-45, 0])
        #expect(await rig.controller.snapshot.state == .stopped)
    }

    @Test func hangingCameraTimesOutIntoFaultAndRecovers() async throws {
        let rig = try Rig()
        rig.frames.enqueue(.hang)
        let run = Task { await rig.controller.run() }
        rig.triggers.send(.lidOpened)
        #expect(await rig.clock.waitForSleepers(1))
        rig.clock.advance(by: .milliseconds(300))
        #expect(await eventually { await rig.controller.snapshot.state == .capturing })
        #expect(await rig.clock.waitForSleepers(1))            // capture timeout armed
        rig.clock.advance(by: .seconds(2))
        #expect(await eventually { await rig.controller.snapshot.state == .fault })
        #expect(await rig.controller.status().faultReason == "capture timed out after 2s")
        #expect(await rig.clock.waitForSleepers(1))            // back-off armed
        rig.clock.advance(by: .seconds(1))
        #expect(await eventually { await rig.controller.snapshot.state == .idle })
        #expect(rig.sink.events.isEmpty)
        run.cancel()
        await run.value
    }

    @Test func scriptEndCanStopTheBinOnceAtRest() async throws {
        let rig = try Rig()
        rig.frames.enqueue(origin: "a")
        rig.classifier.set("a", .result(label: "paper", confidence: 0.9))
        let run = Task { await rig.controller.run(stopWhenTriggersEnd: true) }
        rig.triggers.send(.lidOpened)
        rig.triggers.finish()
        #expect(await rig.clock.waitForSleepers(1))
        rig.clock.advance(by: .milliseconds(300))
        #expect(await eventually { rig.sink.events.count == 1 })  // stage timeouts are cancelled by now
        #expect(await rig.clock.waitForSleepers(1))               // so this is the dwell timer
        rig.clock.advance(by: .milliseconds(800))
        await run.value
        #expect(rig.sink.events.count == 1)
        #expect(rig.flap.moves == [45, 0, 0])
    }
}
