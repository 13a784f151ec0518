/// One fill alert: the payload of `smartbin/<fleet>/<bin_id>/alert` (QoS 1, not retained).
///
/// Kinds: `nearly_full` and `full` (a threshold was reached; once per crossing) and `emptied`
/// (the compartment was emptied; `level` is the level after, `previousLevel` the one before).
/// `id` is unique per alert so subscribers can drop QoS 1 redeliveries.
public struct BinAlert: Sendable, Hashable {
    public static let schemaVersion = 1

    public var id: String
    public var binID: String
    /// Seconds since the Unix epoch (UTC).
    public var timestamp: Double
    public var compartment: String
    public var kind: FillAlertKind
    /// 0...1.
    public var level: Double
    public var source: FillSource
    /// Items routed since the last emptying (for `emptied`: before the reset).
    public var items: Int
    public var capacity: Int?
    /// The threshold reached (`nearly_full`, `full`), nil for `emptied`.
    public var threshold: Double?
    /// For `emptied`: the level just before.
    public var previousLevel: Double?

    public init(id: String, binID: String, timestamp: Double, compartment: String, kind: FillAlertKind,
                level: Double, source: FillSource, items: Int, capacity: Int? = nil,
                threshold: Double? = nil, previousLevel: Double? = nil) {
        self.id = id
        self.binID = binID
        self.timestamp = timestamp
        self.compartment = compartment
        self.kind = kind
        self.level = level
        self.source = source
        self.items = items
        self.capacity = capacity
        self.threshold = threshold
        self.previousLevel = previousLevel
    }
}
