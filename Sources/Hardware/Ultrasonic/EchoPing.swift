/// One HC-SR04 ping as recorded: the echo line's edges and when the trigger pulse ended, both on
/// `CLOCK_MONOTONIC` (pure data; `UltrasonicRanging.reading(edges:trigger:)` turns it into a
/// distance).
public struct EchoPing: Sendable, Hashable {
    /// The echo line's edges in kernel-timestamp order.
    public var edges: [GPIOEdge]
    /// When the trigger pulse ended (minus a small margin), or nil to accept any rising edge.
    public var trigger: Duration?

    public init(edges: [GPIOEdge], trigger: Duration?) {
        self.edges = edges
        self.trigger = trigger
    }

    /// The ping's reading with `ranging`'s timing maths.
    public func reading(_ ranging: UltrasonicRanging) -> UltrasonicRanging.Reading {
        ranging.reading(edges: edges, trigger: trigger)
    }
}
