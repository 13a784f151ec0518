/// When the bin's controller last showed that its loop is alive and making progress, for a
/// watchdog (systemd's, in the firmware) that must stop being fed when the loop is stuck.
///
/// `BinController.run` beats it every `interval` from a task that has to get through the
/// controller's actor and only when the state machine is at rest or its current state's own
/// timer is not overdue by more than `staleAfter` (so a long but legitimate wait, up to a
/// timeout or a retry back-off, keeps it fresh). When the actor is blocked, or a state waits
/// past its deadline, the beats stop and `isFresh` turns false after `staleAfter`.
public actor Heartbeat {
    /// How often the controller beats.
    public nonisolated let interval: Duration
    /// How old the last beat may be (and how far past its deadline a state's timer may be)
    /// before the loop counts as stuck.
    public nonisolated let staleAfter: Duration
    private let now: @Sendable () -> Duration
    private var lastBeat: Duration
    private var loopEnded = false

    /// Creates a heartbeat whose first beat is now.
    /// - Parameters:
    ///   - clock: the clock the controller runs on (`ContinuousClock()` in the firmware).
    ///   - interval: 1 s by default.
    ///   - staleAfter: 10 s by default; at least twice `interval`.
    public init(clock: some Clock<Duration>, interval: Duration = .seconds(1), staleAfter: Duration = .seconds(10)) {
        let reader = ClockReader(clock)
        now = reader.now
        self.interval = interval
        self.staleAfter = max(staleAfter, interval * 2)
        lastBeat = reader.now()
    }

    /// Records that the loop is alive now.
    func beat() { lastBeat = now() }

    /// The controller's loop has returned: what is left (flushing the outbox) is bounded shutdown
    /// work, so the heartbeat stays fresh from now on.
    func ended() { loopEnded = true }

    /// Time since the last beat.
    public func age() -> Duration { now() - lastBeat }

    /// True while the last beat is at most `staleAfter` old (or the loop has ended).
    public func isFresh() -> Bool { loopEnded || age() <= staleAfter }
}
