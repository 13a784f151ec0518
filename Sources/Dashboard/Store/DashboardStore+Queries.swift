import GRDB

extension DashboardStore {
    /// Every bin, ordered by fleet then id, with `items_today` counted for the UTC day of `now`.
    public func bins(now: Double) async throws -> [BinSummary] {
        let day = Self.utcDay(now)
        return try await read { db in try Self.fetchBins(db, day: day, only: nil) }
    }

    /// One bin, or nil when it has never been seen.
    public func bin(_ binID: String, now: Double) async throws -> BinSummary? {
        let day = Self.utcDay(now)
        return try await read { db in try Self.fetchBins(db, day: day, only: binID).first }
    }

    private static func fetchBins(_ db: Database, day: Int64, only binID: String?) throws -> [BinSummary] {
        let filter = binID == nil ? "" : " WHERE bin_id = ?"
        let arguments: StatementArguments = binID.map { [$0] } ?? []
        var counts: [String: [String: Int]] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT bin_id, route, n FROM bin_route_count" + filter,
                                    arguments: arguments) {
            counts[row["bin_id"], default: [:]][row["route"]] = row["n"]
        }
        var today: [String: Int] = [:]
        for row in try Row.fetchAll(db, sql: "SELECT bin_id, n FROM bin_day_count WHERE day = ?"
                                        + (binID == nil ? "" : " AND bin_id = ?"),
                                    arguments: [day] + arguments) {
            today[row["bin_id"]] = row["n"]
        }
        var open: [String: [AlertRecord]] = [:]
        for alert in try fetchOpenAlerts(db, bin: binID) { open[alert.binID, default: []].append(alert) }
        return try Row.fetchAll(db, sql: "SELECT * FROM bin" + filter + " ORDER BY fleet, bin_id",
                                arguments: arguments).map { row in
            let id: String = row["bin_id"]
            return BinSummary(binID: id, fleet: row["fleet"], availability: row["availability"],
                              availabilityAt: row["availability_at"], stateJSON: row["state_json"],
                              stateName: row["state_name"], faultReason: row["fault_reason"],
                              lastEventTimestamp: row["last_event_ts"], lastEventLabel: row["last_event_label"],
                              lastEventRoute: row["last_event_route"], itemsToday: today[id] ?? 0,
                              counts: counts[id] ?? [:], openAlerts: open[id] ?? [])
        }
    }

    /// Stored event payloads, exactly as published, optionally for one bin and from `since`
    /// (inclusive, on the event's `ts`), at most `limit`, ordered by `ts` (ties by arrival).
    public func eventPayloads(bin binID: String?, since: Double?, limit: Int,
                              order: EventOrder) async throws -> [String] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let binID { conditions.append("bin_id = ?"); _ = arguments.append(contentsOf: [binID]) }
        if let since { conditions.append("ts >= ?"); _ = arguments.append(contentsOf: [since]) }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let direction = order == .desc ? "DESC" : "ASC"
        let sql = "SELECT payload FROM event" + whereClause
            + " ORDER BY ts \(direction), rowid \(direction) LIMIT \(max(0, limit))"
        let finalArguments = arguments
        return try await read { db in try String.fetchAll(db, sql: sql, arguments: finalArguments) }
    }

    /// The newest `limit` events of a bin for the charts, oldest first.
    public func eventPoints(bin binID: String, limit: Int) async throws -> [EventPoint] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT ts, label, route, fallback, confidence, total_ms FROM event
                WHERE bin_id = ? ORDER BY ts DESC, rowid DESC LIMIT ?
                """, arguments: [binID, limit]).reversed().map { row in
                EventPoint(timestamp: row["ts"], label: row["label"], route: row["route"],
                           fallback: row["fallback"], confidence: row["confidence"], totalMS: row["total_ms"])
            }
        }
    }

    /// The newest `limit` availability/state changes of a bin, newest first.
    public func changes(bin binID: String, limit: Int) async throws -> [BinChange] {
        try await read { db in
            try Row.fetchAll(db, sql: """
                SELECT b.fleet, c.kind, c.value, c.at FROM bin_change c JOIN bin b USING (bin_id)
                WHERE c.bin_id = ? ORDER BY c.at DESC, c.rowid DESC LIMIT ?
                """, arguments: [binID, limit]).map { row in
                BinChange(binID: binID, fleet: row["fleet"],
                          kind: BinChange.Kind(rawValue: row["kind"]) ?? .state,
                          value: row["value"], at: row["at"])
            }
        }
    }

    /// Events stored, all bins.
    public func eventCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM event") ?? 0 }
    }
}
