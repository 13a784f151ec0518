/// The part of a compartment's fill state that must survive a restart: the items routed since it
/// was last emptied and which threshold alerts have already been sent (so a restart neither
/// forgets the count nor repeats an alert).
public struct FillRecord: Sendable, Hashable, Codable {
    public var items: Int
    /// Alert kinds already sent for the current filling (`nearly_full`, `full`).
    public var alerted: Set<FillAlertKind>

    public init(items: Int = 0, alerted: Set<FillAlertKind> = []) {
        self.items = items
        self.alerted = alerted
    }
}
