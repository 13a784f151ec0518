import BinCore
import GRDB

extension DashboardStore {
    /// Stored alert payloads, exactly as published, optionally for one bin and from `since`
    /// (inclusive, on the alert's `ts`), at most `limit`, newest first (ties by arrival).
    public func alertPayloads(bin binID: String?, since: Double?, limit: Int) async throws -> [String] {
        var conditions: [String] = []
        var arguments: StatementArguments = []
        if let binID { conditions.append("bin_id = ?"); _ = arguments.append(contentsOf: [binID]) }
        if let since { conditions.append("ts >= ?"); _ = arguments.append(contentsOf: [since]) }
        let whereClause = conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ")
        let sql = "SELECT payload FROM alert" + whereClause + " ORDER BY ts DESC, rowid DESC LIMIT \(max(0, limit))"
        let finalArguments = arguments
        return try await read { db in try String.fetchAll(db, sql: sql, arguments: finalArguments) }
    }

    /// Open `nearly_full`/`full` alerts (not yet followed by an `emptied` of their compartment),
    /// optionally of one bin, oldest first.
    public func openAlerts(bin binID: String? = nil) async throws -> [AlertRecord] {
        try await read { db in try Self.fetchOpenAlerts(db, bin: binID) }
    }

    static func fetchOpenAlerts(_ db: Database, bin binID: String?) throws -> [AlertRecord] {
        let filter = binID == nil ? "" : " AND bin_id = ?"
        let arguments: StatementArguments = binID.map { [$0] } ?? []
        return try Row.fetchAll(db, sql: """
            SELECT id, fleet, bin_id, ts, received_at, compartment, kind, level, payload FROM alert
            WHERE cleared_at IS NULL AND kind != 'emptied'\(filter) ORDER BY ts, rowid
            """, arguments: arguments).map { row in
            AlertRecord(id: row["id"], fleet: row["fleet"], binID: row["bin_id"], timestamp: row["ts"],
                        receivedAt: row["received_at"], compartment: row["compartment"],
                        kind: FillAlertKind(rawValue: row["kind"]) ?? .nearlyFull, level: row["level"],
                        payload: row["payload"])
        }
    }

    /// A bin's fill history, optionally of one compartment and from `since` (inclusive, on the
    /// state's `ts`): the newest `limit` samples, oldest first.
    public func fillHistory(bin binID: String, compartment: String?, since: Double?,
                            limit: Int) async throws -> [FillSample] {
        var sql = "SELECT compartment, ts, level, items, status FROM fill_sample WHERE bin_id = ?"
        var arguments: StatementArguments = [binID]
        if let compartment { sql += " AND compartment = ?"; _ = arguments.append(contentsOf: [compartment]) }
        if let since { sql += " AND ts >= ?"; _ = arguments.append(contentsOf: [since]) }
        sql += " ORDER BY ts DESC, rowid DESC LIMIT \(max(0, limit))"
        let finalSQL = sql, finalArguments = arguments
        return try await read { db in
            try Row.fetchAll(db, sql: finalSQL, arguments: finalArguments).reversed().map { row in
                FillSample(compartment: row["compartment"], timestamp: row["ts"], level: row["level"],
                           items: row["items"], status: row["status"])
            }
        }
    }

    /// Alerts stored, all bins.
    public func alertCount() async throws -> Int {
        try await read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM alert") ?? 0 }
    }
}
