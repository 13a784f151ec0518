import BinCore

/// What the dashboard knows about one bin: its retained availability and state, its last
/// event, its counts and its open fill alerts.
public struct BinSummary: Sendable, Hashable {
    public var binID: String
    public var fleet: String
    /// The last `…/available` payload (`online`, `offline`, `stopped`), nil before any.
    public var availability: String?
    /// When that availability arrived at the dashboard, seconds since the epoch.
    public var availabilityAt: Double?
    /// The last retained `…/state` JSON as published, nil before any.
    public var stateJSON: String?
    /// The `state` field of that JSON (`idle`, `fault`, `maintenance`…), when it has one.
    public var stateName: String?
    /// The `fault_reason` field of that JSON, when not null.
    public var faultReason: String?
    /// Timestamp (`ts`) of the newest stored event, seconds since the epoch.
    public var lastEventTimestamp: Double?
    public var lastEventLabel: String?
    public var lastEventRoute: String?
    /// Stored events whose `ts` falls on the current UTC day.
    public var itemsToday: Int
    /// Stored events per compartment (route), all time.
    public var counts: [String: Int]
    /// Open `nearly_full`/`full` alerts, oldest first.
    public var openAlerts: [AlertRecord]
    /// Every compartment's fill from the retained state (empty when it carries none).
    public var fill: [String: CompartmentFill] { stateJSON.flatMap { FillFields.decode($0)?.fill } ?? [:] }
    /// Stored events, all time.
    public var eventsTotal: Int { counts.values.reduce(0, +) }

    public init(binID: String, fleet: String, availability: String? = nil, availabilityAt: Double? = nil,
                stateJSON: String? = nil, stateName: String? = nil, faultReason: String? = nil,
                lastEventTimestamp: Double? = nil, lastEventLabel: String? = nil,
                lastEventRoute: String? = nil, itemsToday: Int = 0, counts: [String: Int] = [:],
                openAlerts: [AlertRecord] = []) {
        self.binID = binID
        self.fleet = fleet
        self.availability = availability
        self.availabilityAt = availabilityAt
        self.stateJSON = stateJSON
        self.stateName = stateName
        self.faultReason = faultReason
        self.lastEventTimestamp = lastEventTimestamp
        self.lastEventLabel = lastEventLabel
        self.lastEventRoute = lastEventRoute
        self.itemsToday = itemsToday
        self.counts = counts
        self.openAlerts = openAlerts
    }

    /// One word for the fleet page: `fault` or `maintenance` when the bin is online and its
    /// retained state says so, else the availability (`online`, `offline`, `stopped`), else
    /// `unknown`.
    public var status: String {
        guard let availability else { return "unknown" }
        if availability == "online", let stateName, stateName == "fault" || stateName == "maintenance" {
            return stateName
        }
        return availability
    }
}
