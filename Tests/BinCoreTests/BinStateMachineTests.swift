import BinCore
import BinTestKit
import Testing

@Suite struct BinStateMachineTests {
    func makeDriver(_ configure: (inout BinConfig) -> Void = { _ in }) throws -> StateMachineDriver {
        var config = TestBins.config
        configure(&config)
        return try StateMachineDriver(config: config)
    }

    func script(_ bin: StateMachineDriver, _ origin: String, _ label: String, _ confidence: Double) {
        bin.frames.enqueue(origin: origin)
        bin.classifier.set(origin, .result(label: label, confidence: confidence))
    }

    @Test func fullCycleVisitsEveryStateInOrderAndLogsEachCause() throws {
        let bin = try makeDriver()
        script(bin, "glass1.jpg", "glass", 0.93)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        bin.advance(by: .milliseconds(800))
        #expect(bin.transitions.map(\.to) == [.triggered, .capturing, .classifying, .routing, .returning, .idle])
        #expect(bin.transitions.allSatisfy { !$0.cause.isEmpty })
        #expect(bin.transitions[3].cause.contains("glass 0.93 → recyclable"))
        #expect(bin.reports.count == 1)
        #expect(bin.reports.first?.frameOrigin == "glass1.jpg")
        #expect(bin.armedTimers == 0)
    }

    @Test func bounceWithinDebounceWindowIsIgnored() throws {
        let bin = try makeDriver { $0.timing.debounce = .milliseconds(50) }
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(49))
        bin.trigger(.lidOpened)
        #expect(bin.snapshot.bouncesIgnored == 1)
        #expect(bin.snapshot.triggersDuringCycle == 0)
        bin.advance(by: .milliseconds(1))
        bin.trigger(.lidClosed)      // 50ms after: a real edge, but close does not start a cycle
        #expect(bin.snapshot.bouncesIgnored == 1)
        #expect(bin.snapshot.cyclesStarted == 1)
    }

    @Test func captureWaitsForTheSettleDelay() throws {
        let bin = try makeDriver { $0.timing.settle = .milliseconds(500) }
        bin.trigger(.beamBroken)
        bin.advance(by: .milliseconds(499))
        #expect(bin.frames.captureCount == 0)
        #expect(bin.state == .triggered)
        bin.advance(by: .milliseconds(1))
        #expect(bin.frames.captureCount == 1)
    }

    @Test func captureTimeoutFaults() throws {
        let bin = try makeDriver()
        bin.frames.enqueue(.hang)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300) + .seconds(2) - .milliseconds(1))
        #expect(bin.state == .capturing)
        bin.advance(by: .milliseconds(1))
        #expect(bin.state == .fault)
        #expect(bin.snapshot.faultReason == "capture timed out after 2s")
    }

    @Test func classifyTimeoutFaults() throws {
        let bin = try makeDriver()
        bin.frames.enqueue(origin: "a")
        bin.classifier.set("a", .hang)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300) + .seconds(5))
        #expect(bin.snapshot.faultReason == "classification timed out after 5s")
    }

    @Test func actuateTimeoutFaultsOnTheWayOutAndHome() throws {
        let bin = try makeDriver()
        script(bin, "a", "glass", 0.9)
        bin.flap.enqueue(.hang)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300) + .seconds(2))
        #expect(bin.snapshot.faultReason == "flap did not reach 45.0° within 2s")

        bin.advance(by: .seconds(1))          // retry: homes the flap
        #expect(bin.state == .idle)
        script(bin, "b", "glass", 0.9)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        bin.flap.enqueue(.hang)
        bin.advance(by: .milliseconds(800) + .seconds(2))
        #expect(bin.snapshot.faultReason == "flap did not return home within 2s")
    }

    @Test func lateFrameAfterCaptureTimeoutIsNeverRouted() throws {
        let bin = try makeDriver()
        bin.frames.enqueue(.hang)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        let ticket = BinStateMachine.Ticket(raw: 2) // the capture's ticket (settle timer was #1)
        bin.advance(by: .seconds(2))
        var machine = bin.machine
        let actions = machine.frameCaptured(.fake("late"), ticket: ticket)
        #expect(machine.stateName == .fault)
        guard case .note(let text) = actions.first, actions.count == 1 else {
            Issue.record("expected a single note, got \(actions)")
            return
        }
        #expect(text.contains("stale"))
    }

    @Test func faultRetriesWithGrowingBackoffThenRecovers() throws {
        let bin = try makeDriver { $0.retry = RetryPolicy(maxAttempts: 3, initialBackoff: .seconds(1), multiplier: 2, maxBackoff: .seconds(3)) }
        for expected in [Duration.seconds(1), .seconds(2), .seconds(3)] {
            bin.frames.enqueue(.fail("no device"))
            bin.trigger(.lidOpened)
            bin.advance(by: .milliseconds(300))
            #expect(bin.state == .fault)
            #expect(bin.timersStarted.last.map { $0.0 == .retryBackoff && $0.1 == expected } == true)
            bin.advance(by: expected - .milliseconds(1))
            #expect(bin.state == .fault)
            bin.advance(by: .milliseconds(1))
            #expect(bin.state == .idle)
        }
        // A good cycle resets the count: the next fault starts again at 1s.
        script(bin, "ok", "paper", 0.9)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(1100))
        #expect(bin.snapshot.consecutiveFaults == 0)
        bin.frames.enqueue(.fail("again"))
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        #expect(bin.timersStarted.last.map { $0.1 == .seconds(1) } == true)
    }

    @Test func boundedRetriesLeaveTheBinInFault() throws {
        let bin = try makeDriver { $0.retry.maxAttempts = 1 }
        bin.frames.enqueue(.fail("x"))
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300) + .seconds(1))
        #expect(bin.state == .idle)
        bin.frames.enqueue(.fail("x"))
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        #expect(bin.state == .fault)
        #expect(bin.snapshot.retrying == false)
        #expect(bin.snapshot.atRest)
        bin.advance(by: .seconds(3600))
        #expect(bin.state == .fault)
        #expect(bin.armedTimers == 0)
    }

    @Test func triggersDuringACycleAreCountedAndScheduleExactlyOneMoreCycle() throws {
        let bin = try makeDriver()
        script(bin, "a", "glass", 0.9)
        script(bin, "b", "metal", 0.9)
        bin.trigger(.lidOpened)
        for _ in 0..<5 {
            bin.advance(by: .milliseconds(100))
            bin.trigger(.lidOpened)
        }
        #expect(bin.snapshot.triggersDuringCycle == 5)
        #expect(bin.snapshot.cyclePending)
        bin.advance(by: .seconds(10))
        #expect(bin.snapshot.cyclesStarted == 2)
        #expect(bin.reports.map(\.frameOrigin) == ["a", "b"])
        #expect(bin.state == .idle)
    }

    @Test func lowConfidenceGoesToFallbackBin() throws {
        let bin = try makeDriver { $0.routing.confidenceThreshold = 0.75 }
        script(bin, "a", "glass", 0.74)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        #expect(bin.reports.last?.route == Route(bin: "other", angleDegrees: -45, fallback: true))
    }

    @Test func unmappedClassGoesToFallbackBin() throws {
        let labels = try LabelMap(entries: [
            .init(index: 0, label: "glass", bin: "recyclable", english: "glass"),
            .init(index: 1, label: "ceramic", bin: nil, english: "ceramic"),
            .init(index: 2, label: "battery", bin: "hazardous", english: "battery"), // no angle on this board
        ])
        let bin = try StateMachineDriver(config: TestBins.config, labels: labels)
        for label in ["ceramic", "battery"] {
            script(bin, label, label, 0.99)
            bin.trigger(.lidOpened)
            bin.advance(by: .seconds(2))
            #expect(bin.reports.last?.route == Route(bin: "other", angleDegrees: -45, fallback: true))
        }
    }

    @Test func maintenanceLocksFlapHomeAndCountsIgnoredTriggers() throws {
        let bin = try makeDriver()
        bin.enterMaintenance()
        #expect(bin.flap.moves == [0])
        for _ in 0..<3 {
            bin.advance(by: .seconds(1))
            bin.trigger(.lidOpened)
        }
        #expect(bin.snapshot.triggersIgnored == 3)
        #expect(bin.frames.captureCount == 0)
        #expect(bin.flap.moves == [0])
        bin.exitMaintenance()
        #expect(bin.state == .idle)
    }

    @Test func shutdownMovesFlapHomeAndReleasesIt() throws {
        let bin = try makeDriver()
        script(bin, "a", "glass", 0.9)
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        bin.shutdown()
        #expect(bin.flap.moves == [45, 0])
        #expect(bin.state == .stopped)
        #expect(bin.flap.releaseCount == 1)
        #expect(bin.finished)
    }

    @Test func shutdownFinishesEvenWhenTheFlapHangs() throws {
        let bin = try makeDriver()
        bin.flap.enqueue(.hang)
        bin.shutdown()
        #expect(bin.state == .stopping)
        bin.advance(by: .seconds(2))
        #expect(bin.state == .stopped)
        #expect(bin.finished)
    }

    @Test func everyTransitionPublishesStatus() throws {
        let bin = try makeDriver()
        script(bin, "a", "glass", 0.9)
        bin.trigger(.lidOpened)
        bin.advance(by: .seconds(2))
        #expect(bin.statusPublications >= bin.transitions.count)
    }
}
