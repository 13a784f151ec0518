/// Sleeping on an injected `Clock<Duration>` without making every type generic.
struct ClockSleep: Sendable {
    let sleep: @Sendable (Duration) async throws -> Void
    let now: @Sendable () -> Duration

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        sleep = { try await clock.sleep(until: clock.now.advanced(by: $0), tolerance: nil) }
        now = { origin.duration(to: clock.now) }
    }
}

/// SplitMix64: a small seeded generator, so simulations repeat exactly for a given seed.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
