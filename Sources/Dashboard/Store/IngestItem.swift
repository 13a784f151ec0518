/// One thing to store, parsed from an MQTT message.
public enum IngestItem: Sendable, Hashable {
    /// A classification event (`…/event`).
    case event(EventRecord)
    /// A fill alert (`…/alert`).
    case alert(AlertRecord)
    /// An `…/available` payload received at `at` (seconds since the epoch).
    case availability(fleet: String, binID: String, value: String, at: Double)
    /// A `…/state` JSON document received at `at`.
    case state(fleet: String, binID: String, json: String, at: Double)
}

/// An availability or state change of a bin that the store recorded (a retained message
/// repeated on reconnect with the same value is not a change).
public struct BinChange: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable {
        case availability
        case state
    }

    public var binID: String
    public var fleet: String
    public var kind: Kind
    /// The new payload (`online`… or the state JSON).
    public var value: String
    public var at: Double

    public init(binID: String, fleet: String, kind: Kind, value: String, at: Double) {
        self.binID = binID
        self.fleet = fleet
        self.kind = kind
        self.value = value
        self.at = at
    }
}

/// What one batch did to the store.
public struct IngestResult: Sendable, Hashable {
    /// Events stored for the first time, in arrival order.
    public var inserted: [EventRecord] = []
    /// Events whose id was already stored (QoS 1 redeliveries), dropped.
    public var duplicates = 0
    /// Availability and state changes recorded.
    public var changes: [BinChange] = []
    /// Fill alerts stored for the first time, in arrival order.
    public var alertsInserted: [AlertRecord] = []
    /// Alerts whose id was already stored, dropped.
    public var alertDuplicates = 0

    public init() {}
}
