import BinCore
import BinTestKit
import Testing

/// Fill tracking inside the state machine: alerts from routed items, emptying, and each
/// full-compartment policy, on the manual clock.
@Suite struct FillPolicyTests {
    func makeDriver(capacity: Int = 4, policy: FillConfig.FullPolicy = .keepRouting,
                    fill: [String: FillRecord] = [:]) throws -> StateMachineDriver {
        var config = TestBins.config
        config.fill = FillConfig(capacity: capacity, policy: policy)
        return try StateMachineDriver(config: config, fill: fill)
    }

    /// Drops one item classified as `label` and runs the cycle to its end.
    func drop(_ bin: StateMachineDriver, _ label: String, confidence: Double = 0.9) {
        let origin = "item-\(bin.snapshot.cyclesStarted + 1).jpg"
        bin.frames.enqueue(origin: origin)
        bin.classifier.set(origin, .result(label: label, confidence: confidence))
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(300))
        bin.advance(by: .milliseconds(800))
    }

    @Test func routedItemsRaiseEachThresholdOnceAndArePersisted() throws {
        let bin = try makeDriver(capacity: 5)
        for _ in 1...3 { drop(bin, "glass") }
        #expect(bin.alerts.isEmpty)
        drop(bin, "glass")                                       // 4 of 5: 80 %
        #expect(bin.alerts.map(\.kind) == [.nearlyFull])
        drop(bin, "glass")                                       // 5 of 5: full
        drop(bin, "glass")
        drop(bin, "glass")
        #expect(bin.alerts.map(\.kind) == [.nearlyFull, .full])
        #expect(bin.alerts.allSatisfy { $0.compartment == "recyclable" })
        #expect(bin.persistedFill?["recyclable"] == FillRecord(items: 7, alerted: [.nearlyFull, .full]))
        #expect(bin.snapshot.fill["recyclable"]?.level == 1 && bin.snapshot.fill["other"]?.level == 0)
        #expect(bin.reports.count == 7 && bin.state == .idle)   // keep_routing: every item routed
        #expect(bin.flap.moves.filter { $0 == 45 }.count == 7)
    }

    @Test func emptiedResetsTheLevelAndRearmsTheAlerts() throws {
        let bin = try makeDriver(capacity: 2)
        drop(bin, "glass")
        drop(bin, "glass")
        #expect(bin.alerts.map(\.kind) == [.nearlyFull, .full])
        bin.emptied("recyclable")
        #expect(bin.alerts.last?.kind == .emptied && bin.alerts.last?.source == .command)
        #expect(bin.alerts.last?.items == 2 && bin.alerts.last?.previousLevel == 1)
        #expect(bin.snapshot.fill["recyclable"]?.level == 0 && bin.snapshot.fill["recyclable"]?.items == 0)
        #expect(bin.persistedFill?["recyclable"] == FillRecord())
        drop(bin, "glass")
        drop(bin, "glass")
        #expect(bin.alerts.map(\.kind) == [.nearlyFull, .full, .emptied, .nearlyFull, .full])
    }

    @Test func emptiedWithoutANameEmptiesEveryCompartment() throws {
        let bin = try makeDriver(capacity: 10)
        drop(bin, "glass")
        drop(bin, "trash")
        bin.emptied(nil, source: .button)
        #expect(bin.alerts.map(\.compartment) == ["other", "recyclable"])
        #expect(bin.alerts.allSatisfy { $0.kind == .emptied && $0.source == .button })
        bin.emptied("cellar")
        #expect(bin.alerts.count == 2)
        #expect(bin.notes.last?.contains("no such compartment") == true)
    }

    @Test func fallbackPolicyRoutesAFullCompartmentsItemsToTheFallback() throws {
        let bin = try makeDriver(capacity: 2, policy: .fallback)
        drop(bin, "glass")
        drop(bin, "glass")                                       // recyclable now full
        drop(bin, "metal")
        #expect(bin.reports.last?.route == Route(bin: "other", angleDegrees: -45, fallback: true))
        #expect(bin.transitions.contains { $0.cause.contains("recyclable full, 100%: fallback") })
        #expect(bin.snapshot.fill["recyclable"]?.diverted == 1)
        #expect(bin.snapshot.fill["recyclable"]?.items == 2 && bin.snapshot.fill["other"]?.items == 1)
        bin.emptied("recyclable")
        drop(bin, "glass")
        #expect(bin.reports.last?.route.bin == "recyclable" && bin.reports.last?.route.fallback == false)
    }

    @Test func fallbackPolicyStillRoutesToAFullFallbackCompartment() throws {
        let bin = try makeDriver(capacity: 1, policy: .fallback)
        drop(bin, "trash")
        drop(bin, "trash")
        #expect(bin.reports.count == 2 && bin.reports.allSatisfy { $0.route.bin == "other" })
    }

    @Test func refusePolicyKeepsTheFlapHomeAndSaysWhy() throws {
        let bin = try makeDriver(capacity: 2, policy: .refuse)
        drop(bin, "glass")
        drop(bin, "glass")
        let moves = bin.flap.moves
        drop(bin, "glass")
        #expect(bin.flap.moves == moves, "the flap moved for a refused item")
        #expect(bin.reports.count == 2, "a refused item was recorded as routed")
        #expect(bin.state == .idle && bin.armedTimers == 0)
        #expect(bin.transitions.last?.from == .classifying && bin.transitions.last?.to == .idle)
        let refusal = try #require(bin.snapshot.refusal)
        #expect(refusal.contains("recyclable is full (100%)") && refusal.contains("glass refused"))
        #expect(bin.snapshot.fill["recyclable"]?.refused == 1 && bin.snapshot.fill["recyclable"]?.items == 2)
        // Other compartments still accept items.
        drop(bin, "trash")
        #expect(bin.reports.last?.route.bin == "other")
        bin.emptied("recyclable")
        #expect(bin.snapshot.refusal == nil)
        drop(bin, "glass")
        #expect(bin.reports.last?.route.bin == "recyclable")
    }

    @Test func aTriggerDuringARefusedCycleStartsTheNextOne() throws {
        let bin = try makeDriver(capacity: 1, policy: .refuse, fill: ["recyclable": FillRecord(items: 1, alerted: [.nearlyFull, .full])])
        bin.frames.enqueue(origin: "a.jpg")
        bin.classifier.set("a.jpg", .result(label: "glass", confidence: 0.9))
        bin.frames.enqueue(origin: "b.jpg")
        bin.classifier.set("b.jpg", .result(label: "trash", confidence: 0.9))
        bin.trigger(.lidOpened)
        bin.advance(by: .milliseconds(100))
        bin.trigger(.lidOpened)                                  // during the cycle: one more
        bin.advance(by: .milliseconds(200))                      // first refused, second cycle starts
        #expect(bin.state == .triggered)
        bin.advance(by: .milliseconds(300))
        bin.advance(by: .milliseconds(800))
        #expect(bin.reports.map(\.route.bin) == ["other"])
        #expect(bin.alerts.map(\.kind) == [.nearlyFull, .full]) // other: 1 of 1 (restored recyclable alerted nothing new)
        #expect(bin.alerts.allSatisfy { $0.compartment == "other" })
    }

    @Test func sensorReadingsAlertAndASharpDropEmpties() throws {
        var config = TestBins.config
        config.fill = FillConfig()
        let bin = try StateMachineDriver(config: config)
        bin.measured("other", level: 0.85)
        bin.measured("other", level: 0.96)
        bin.measured("other", level: 0.1)
        #expect(bin.alerts.map(\.kind) == [.nearlyFull, .full, .emptied])
        #expect(bin.alerts.last?.source == .sensor)
        #expect(bin.snapshot.fill["other"]?.measuredLevel == 0.1)
        bin.measured("cellar", level: 0.5)
        #expect(bin.notes.last?.contains("unknown compartment") == true)
    }
}
