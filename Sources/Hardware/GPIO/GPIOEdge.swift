/// One edge on a GPIO line as the kernel recorded it.
public struct GPIOEdge: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        /// Logical low → high (with `activeLow` the kernel has already inverted it).
        case rising
        /// Logical high → low.
        case falling
    }

    public var kind: Kind
    /// Kernel timestamp of the edge on `CLOCK_MONOTONIC` (libgpiod's `ts`), since boot.
    public var timestamp: Duration

    public init(_ kind: Kind, at timestamp: Duration) {
        self.kind = kind
        self.timestamp = timestamp
    }

    /// The logical level the line has after this edge (`true` = active/high).
    public var levelAfter: Bool { kind == .rising }
}
