/// One compartment the fleet page lists under "needs emptying": it has an open `nearly_full`
/// or `full` alert.
public struct NeedsEmptying: Sendable, Hashable {
    public var binID: String
    public var fleet: String
    public var compartment: String
    /// `full` when an open alert or the retained state says full, else `nearly_full`.
    public var kind: String
    /// The current level from the retained state, or the highest open alert's level without one.
    public var level: Double
    /// `ts` of the oldest open alert of the compartment, seconds since the epoch.
    public var since: Double
    /// Open alerts of the compartment.
    public var alerts: Int

    public init(binID: String, fleet: String, compartment: String, kind: String, level: Double,
                since: Double, alerts: Int) {
        self.binID = binID
        self.fleet = fleet
        self.compartment = compartment
        self.kind = kind
        self.level = level
        self.since = since
        self.alerts = alerts
    }

    /// The compartments with open alerts across `bins`, most urgent first: `full` before
    /// `nearly_full`, then by level (highest first), then by the oldest alert, then bin and
    /// compartment. The fleet page's script sorts the same way.
    public static func list(_ bins: [BinSummary]) -> [NeedsEmptying] {
        var entries: [NeedsEmptying] = []
        for bin in bins where !bin.openAlerts.isEmpty {
            let fill = bin.fill
            let grouped = Dictionary(grouping: bin.openAlerts, by: \.compartment)
            for (compartment, alerts) in grouped {
                let current = fill[compartment]
                let full = alerts.contains { $0.kind == .full } || current?.status == "full"
                entries.append(NeedsEmptying(
                    binID: bin.binID, fleet: bin.fleet, compartment: compartment,
                    kind: full ? "full" : "nearly_full",
                    level: current?.level ?? alerts.map(\.level).max() ?? 0,
                    since: alerts.map(\.timestamp).min() ?? 0, alerts: alerts.count))
            }
        }
        return entries.sorted { a, b in
            if (a.kind == "full") != (b.kind == "full") { return a.kind == "full" }
            if a.level != b.level { return a.level > b.level }
            if a.since != b.since { return a.since < b.since }
            return (a.binID, a.compartment) < (b.binID, b.compartment)
        }
    }
}
