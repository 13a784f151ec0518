import BinCore
import BinTestKit
import Logging
import Testing

@Suite struct ClockJumpTests {
    @Test func detectorCountsEachJumpOnceAndIgnoresSmallDrift() {
        var detector = ClockJumpDetector(threshold: .seconds(2))
        #expect(detector.check(wall: 1_000, monotonic: .seconds(0)) == nil)        // the first reading sets the baseline
        #expect(detector.check(wall: 1_010.5, monotonic: .seconds(9)) == nil)     // 1.5 s of drift: under the threshold
        #expect(detector.check(wall: 4_610.5, monotonic: .seconds(9)) == 3600)    // forward
        #expect(detector.check(wall: 4_611.5, monotonic: .seconds(10)) == nil)    // the new offset is the baseline
        #expect(detector.check(wall: 4_601.5, monotonic: .seconds(10)) == -10)    // backward
        #expect(detector.jumps == 2)
        #expect(detector.lastJumpSeconds == -10)
    }

    struct Rig {
        let clock = ManualClock()
        let wall: ManualWallClock
        let triggers = FakeTriggerSource()
        let frames = FakeFrameSource()
        let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
        let flap = RecordingFlap()
        let sink = RecordingEventSink()
        let logs = LogCapture()
        let controller: BinController

        init() throws {
            wall = ManualWallClock(following: clock)
            controller = try BinController(
                config: TestBins.config, labels: TestBins.trashnetMap,
                identity: .init(binID: "bin-1", firmware: "test"),
                triggers: triggers, frames: frames, classifier: classifier, flap: flap, sink: sink,
                clock: clock, wallClock: { [wall] in wall.now() }, logger: logs.logger())
        }

        /// One item through a whole cycle (settle 300 ms, dwell 800 ms on the manual clock).
        func item(_ origin: String) async {
            frames.enqueue(origin: origin)
            classifier.set(origin, .result(label: "glass", confidence: 0.9))
            let before = sink.events.count
            triggers.send(.lidOpened)
            await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(300))
            await eventually { sink.events.count == before + 1 }
            await clock.waitForSleepers(1)
            clock.advance(by: .milliseconds(800))
            await eventually { await controller.snapshot.state == .idle }
        }
    }

    /// The wall clock jumps an hour forward, then two hours back, between items: each jump is
    /// logged once with its size and counted in the state document, event timestamps follow the
    /// wall clock, and the bin keeps routing on its monotonic timers.
    @Test func wallClockJumpsAreLoggedCountedAndTheBinKeepsWorking() async throws {
        let rig = try Rig()
        let run = Task { await rig.controller.run() }
        await rig.item("a")
        #expect(await rig.controller.status().clockJumps == 0)

        rig.wall.jump(by: 3600)
        await rig.item("b")
        let forward = await rig.controller.status()
        #expect(forward.clockJumps == 1)
        #expect(forward.lastClockJumpSeconds == 3600)
        #expect(rig.sink.statuses.last?.clockJumps == 1, "the published state carries the jump")

        rig.wall.jump(by: -7200)
        await rig.item("c")
        let backward = await rig.controller.status()
        #expect(backward.clockJumps == 2)
        #expect(backward.lastClockJumpSeconds == -7200)

        let events = rig.sink.events
        #expect(events.map(\.seq) == [1, 2, 3])
        #expect(events.map(\.route.bin) == ["recyclable", "recyclable", "recyclable"])
        #expect(events[1].timestamp - events[0].timestamp > 3600)
        #expect(events[2].timestamp < events[1].timestamp - 7100)
        let warnings = rig.logs.lines.filter { $0.level == .warning && $0.message.hasPrefix("wall clock jumped") }.map(\.message)
        #expect(warnings.count == 2, "\(warnings)")
        #expect(warnings.first?.hasPrefix("wall clock jumped forward by 3600.0 s") == true, "\(warnings)")
        #expect(warnings.last?.hasPrefix("wall clock jumped backward by 7200.0 s") == true, "\(warnings)")
        run.cancel()
        await run.value
    }
}
