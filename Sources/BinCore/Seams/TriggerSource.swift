/// What kind of edge a trigger sensor reported.
public enum TriggerKind: String, Sendable, Hashable, CaseIterable {
    /// The lid switch opened.
    case lidOpened = "open"
    /// The lid switch closed.
    case lidClosed = "close"
    /// The light beam across the chute was broken.
    case beamBroken = "beam"
    /// The proximity sensor saw something in front of the bin.
    case proximity
}

/// One edge from a trigger sensor.
public struct TriggerEvent: Sendable, Hashable {
    public var kind: TriggerKind
    /// Kernel monotonic timestamp of the edge (`CLOCK_MONOTONIC`, as libgpiod reports it), when the
    /// source has one. Kept for logs; debouncing uses the controller's injected clock so that the
    /// state machine and the tests share one time base.
    public var kernelTimestamp: Duration?
    /// Which sensor or simulator produced the edge, for logs (e.g. `gpiochip0:17`, `script:3`).
    public var source: String

    public init(kind: TriggerKind, kernelTimestamp: Duration? = nil, source: String = "") {
        self.kind = kind
        self.kernelTimestamp = kernelTimestamp
        self.source = source
    }
}

/// A sensor (or simulator) that reports trigger edges: the GPIO lid switch and beam, the scripted,
/// keyboard and random simulators, and the test fake.
public protocol TriggerSource: Sendable {
    /// Starts watching and returns the edges as they happen. The stream finishes when the source
    /// has nothing more to report (end of a script); cancelling the consumer stops the watch.
    func events() -> AsyncStream<TriggerEvent>
}
