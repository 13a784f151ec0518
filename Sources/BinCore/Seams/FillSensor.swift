/// One report from a compartment's fill hardware: a measured level or a press of its "emptied"
/// button.
public struct FillObservation: Sendable, Hashable {
    public enum Kind: Sendable, Hashable {
        /// The sensor above the compartment measured this level, 0...1.
        case level(Double)
        /// Someone pressed the compartment's "emptied" button (debounced).
        case buttonPressed
    }

    public var compartment: String
    public var kind: Kind
    /// Which sensor or line produced it, for logs (e.g. `pinctrl-rp1:5/6`, `gpiochip0:16`).
    public var source: String

    public init(compartment: String, kind: Kind, source: String = "") {
        self.compartment = compartment
        self.kind = kind
        self.source = source
    }
}

/// Fill hardware that reports per compartment: the ultrasonic sensors above the compartments,
/// the "emptied" buttons, and the test fake. `BinController.observe(_:)` takes what it reports.
public protocol FillSensor: Sendable {
    /// Starts watching and returns the observations as they happen. The stream finishes when the
    /// source has nothing more to report; cancelling the consumer stops the watch.
    func observations() -> AsyncStream<FillObservation>
}
