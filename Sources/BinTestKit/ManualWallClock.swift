import Synchronization

/// A wall clock for tests: seconds since the Unix epoch that advance with a `ManualClock` from
/// `start`, plus every `jump(by:)` (NTP stepping the clock, an operator's `date -s`). Pass
/// `{ wall.now() }` as a controller's `wallClock`.
public final class ManualWallClock: Sendable {
    private let clock: ManualClock
    private let start: Double
    private let jumped = Mutex(0.0)

    public init(following clock: ManualClock, start: Double = 1_700_000_000) {
        self.clock = clock
        self.start = start
    }

    /// Seconds since the epoch now.
    public func now() -> Double {
        start + clock.now.offset.milliseconds / 1000 + jumped.withLock { $0 }
    }

    /// Moves the wall clock (only) by `seconds`; negative goes back.
    public func jump(by seconds: Double) { jumped.withLock { $0 += seconds } }
}
