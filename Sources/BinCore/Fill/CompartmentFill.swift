/// One compartment's fill as the `…/state` document reports it.
public struct CompartmentFill: Sendable, Hashable {
    /// Estimated level, 0...1: the larger of the count and sensor estimates (0 when untracked).
    public var level: Double
    /// Items routed here since it was last emptied.
    public var items: Int
    /// Configured capacity in items (nil: no count estimate).
    public var capacity: Int?
    /// The latest sensor level, 0...1 (nil: no sensor reading since start or since emptying).
    public var measuredLevel: Double?
    /// `ok`, `nearly_full` or `full` (by the configured thresholds).
    public var status: String
    /// Items refused (policy `refuse`) since it was last emptied.
    public var refused: Int
    /// Items sent to the fallback compartment instead (policy `fallback`) since it was last emptied.
    public var diverted: Int

    public init(level: Double, items: Int, capacity: Int? = nil, measuredLevel: Double? = nil,
                status: String = "ok", refused: Int = 0, diverted: Int = 0) {
        self.level = level
        self.items = items
        self.capacity = capacity
        self.measuredLevel = measuredLevel
        self.status = status
        self.refused = refused
        self.diverted = diverted
    }

    /// True when a count or a sensor reading stands behind `level`.
    public var tracked: Bool { capacity != nil || measuredLevel != nil }
}

/// A fill alert as the state machine raises it (the controller adds id, bin id and time).
public struct FillAlert: Sendable, Hashable {
    public var compartment: String
    public var kind: FillAlertKind
    /// The level after the change, 0...1 (0 after emptying).
    public var level: Double
    /// What produced the level (threshold alerts) or reported the emptying.
    public var source: FillSource
    /// Items routed since the last emptying (for `emptied`: the count before the reset).
    public var items: Int
    public var capacity: Int?
    /// For `emptied`: the level just before.
    public var previousLevel: Double?

    public init(compartment: String, kind: FillAlertKind, level: Double, source: FillSource,
                items: Int, capacity: Int? = nil, previousLevel: Double? = nil) {
        self.compartment = compartment
        self.kind = kind
        self.level = level
        self.source = source
        self.items = items
        self.capacity = capacity
        self.previousLevel = previousLevel
    }
}
