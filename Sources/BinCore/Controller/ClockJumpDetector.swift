/// Notices when the wall clock jumps (NTP stepping it at boot, an operator's `date -s`, a
/// real-time clock reset by a power cut) by comparing it with the monotonic clock.
///
/// The bin's timers (debounce, settle, timeouts, back-off) all run on the monotonic clock, so a
/// jump changes nothing they do; only the wall-clock timestamps (`ts` of events and state)
/// move. Each check compares `wall − monotonic` with the previous check's; a change larger than
/// `threshold` is a jump (forward when positive). The value never reads a clock itself: the
/// owner passes both readings in.
public struct ClockJumpDetector: Sendable, Hashable {
    /// The smallest change of `wall − monotonic` counted as a jump (drift and NTP slewing stay
    /// far below it).
    public let threshold: Duration
    /// Jumps seen since start.
    public private(set) var jumps = 0
    /// The last jump, in seconds (positive: the wall clock went forward); nil before the first.
    public private(set) var lastJumpSeconds: Double?
    private var offset: Double?

    /// - Parameter threshold: 2 s by default.
    public init(threshold: Duration = .seconds(2)) {
        self.threshold = threshold
    }

    /// Takes one pair of readings.
    /// - Parameters:
    ///   - wall: seconds since the Unix epoch.
    ///   - monotonic: time on the monotonic clock (any fixed origin).
    /// - Returns: the jump in seconds (positive: forward) when this check found one, else nil.
    public mutating func check(wall: Double, monotonic: Duration) -> Double? {
        let now = wall - monotonic.milliseconds / 1000
        defer { offset = now }
        guard let offset else { return nil }
        let jump = now - offset
        guard abs(jump) > threshold.milliseconds / 1000 else { return nil }
        jumps += 1
        lastJumpSeconds = jump
        return jump
    }
}
