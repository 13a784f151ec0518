/// Turns a push button's raw edges into presses (pure; kernel timestamps, no clock, no I/O).
///
/// The edges go through an `EdgeDebouncer`. A debounced (logical) rising edge starts a press; it
/// counts once the line has then stayed pressed, with no raw edge, for the debounce window, so a
/// spike shorter than the window (interference on a long wire) is no press. The press is
/// reported with the time of its rising edge, once, however long the button is held. A press
/// within `lockout` of the previous one is the same press told twice (a shaky finger, a double
/// click) and is dropped.
public struct ButtonPressDetector: Sendable, Hashable {
    public private(set) var debouncer: EdgeDebouncer
    /// Minimum time between two presses.
    public var lockout: Duration
    /// The debounced rising edge of a press not yet confirmed.
    private var pending: Duration?
    private var rawPressed: Bool
    private var lastRawEdge: Duration?
    private var lastPress: Duration?

    /// - Parameters:
    ///   - debounce: the contact-bounce window (`EdgeDebouncer.window`), also how long a press
    ///     must hold.
    ///   - lockout: presses closer than this to the previous one are dropped.
    ///   - initialLevel: the line's logical level when watching started, if read (a button held
    ///     at start is no press).
    public init(debounce: Duration, lockout: Duration = .seconds(2), initialLevel: Bool? = nil) {
        debouncer = EdgeDebouncer(window: debounce, initialLevel: initialLevel)
        self.lockout = lockout
        rawPressed = initialLevel ?? false
    }

    /// Feeds one raw edge; returns the time of a press confirmed by it, if any.
    public mutating func feed(_ edge: GPIOEdge) -> Duration? {
        if let settled = debouncer.settle(at: edge.timestamp) { note(settled) }
        let press = confirm(at: edge.timestamp)  // the line kept its level until this edge
        rawPressed = edge.levelAfter
        lastRawEdge = edge.timestamp
        if let accepted = debouncer.feed(edge) { note(accepted) }
        return press
    }

    /// Call when the line has been quiet until `now` (an event wait timed out): returns the time
    /// of a press that has now held long enough, if any.
    public mutating func settle(at now: Duration) -> Duration? {
        if let settled = debouncer.settle(at: now) { note(settled) }
        return confirm(at: now)
    }

    private mutating func note(_ accepted: GPIOEdge) {
        if accepted.kind == .rising {
            pending = pending ?? accepted.timestamp
        } else {
            pending = nil
        }
    }

    private mutating func confirm(at now: Duration) -> Duration? {
        guard let start = pending, rawPressed, now - (lastRawEdge ?? start) >= debouncer.window else { return nil }
        pending = nil
        if let lastPress, start - lastPress < lockout { return nil }
        lastPress = start
        return start
    }

    /// The presses in a whole recording: every raw edge in order, then a final `settle(at: end)`.
    public static func presses(in edges: [GPIOEdge], debounce: Duration, lockout: Duration = .seconds(2),
                               initialLevel: Bool? = nil, end: Duration? = nil) -> [Duration] {
        var detector = ButtonPressDetector(debounce: debounce, lockout: lockout, initialLevel: initialLevel)
        var presses = edges.compactMap { detector.feed($0) }
        if let end, let press = detector.settle(at: end) { presses.append(press) }
        return presses
    }
}
