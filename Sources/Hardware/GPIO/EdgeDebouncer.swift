/// Debounces a line's recorded edges by their kernel timestamps (pure; no clock, no I/O).
///
/// Rule: the first edge that changes the accepted level is passed on at once (a trigger should not
/// wait out the bounce), then every edge within `window` of it is swallowed. Because a bounce burst
/// may end at the opposite level, `settle(at:)` reports the line's final level once it has been
/// stable for `window` — the adapter calls it whenever its event wait times out.
/// Edges that do not change the accepted level (repeats after a swallowed burst) are dropped.
public struct EdgeDebouncer: Sendable, Hashable {
    /// Edges closer than this to the last accepted one are bounces.
    public var window: Duration
    /// The level after the last accepted edge (`nil` before the first one).
    public private(set) var acceptedLevel: Bool?
    private var lastAcceptedAt: Duration?
    private var rawLevel: Bool?
    private var lastRawAt: Duration?

    /// - Parameters:
    ///   - window: debounce interval (e.g. 20 ms for a lid micro-switch, 0 to pass everything).
    ///   - initialLevel: the line's level when watching started, if read; an edge to the same
    ///     level is then not a change.
    public init(window: Duration, initialLevel: Bool? = nil) {
        self.window = window
        self.acceptedLevel = initialLevel
        self.rawLevel = initialLevel
    }

    /// Feeds one raw edge; returns it when it is accepted.
    public mutating func feed(_ edge: GPIOEdge) -> GPIOEdge? {
        rawLevel = edge.levelAfter
        lastRawAt = edge.timestamp
        if let last = lastAcceptedAt, edge.timestamp - last < window { return nil }
        guard acceptedLevel != edge.levelAfter else { return nil }
        accept(edge)
        return edge
    }

    /// Reports the final level of a bounce burst that ended opposite to the accepted edge, once the
    /// line has been quiet for `window`. The returned edge carries the last raw edge's timestamp.
    /// - Parameter now: the current time on the edges' clock (`CLOCK_MONOTONIC`).
    public mutating func settle(at now: Duration) -> GPIOEdge? {
        guard let raw = rawLevel, raw != acceptedLevel, let lastRaw = lastRawAt,
              now - lastRaw >= window else { return nil }
        if let last = lastAcceptedAt, now - last < window { return nil }
        let edge = GPIOEdge(raw ? .rising : .falling, at: lastRaw)
        accept(edge)
        return edge
    }

    private mutating func accept(_ edge: GPIOEdge) {
        acceptedLevel = edge.levelAfter
        lastAcceptedAt = edge.timestamp
    }

    /// Debounces a whole recording: every raw edge in order, then a final `settle(at: end)`.
    public static func filter(_ edges: [GPIOEdge], window: Duration, end: Duration? = nil) -> [GPIOEdge] {
        var debouncer = EdgeDebouncer(window: window)
        var out: [GPIOEdge] = []
        for edge in edges {
            if let settled = debouncer.settle(at: edge.timestamp) { out.append(settled) }
            if let accepted = debouncer.feed(edge) { out.append(accepted) }
        }
        if let end, let settled = debouncer.settle(at: end) { out.append(settled) }
        return out
    }
}
