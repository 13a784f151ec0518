import Testing
@testable import Hardware

/// The camera's freshness rule on recorded `VIDIOC_DQBUF` results (`Fixtures/camera_ring.dqbuf`).
@Suite struct FrameFreshnessTests {
    /// One capture request and the drains of the ring that followed it.
    struct Scenario {
        var requestedAt: Duration
        var drains: [[FrameFreshness.Buffer]]
    }

    static func scenarios() throws -> [String: Scenario] {
        var names: [String] = []
        var scenarios: [Scenario] = []
        for line in try Fixtures.text("camera_ring.dqbuf").split(separator: "\n") where !line.hasPrefix("#") {
            let parts = line.split(separator: " ").map(String.init)
            if parts[0] == "scenario" {
                names.append(parts[1])
                scenarios.append(Scenario(requestedAt: .zero, drains: []))
                continue
            }
            try #require(!scenarios.isEmpty, "camera_ring.dqbuf: '\(line)' before the first scenario")
            let last = scenarios.count - 1
            switch parts[0] {
            case "request":
                scenarios[last].requestedAt = .nanoseconds(try #require(Int64(parts[1])))
            case "drain":
                scenarios[last].drains.append([])
            case "buffer":
                let buffer = FrameFreshness.Buffer(index: try #require(UInt32(parts[1])), sequence: try #require(UInt32(parts[2])),
                                                   timestamp: Int64(parts[3]).map { .nanoseconds($0) },
                                                   corrupt: parts.count > 4 && parts[4] == "error")
                try #require(!scenarios[last].drains.isEmpty, "camera_ring.dqbuf: a buffer before the first drain")
                scenarios[last].drains[scenarios[last].drains.count - 1].append(buffer)
            default:
                Issue.record("camera_ring.dqbuf: unknown line '\(line)'")
            }
        }
        return Dictionary(uniqueKeysWithValues: zip(names, scenarios))
    }

    /// What the adapter does: drain after drain until the rule picks a buffer.
    static func replay(_ scenario: Scenario) -> (drain: Int, buffer: FrameFreshness.Buffer)? {
        for (number, drain) in scenario.drains.enumerated() {
            if let pick = FrameFreshness.freshest(drain, requestedAt: scenario.requestedAt, afterDrain: number > 0) {
                return (number, drain[pick])
            }
        }
        return nil
    }

    @Test func afterAnIdleSpellTheWholeRingIsStaleAndTheNextFrameIsTaken() throws {
        let idle = try #require(try Self.scenarios()["idle"])
        let first = idle.drains[0]
        #expect(FrameFreshness.freshest(first, requestedAt: idle.requestedAt, afterDrain: false) == nil)
        // Keeping the newest queued buffer would show an item from three minutes before.
        let newestQueued = try #require(first.last?.timestamp)
        #expect(idle.requestedAt - newestQueued > .seconds(180))
        let picked = try #require(Self.replay(idle))
        #expect(picked.drain == 1 && picked.buffer.sequence == 7)
        #expect(try #require(picked.buffer.timestamp) >= idle.requestedAt)
    }

    @Test func aBusyStreamGivesTheFrameStartedAfterTheRequestWithoutWaiting() throws {
        let busy = try #require(try Self.scenarios()["busy"])
        let picked = try #require(Self.replay(busy))
        #expect(picked.drain == 0 && picked.buffer.sequence == 21)
    }

    @Test func aCorruptNewestFrameLosesToAnIntactFreshOne() throws {
        let corrupt = try #require(try Self.scenarios()["corrupt"])
        let picked = try #require(Self.replay(corrupt))
        #expect(picked.drain == 0 && picked.buffer.sequence == 30 && !picked.buffer.corrupt)
        // When every fresh frame is corrupt the newest is returned, for the caller to count.
        let onlyCorrupt = corrupt.drains[0].map { FrameFreshness.Buffer(index: $0.index, sequence: $0.sequence, timestamp: $0.timestamp, corrupt: true) }
        #expect(FrameFreshness.freshest(onlyCorrupt, requestedAt: corrupt.requestedAt, afterDrain: false) == 1)
    }

    @Test func withoutMonotonicStampsTheFirstDrainIsDroppedAndTheNextTrusted() throws {
        let nostamp = try #require(try Self.scenarios()["nostamp"])
        let picked = try #require(Self.replay(nostamp))
        #expect(picked.drain == 1 && picked.buffer.sequence == 42)
    }

    @Test func aFrameStampedAtTheRequestIsFreshOneNanosecondBeforeIsNot() {
        let at = FrameFreshness.Buffer(index: 0, sequence: 1, timestamp: .seconds(10))
        #expect(FrameFreshness.isFresh(at, requestedAt: .seconds(10), afterDrain: false))
        #expect(!FrameFreshness.isFresh(at, requestedAt: .seconds(10) + .nanoseconds(1), afterDrain: false))
        // A monotonic stamp is trusted over the drain count: an old frame stays old.
        #expect(!FrameFreshness.isFresh(at, requestedAt: .seconds(11), afterDrain: true))
        #expect(FrameFreshness.freshest([], requestedAt: .zero, afterDrain: true) == nil)
    }

    @Test func onlyMonotonicTimestampFlagsGiveATime() {
        let monotonic: UInt32 = 0x2000, copy: UInt32 = 0x4000, startOfExposure: UInt32 = 0x1_0000, error: UInt32 = 0x40
        #expect(FrameFreshness.monotonicTimestamp(flags: monotonic, seconds: 287, microseconds: 521_870) == .nanoseconds(287_521_870_000))
        #expect(FrameFreshness.monotonicTimestamp(flags: monotonic | startOfExposure | error, seconds: 1, microseconds: 5) == .microseconds(1_000_005))
        #expect(FrameFreshness.monotonicTimestamp(flags: copy, seconds: 287, microseconds: 0) == nil)
        #expect(FrameFreshness.monotonicTimestamp(flags: 0, seconds: 287, microseconds: 0) == nil)
    }
}
