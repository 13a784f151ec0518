import BinCore
import Testing

@Suite struct FillTrackerTests {
    let compartments = ["recyclable", "other"]

    @Test func countLevelIsItemsOverCapacityAndEachThresholdAlertsOnce() {
        var tracker = FillTracker(config: FillConfig(capacity: 10), compartments: compartments)
        var alerts: [FillAlert] = []
        for _ in 1...12 { alerts += tracker.itemRouted(to: "other") }
        #expect(alerts.map(\.kind) == [.nearlyFull, .full])
        #expect(alerts.map(\.items) == [8, 10])
        #expect(alerts.map(\.level) == [0.8, 1.0])
        #expect(alerts.allSatisfy { $0.source == .count && $0.compartment == "other" && $0.capacity == 10 })
        #expect(tracker.level(of: "other")?.level == 1)           // capped: 12 of 10 items
        #expect(tracker.view["other"]?.items == 12 && tracker.view["other"]?.status == "full")
        #expect(tracker.level(of: "recyclable")?.level == 0)
        #expect(tracker.isFull("other") && !tracker.isFull("recyclable"))
    }

    @Test func nineteenOfTwentyIsExactlyFull() {
        var tracker = FillTracker(config: FillConfig(capacity: 20), compartments: compartments)
        var alerts: [FillAlert] = []
        for _ in 1...19 { alerts += tracker.itemRouted(to: "recyclable") }
        #expect(alerts.map(\.kind) == [.nearlyFull, .full])
        #expect(alerts.map(\.items) == [16, 19])
    }

    @Test func emptiedResetsTheCountAndRearmsBothThresholds() throws {
        var tracker = FillTracker(config: FillConfig(capacity: 5), compartments: compartments)
        for _ in 1...5 { _ = tracker.itemRouted(to: "other") }
        let result = tracker.emptied("other", source: .button)
        let emptied = try #require(result)
        #expect(emptied.kind == .emptied && emptied.items == 5 && emptied.previousLevel == 1 && emptied.level == 0)
        #expect(emptied.source == .button)
        #expect(tracker.persistent["other"] == FillRecord())
        var again: [FillAlert] = []
        for _ in 1...5 { again += tracker.itemRouted(to: "other") }
        #expect(again.map(\.kind) == [.nearlyFull, .full])
        let unknown = tracker.emptied("cellar", source: .command)
        #expect(unknown == nil)
    }

    @Test func sensorLevelRearmsOnlyWellBelowTheThreshold() {
        var tracker = FillTracker(config: FillConfig(), compartments: compartments)
        #expect(tracker.level(of: "other") == nil)               // no capacity, no reading: untracked
        #expect(tracker.view["other"]?.tracked == false)
        #expect(tracker.measured("other", level: 0.82).map(\.kind) == [.nearlyFull])
        #expect(tracker.measured("other", level: 0.76).isEmpty)  // noise below 80 %: still alerted
        #expect(tracker.measured("other", level: 0.81).isEmpty)  // not again
        #expect(tracker.measured("other", level: 0.69).isEmpty)  // below 70 %: re-armed, no alert
        let again = tracker.measured("other", level: 0.8)
        #expect(again.map(\.kind) == [.nearlyFull] && again.first?.source == .sensor)
    }

    @Test func aJumpPastBothThresholdsRaisesBothInOrder() {
        var tracker = FillTracker(config: FillConfig(), compartments: compartments)
        #expect(tracker.measured("recyclable", level: 0.97).map(\.kind) == [.nearlyFull, .full])
    }

    @Test func aSharpMeasuredDropIsAnEmptying() {
        var tracker = FillTracker(config: FillConfig(capacity: 10), compartments: compartments)
        for _ in 1...3 { _ = tracker.itemRouted(to: "other") }
        _ = tracker.measured("other", level: 0.9)
        #expect(tracker.level(of: "other")?.source == .sensor)   // the larger estimate wins
        let alerts = tracker.measured("other", level: 0.05)
        #expect(alerts.first?.kind == .emptied && alerts.first?.source == .sensor)
        #expect(alerts.first?.previousLevel == 0.9)
        #expect(tracker.persistent["other"]?.items == 0)
        #expect(tracker.view["other"]?.measuredLevel == 0.05)
        // A gentle fall is not an emptying.
        _ = tracker.measured("other", level: 0.5)
        #expect(tracker.measured("other", level: 0.2).isEmpty)
    }

    @Test func restoredRecordsKeepTheCountAndTheAlertsAlreadySent() {
        let restored = ["other": FillRecord(items: 8, alerted: [.nearlyFull]), "gone": FillRecord(items: 3)]
        var tracker = FillTracker(config: FillConfig(capacity: 10), compartments: compartments, restored: restored)
        #expect(tracker.persistent.keys.sorted() == ["other", "recyclable"])
        #expect(tracker.itemRouted(to: "other").isEmpty)          // 9 of 10: nearly_full already sent
        #expect(tracker.itemRouted(to: "other").map(\.kind) == [.full])
    }

    @Test func perCompartmentCapacityOverridesTheDefault() {
        var tracker = FillTracker(config: FillConfig(capacity: 10, capacities: ["recyclable": 4]), compartments: compartments)
        var alerts: [FillAlert] = []
        for _ in 1...4 { alerts += tracker.itemRouted(to: "recyclable") }
        #expect(alerts.map(\.kind) == [.nearlyFull, .full])
        #expect(tracker.view["recyclable"]?.capacity == 4 && tracker.view["other"]?.capacity == 10)
    }

    @Test func configIsValidated() {
        let names: Set = ["recyclable", "other"]
        #expect(throws: BinCoreError.self) { try FillConfig(nearlyFull: 0.9, full: 0.8).validate(compartments: names) }
        #expect(throws: BinCoreError.self) { try FillConfig(capacity: 0).validate(compartments: names) }
        #expect(throws: BinCoreError.self) { try FillConfig(capacities: ["cellar": 3]).validate(compartments: names) }
        #expect(throws: BinCoreError.self) { try FillConfig(full: 1.5).validate(compartments: names) }
        #expect(throws: Never.self) { try FillConfig(capacity: 3).validate(compartments: names) }
    }
}
