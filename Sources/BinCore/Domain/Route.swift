/// Where an item went: the compartment (bin) name and the flap angle that reaches it.
public struct Route: Sendable, Hashable {
    /// Compartment name, e.g. `recyclable`.
    public var bin: String
    /// Flap angle in degrees for that compartment.
    public var angleDegrees: Double
    /// True when the item was sent to the fallback compartment (low confidence or unmapped class).
    public var fallback: Bool

    public init(bin: String, angleDegrees: Double, fallback: Bool) {
        self.bin = bin
        self.angleDegrees = angleDegrees
        self.fallback = fallback
    }
}
