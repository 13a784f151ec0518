import Synchronization

/// A `Clock<Duration>` whose time moves only when a test calls `advance`. Sleepers whose deadline
/// is reached are resumed in deadline order (ties in the order they started sleeping).
public final class ManualClock: Clock, Sendable {
    public struct Instant: InstantProtocol, CustomStringConvertible {
        /// Time since the clock was created.
        public var offset: Duration
        public init(offset: Duration) { self.offset = offset }
        public func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        public func duration(to other: Instant) -> Duration { other.offset - offset }
        public static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
        public var description: String { "t+\(offset)" }
    }

    private struct Sleeper {
        var id: UInt64
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var nextID: UInt64 = 0
        var sleepers: [Sleeper] = []
        /// Sleeps that have an id but have not yet reached their continuation.
        var arriving: Set<UInt64> = []
        /// Of those, the ones cancelled before they got there.
        var cancelledBeforeSleeping: Set<UInt64> = []
    }

    private let state = Mutex(State())

    public init() {}

    public var now: Instant { state.withLock { $0.now } }
    public var minimumResolution: Duration { .zero }

    /// How many tasks are sleeping on the clock.
    public var sleeperCount: Int { state.withLock { $0.sleepers.count } }
    /// The earliest deadline among the sleepers.
    public var nextDeadline: Instant? { state.withLock { $0.sleepers.map(\.deadline).min() } }

    public func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        let id = state.withLock { state -> UInt64 in
            state.nextID += 1
            state.arriving.insert(state.nextID)
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { state in
                    state.arriving.remove(id)
                    if state.cancelledBeforeSleeping.remove(id) != nil { return .failure(CancellationError()) }
                    if deadline <= state.now { return .success(()) }
                    state.sleepers.append(Sleeper(id: id, deadline: deadline, continuation: continuation))
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { state -> Sleeper? in
                if let index = state.sleepers.firstIndex(where: { $0.id == id }) {
                    return state.sleepers.remove(at: index)
                }
                // Remember the cancellation only for a sleep still on its way in; one that already
                // finished (resumed, or due at once) needs nothing, and remembering it would grow
                // the set by one id per cancelled timer for the life of the clock.
                if state.arriving.contains(id) { state.cancelledBeforeSleeping.insert(id) }
                return nil
            }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// Moves time forward by `duration`, resuming every sleeper whose deadline is reached.
    public func advance(by duration: Duration) {
        precondition(duration >= .zero, "a manual clock does not go backwards")
        advance(to: now.advanced(by: duration))
    }

    /// Moves time forward to `instant` (no-op when it is in the past), resuming due sleepers in
    /// deadline order.
    public func advance(to instant: Instant) {
        let due = state.withLock { state -> [Sleeper] in
            guard instant > state.now else { return [] }
            state.now = instant
            let due = state.sleepers.filter { $0.deadline <= instant }
            state.sleepers.removeAll { $0.deadline <= instant }
            return due.enumerated().sorted { a, b in
                a.element.deadline == b.element.deadline ? a.offset < b.offset : a.element.deadline < b.element.deadline
            }.map(\.element)
        }
        for sleeper in due { sleeper.continuation.resume() }
    }

    /// Waits (in real time, up to `timeout`) until at least `count` tasks sleep on the clock, so a
    /// test can advance time knowing the timers it expects are armed.
    /// - Returns: false when the sleepers did not appear in time.
    @discardableResult
    public func waitForSleepers(_ count: Int, timeout: Duration = .seconds(5)) async -> Bool {
        await eventually(timeout: timeout) { self.sleeperCount >= count }
    }
}

/// Polls `condition` in real time until it holds or `timeout` passes.
/// - Returns: whether the condition held.
@discardableResult
public func eventually(timeout: Duration = .seconds(5),
                       _ condition: @Sendable () async -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if await condition() { return true }
        try? await Task.sleep(for: .milliseconds(2))
    }
    return await condition()
}
