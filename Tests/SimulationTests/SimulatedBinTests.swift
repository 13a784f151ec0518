import BinCore
import BinTestKit
import Logging
import Simulation
import Testing

/// The controller end to end with the simulated parts: a script, synthetic frames, a logging flap.
@Suite struct SimulatedBinTests {
    @Test func scriptedSessionRoutesEachTriggerOnce() async throws {
        let clock = ManualClock()
        let triggers = try ScriptedTriggerSource(script: "open\nwait 5s\nopen\n", file: "session", clock: clock)
        let frames = SyntheticFrameSource(width: 4, height: 4)
        let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
        classifier.set("synthetic:1 (generated test pattern, not a camera image)", .result(label: "glass", confidence: 0.9))
        classifier.set("synthetic:2 (generated test pattern, not a camera image)", .result(label: "trash", confidence: 0.9))
        let flap = LoggingFlap(clock: clock, travelPerDegree: .zero)
        let sink = RecordingEventSink()
        // Time is stepped without knowing whether the controller has caught up, so the hardware
        // timeouts are made long enough that running ahead can only delay a stage, never fault it,
        // and debouncing is off: two edges seen late at the same instant must not count as a bounce
        // (the second one then schedules the next cycle instead).
        var config = TestBins.config
        config.timing.debounce = .zero
        config.timeouts = .init(capture: .seconds(3600), classify: .seconds(3600), actuate: .seconds(3600), record: .seconds(3600))
        let controller = try BinController(
            config: config, labels: TestBins.trashnetMap,
            identity: .init(binID: "sim", firmware: "test"), triggers: triggers, frames: frames,
            classifier: classifier, flap: flap, sink: sink, clock: clock, wallClock: { 0 })
        let run = Task { await controller.run(stopWhenTriggersEnd: true) }
        // Step time in small increments until the run ends; every sleeper is on the manual clock.
        var steps = 0
        while true {
            let atRest = await controller.snapshot.atRest
            if sink.events.count >= 2 && atRest { break }
            await clock.waitForSleepers(1, timeout: .milliseconds(200))
            clock.advance(by: .milliseconds(100))
            steps += 1
            try #require(steps < 2000)
        }
        await run.value
        #expect(sink.events.map(\.route.bin) == ["recyclable", "other"])
        #expect(sink.events.map(\.seq) == [1, 2])
        #expect(flap.degrees == 0)
    }
}
