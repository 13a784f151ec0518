import BinCore
import BinTestKit
import Simulation
import Testing

@Suite struct ScriptedTriggerSourceTests {
    @Test func parsesEdgesWaitsAndComments() throws {
        let source = try ScriptedTriggerSource(script: "# demo\nopen\nwait 2s  # settle\n\nclose\nbeam\nproximity\n",
                                               file: "demo.script", clock: ManualClock())
        #expect(source.steps.map(\.step) == [.edge(.lidOpened), .wait(.seconds(2)), .edge(.lidClosed),
                                             .edge(.beamBroken), .edge(.proximity)])
        #expect(source.steps.map(\.line) == [2, 3, 5, 6, 7])
    }

    @Test func errorsNameFileAndLine() {
        #expect(throws: SimulationError(.scriptSyntax, "s.txt:2: expected 'wait <duration>' such as 'wait 2s' or 'wait 500ms'")) {
            try ScriptedTriggerSource(script: "open\nwait soon\n", file: "s.txt", clock: ManualClock())
        }
        #expect(throws: SimulationError.self) {
            try ScriptedTriggerSource(script: "open\n\nexplode\n", file: "s.txt", clock: ManualClock())
        }
    }

    @Test func edgesArriveAfterTheirWaitsOnTheInjectedClock() async throws {
        let clock = ManualClock()
        let source = try ScriptedTriggerSource(script: "open\nwait 2s\nbeam\n", file: "s", clock: clock)
        var iterator = source.events().makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.kind == .lidOpened)
        #expect(first?.source == "s:1")
        #expect(await clock.waitForSleepers(1))
        clock.advance(by: .seconds(2))
        #expect(await iterator.next()?.kind == .beamBroken)
        #expect(await iterator.next() == nil)
    }

    /// `level` and `button` steps stand in for the fill sensors and the emptied buttons.
    @Test func fillStepsArriveAsObservationsInTheScriptsTime() async throws {
        let clock = ManualClock()
        let source = try ScriptedTriggerSource(script: "level other 85%\nopen\nwait 1s\nbutton other\nlevel paper 0.25\n",
                                               file: "s", clock: clock)
        #expect(source.measuredCompartments == ["other", "paper"])
        var triggers = source.events().makeAsyncIterator()
        var fill = source.observations().makeAsyncIterator()
        #expect(await fill.next() == FillObservation(compartment: "other", kind: .level(0.85), source: "s:1"))
        #expect(await triggers.next()?.kind == .lidOpened)
        #expect(await clock.waitForSleepers(2))  // both replays wait the second
        clock.advance(by: .seconds(1))
        #expect(await fill.next() == FillObservation(compartment: "other", kind: .buttonPressed, source: "s:4"))
        #expect(await fill.next() == FillObservation(compartment: "paper", kind: .level(0.25), source: "s:5"))
        #expect(await fill.next() == nil)
        #expect(await triggers.next() == nil)
        for bad in ["level other", "level other 120%", "level other full", "button", "button a b"] {
            #expect(throws: SimulationError.self, "\(bad)") {
                try ScriptedTriggerSource(script: bad, file: "s", clock: ManualClock())
            }
        }
    }
}

@Suite struct RandomTriggerSourceTests {
    @Test func sameSeedGivesSameGaps() throws {
        let a = try RandomTriggerSource(rate: 0.5, seed: 7, clock: ManualClock())
        let b = try RandomTriggerSource(rate: 0.5, seed: 7, clock: ManualClock())
        let c = try RandomTriggerSource(rate: 0.5, seed: 8, clock: ManualClock())
        #expect(a.gaps(count: 20) == b.gaps(count: 20))
        #expect(a.gaps(count: 20) != c.gaps(count: 20))
    }

    @Test func meanGapIsAboutOneOverRate() throws {
        let gaps = try RandomTriggerSource(rate: 2, seed: 1, clock: ManualClock()).gaps(count: 4000)
        let mean = gaps.map(\.milliseconds).reduce(0, +) / Double(gaps.count)
        #expect(abs(mean - 500) < 40)
    }

    @Test func emitsUpToTheLimitOnTheClock() async throws {
        let clock = ManualClock()
        let source = try RandomTriggerSource(rate: 1, seed: 3, limit: 2, clock: clock)
        let gaps = source.gaps(count: 2)
        var iterator = source.events().makeAsyncIterator()
        for gap in gaps {
            #expect(await clock.waitForSleepers(1))
            clock.advance(by: gap)
            #expect(await iterator.next()?.kind == .lidOpened)
        }
        #expect(await iterator.next() == nil)
    }

    @Test func rejectsNonPositiveRate() {
        #expect(throws: SimulationError.self) { try RandomTriggerSource(rate: 0, seed: 1, clock: ManualClock()) }
    }
}

@Suite struct KeyboardTriggerSourceTests {
    @Test func typedLinesBecomeEdgesUntilQuit() async {
        let lines = LineFeed(["", "c", "b", "x", "p", "q", "o"])
        let source = KeyboardTriggerSource(readLine: { lines.next() })
        var kinds: [TriggerKind] = []
        for await event in source.events() { kinds.append(event.kind) }
        #expect(kinds == [.lidOpened, .lidClosed, .beamBroken, .proximity])
    }
}

/// Lines handed out one at a time to the keyboard source's reader thread.
final class LineFeed: Sendable {
    private let lines: Mutex<[String]>
    init(_ lines: [String]) { self.lines = Mutex(lines) }
    func next() -> String? { lines.withLock { $0.isEmpty ? nil : $0.removeFirst() } }
}

import Synchronization
