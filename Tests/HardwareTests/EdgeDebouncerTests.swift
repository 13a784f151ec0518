import Testing
@testable import Hardware

@Suite struct EdgeDebouncerTests {
    @Test func recordedLidBounceYieldsOneEdgePerMovement() throws {
        let edges = try Fixtures.edges("lid_bounce.edges").compactMap(\.edge)
        let end = edges.last!.timestamp + .seconds(1)
        let accepted = EdgeDebouncer.filter(edges, window: .milliseconds(20), end: end)
        // open (rising at 5 s), close (falling at 7.5 s), then the 3 ms blip: rising accepted,
        // its falling 3 ms later is inside the window and reported by settle() once quiet.
        #expect(accepted.map(\.kind) == [.rising, .falling, .rising, .falling])
        #expect(accepted[0].timestamp == .seconds(5))
        #expect(accepted[1].timestamp == .nanoseconds(7_500_000_000))
        #expect(accepted[3].timestamp == .nanoseconds(8_503_000_000))
    }

    @Test func zeroWindowPassesEveryLevelChange() throws {
        let edges = try Fixtures.edges("lid_bounce.edges").compactMap(\.edge)
        #expect(EdgeDebouncer.filter(edges, window: .zero).count == edges.count)
    }

    @Test func burstEndingOppositeIsSettledOnlyAfterQuietWindow() {
        var debouncer = EdgeDebouncer(window: .milliseconds(10))
        let r1 = debouncer.feed(GPIOEdge(.rising, at: .milliseconds(100)))
        #expect(r1 != nil)
        let r2 = debouncer.feed(GPIOEdge(.falling, at: .milliseconds(102)))
        #expect(r2 == nil)
        let r3 = debouncer.settle(at: .milliseconds(108))
        #expect(r3 == nil)  // only 6 ms quiet
        let r4 = debouncer.settle(at: .milliseconds(112))
        #expect(r4 == GPIOEdge(.falling, at: .milliseconds(102)))
        let r5 = debouncer.settle(at: .milliseconds(200))
        #expect(r5 == nil)  // reported once
    }

    @Test func repeatedLevelIsDropped() {
        var debouncer = EdgeDebouncer(window: .milliseconds(5), initialLevel: true)
        let r6 = debouncer.feed(GPIOEdge(.rising, at: .seconds(1)))
        #expect(r6 == nil)
        let r7 = debouncer.feed(GPIOEdge(.falling, at: .seconds(2)))
        #expect(r7?.kind == .falling)
    }
}
