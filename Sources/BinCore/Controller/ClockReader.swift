/// An injected `Clock<Duration>` reduced to what the controller needs: time elapsed since the
/// reader was made, and sleeping. Lets `BinController` hold `any Clock<Duration>` without generics.
struct ClockReader: Sendable {
    /// Time since the reader was created.
    let now: @Sendable () -> Duration
    /// Sleeps on the clock; throws `CancellationError` when the task is cancelled.
    let sleep: @Sendable (Duration) async throws -> Void

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        let origin = clock.now
        now = { origin.duration(to: clock.now) }
        sleep = { delay in try await clock.sleep(until: clock.now.advanced(by: delay), tolerance: nil) }
    }
}
