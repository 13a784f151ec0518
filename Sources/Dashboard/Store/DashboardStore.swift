import BinCore
import Foundation
import GRDB
import Telemetry

/// The dashboard's history in one SQLite file (GRDB `DatabasePool`, WAL mode): every event
/// (de-duplicated by its id), every availability and state change, and per-bin summaries kept
/// up to date on insert so the fleet page never scans the event table.
///
/// Tables (see `migrator`): `event` (UNIQUE `id`, indexed on `(bin_id, ts)` and `ts`),
/// `bin` (one row per bin: availability, state, last event), `bin_route_count` and
/// `bin_day_count` (counters), `bin_change` (availability/state history), `alert` (fill alerts,
/// UNIQUE `id`, open until emptied) and `fill_sample` (per-compartment fill history).
///
/// Writes are serialised by GRDB; reads run concurrently with them (WAL). Every call blocks a
/// GRDB queue, not the caller's thread: the `async` variants suspend.
public final class DashboardStore: Sendable {
    /// The SQLite file.
    public let path: String
    private let pool: DatabasePool

    /// Opens (creating when missing) and migrates the database at `path`.
    /// - Throws: `DashboardError` `.database` naming the file.
    public init(path: String) throws {
        self.path = path
        var configuration = Configuration()
        configuration.label = "smartbin-dashboard"
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // WAL (DatabasePool's default) with NORMAL sync: a power cut may lose the last
            // transactions but never corrupts the file; the bins' outboxes are the durable copy.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            pool = try DatabasePool(path: path, configuration: configuration)
            try Self.migrator.migrate(pool)
        } catch {
            throw DashboardError(.database, "\(path): cannot open the dashboard database: \(error)")
        }
    }

    /// The journal mode SQLite reports (`wal`).
    public func journalMode() throws -> String {
        try read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? "" }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE event (
                    rowid INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    fleet TEXT NOT NULL,
                    bin_id TEXT NOT NULL,
                    seq INTEGER NOT NULL,
                    ts REAL NOT NULL,
                    received_at REAL NOT NULL,
                    label TEXT NOT NULL,
                    route TEXT NOT NULL,
                    fallback INTEGER NOT NULL,
                    confidence REAL NOT NULL,
                    total_ms REAL NOT NULL,
                    payload TEXT NOT NULL
                );
                CREATE INDEX event_bin_ts ON event(bin_id, ts);
                CREATE INDEX event_ts ON event(ts);
                CREATE TABLE bin (
                    bin_id TEXT PRIMARY KEY,
                    fleet TEXT NOT NULL,
                    first_seen REAL NOT NULL,
                    availability TEXT,
                    availability_at REAL,
                    state_json TEXT,
                    state_name TEXT,
                    fault_reason TEXT,
                    state_at REAL,
                    last_event_ts REAL,
                    last_event_label TEXT,
                    last_event_route TEXT
                );
                CREATE TABLE bin_route_count (
                    bin_id TEXT NOT NULL,
                    route TEXT NOT NULL,
                    n INTEGER NOT NULL,
                    PRIMARY KEY (bin_id, route)
                ) WITHOUT ROWID;
                CREATE TABLE bin_day_count (
                    bin_id TEXT NOT NULL,
                    day INTEGER NOT NULL,
                    n INTEGER NOT NULL,
                    PRIMARY KEY (bin_id, day)
                ) WITHOUT ROWID;
                CREATE TABLE bin_change (
                    rowid INTEGER PRIMARY KEY,
                    bin_id TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    value TEXT NOT NULL,
                    at REAL NOT NULL
                );
                CREATE INDEX bin_change_bin_at ON bin_change(bin_id, at);
                """)
        }
        migrator.registerMigration("v2-fill") { db in
            // `alert`: every fill alert once (UNIQUE id). A nearly_full/full alert is open until
            // an `emptied` alert of the same compartment with a later or equal `ts` closes it
            // (`cleared_at` = that alert's ts, `cleared_by` = its id).
            // `fill_sample`: one row per change of a compartment's level, items or status in the
            // retained state, at the state's `ts`.
            try db.execute(sql: """
                CREATE TABLE alert (
                    rowid INTEGER PRIMARY KEY,
                    id TEXT NOT NULL UNIQUE,
                    fleet TEXT NOT NULL,
                    bin_id TEXT NOT NULL,
                    compartment TEXT NOT NULL,
                    kind TEXT NOT NULL,
                    ts REAL NOT NULL,
                    received_at REAL NOT NULL,
                    level REAL NOT NULL,
                    payload TEXT NOT NULL,
                    cleared_at REAL,
                    cleared_by TEXT
                );
                CREATE INDEX alert_bin_compartment_ts ON alert(bin_id, compartment, ts);
                CREATE INDEX alert_ts ON alert(ts);
                CREATE INDEX alert_open ON alert(bin_id) WHERE cleared_at IS NULL AND kind != 'emptied';
                CREATE TABLE fill_sample (
                    rowid INTEGER PRIMARY KEY,
                    bin_id TEXT NOT NULL,
                    compartment TEXT NOT NULL,
                    ts REAL NOT NULL,
                    level REAL NOT NULL,
                    items INTEGER NOT NULL,
                    status TEXT NOT NULL
                );
                CREATE INDEX fill_sample_bin_compartment_ts ON fill_sample(bin_id, compartment, ts);
                """)
        }
        return migrator
    }

    // MARK: Writing

    /// Stores a batch in one transaction: events are inserted unless their id is already
    /// stored; availability and state are recorded when they differ from the bin's current ones.
    /// - Throws: `DashboardError` `.database` naming the file.
    public func ingest(_ batch: [IngestItem]) async throws -> IngestResult {
        guard !batch.isEmpty else { return IngestResult() }
        do {
            return try await pool.write { db in try Self.apply(batch, to: db) }
        } catch {
            throw DashboardError(.database, "\(path): storing \(batch.count) message(s): \(error)")
        }
    }

    private static func apply(_ batch: [IngestItem], to db: Database) throws -> IngestResult {
        var result = IngestResult()
        for item in batch {
            switch item {
            case .event(let event):
                try db.execute(sql: """
                    INSERT INTO event (id, fleet, bin_id, seq, ts, received_at, label, route, fallback,
                                       confidence, total_ms, payload)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
                    """, arguments: [event.id, event.fleet, event.binID, Int64(clamping: event.seq),
                                     event.timestamp, event.receivedAt, event.label, event.route,
                                     event.fallback, event.confidence, event.totalMS, event.payload])
                guard db.changesCount == 1 else {
                    result.duplicates += 1
                    continue
                }
                try db.execute(sql: """
                    INSERT INTO bin (bin_id, fleet, first_seen, last_event_ts, last_event_label, last_event_route)
                    VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT(bin_id) DO UPDATE SET
                        fleet = excluded.fleet,
                        last_event_label = CASE WHEN last_event_ts IS NULL OR excluded.last_event_ts >= last_event_ts
                                           THEN excluded.last_event_label ELSE last_event_label END,
                        last_event_route = CASE WHEN last_event_ts IS NULL OR excluded.last_event_ts >= last_event_ts
                                           THEN excluded.last_event_route ELSE last_event_route END,
                        last_event_ts = max(coalesce(last_event_ts, excluded.last_event_ts), excluded.last_event_ts)
                    """, arguments: [event.binID, event.fleet, event.receivedAt, event.timestamp,
                                     event.label, event.route])
                try db.execute(sql: """
                    INSERT INTO bin_route_count (bin_id, route, n) VALUES (?, ?, 1)
                    ON CONFLICT(bin_id, route) DO UPDATE SET n = n + 1
                    """, arguments: [event.binID, event.route])
                try db.execute(sql: """
                    INSERT INTO bin_day_count (bin_id, day, n) VALUES (?, ?, 1)
                    ON CONFLICT(bin_id, day) DO UPDATE SET n = n + 1
                    """, arguments: [event.binID, utcDay(event.timestamp)])
                result.inserted.append(event)

            case .alert(let alert):
                guard try insert(alert, into: db) else {
                    result.alertDuplicates += 1
                    continue
                }
                result.alertsInserted.append(alert)

            case .availability(let fleet, let binID, let value, let at):
                try ensureBin(binID, fleet: fleet, at: at, in: db)
                let current = try String.fetchOne(db, sql: "SELECT availability FROM bin WHERE bin_id = ?",
                                                  arguments: [binID])
                guard current != value else { continue }
                try db.execute(sql: "UPDATE bin SET availability = ?, availability_at = ? WHERE bin_id = ?",
                               arguments: [value, at, binID])
                try db.execute(sql: "INSERT INTO bin_change (bin_id, kind, value, at) VALUES (?, 'availability', ?, ?)",
                               arguments: [binID, value, at])
                result.changes.append(BinChange(binID: binID, fleet: fleet, kind: .availability, value: value, at: at))

            case .state(let fleet, let binID, let json, let at):
                try ensureBin(binID, fleet: fleet, at: at, in: db)
                let current = try String.fetchOne(db, sql: "SELECT state_json FROM bin WHERE bin_id = ?",
                                                  arguments: [binID])
                guard current != json else { continue }
                let fields = StateFields(json: json)
                try db.execute(sql: """
                    UPDATE bin SET state_json = ?, state_name = ?, fault_reason = ?, state_at = ? WHERE bin_id = ?
                    """, arguments: [json, fields.state, fields.faultReason, at, binID])
                try db.execute(sql: "INSERT INTO bin_change (bin_id, kind, value, at) VALUES (?, 'state', ?, ?)",
                               arguments: [binID, json, at])
                try recordFill(binID: binID, json: json, receivedAt: at, in: db)
                result.changes.append(BinChange(binID: binID, fleet: fleet, kind: .state, value: json, at: at))
            }
        }
        return result
    }

    /// Inserts `alert` unless its id is stored; an `emptied` alert closes the compartment's
    /// open alerts raised at or before it, and a threshold alert that arrives after the
    /// emptying that followed it (a late redelivery) is stored already closed.
    /// - Returns: false for a duplicate id.
    private static func insert(_ alert: AlertRecord, into db: Database) throws -> Bool {
        try db.execute(sql: """
            INSERT INTO alert (id, fleet, bin_id, compartment, kind, ts, received_at, level, payload)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING
            """, arguments: [alert.id, alert.fleet, alert.binID, alert.compartment, alert.kind.rawValue,
                             alert.timestamp, alert.receivedAt, alert.level, alert.payload])
        guard db.changesCount == 1 else { return false }
        try ensureBin(alert.binID, fleet: alert.fleet, at: alert.receivedAt, in: db)
        if alert.opensPickUp {
            try db.execute(sql: """
                UPDATE alert SET (cleared_at, cleared_by) = (
                    SELECT ts, id FROM alert e WHERE e.bin_id = ?1 AND e.compartment = ?2 AND e.kind = 'emptied'
                    AND e.ts >= ?3 ORDER BY e.ts LIMIT 1)
                WHERE id = ?4 AND EXISTS (
                    SELECT 1 FROM alert e WHERE e.bin_id = ?1 AND e.compartment = ?2 AND e.kind = 'emptied' AND e.ts >= ?3)
                """, arguments: [alert.binID, alert.compartment, alert.timestamp, alert.id])
        } else {
            try db.execute(sql: """
                UPDATE alert SET cleared_at = ?, cleared_by = ?
                WHERE bin_id = ? AND compartment = ? AND kind != 'emptied' AND cleared_at IS NULL AND ts <= ?
                """, arguments: [alert.timestamp, alert.id, alert.binID, alert.compartment, alert.timestamp])
        }
        return true
    }

    /// Appends a `fill_sample` row for every compartment of the state document `json` whose
    /// level, items or status differs from its latest row. A state without a decodable `fill`
    /// records nothing.
    private static func recordFill(binID: String, json: String, receivedAt: Double, in db: Database) throws {
        guard let decoded = FillFields.decode(json) else { return }
        for (compartment, value) in decoded.fill.sorted(by: { $0.key < $1.key }) {
            let last = try Row.fetchOne(db, sql: """
                SELECT level, items, status FROM fill_sample WHERE bin_id = ? AND compartment = ?
                ORDER BY ts DESC, rowid DESC LIMIT 1
                """, arguments: [binID, compartment])
            if let last, last["level"] as Double == value.level, last["items"] as Int == value.items,
               last["status"] as String == value.status { continue }
            try db.execute(sql: """
                INSERT INTO fill_sample (bin_id, compartment, ts, level, items, status) VALUES (?, ?, ?, ?, ?, ?)
                """, arguments: [binID, compartment, decoded.timestamp ?? receivedAt, value.level, value.items, value.status])
        }
    }

    private static func ensureBin(_ binID: String, fleet: String, at: Double, in db: Database) throws {
        try db.execute(sql: """
            INSERT INTO bin (bin_id, fleet, first_seen) VALUES (?, ?, ?)
            ON CONFLICT(bin_id) DO UPDATE SET fleet = excluded.fleet
            """, arguments: [binID, fleet, at])
    }

    /// Days since the epoch of a UTC timestamp (the "today" of `items_today`).
    static func utcDay(_ seconds: Double) -> Int64 {
        Int64((seconds / 86_400).rounded(.down))
    }

    // MARK: Reading

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            return try pool.read(body)
        } catch {
            throw DashboardError(.database, "\(path): reading: \(error)")
        }
    }

    func read<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await pool.read(body)
        } catch {
            throw DashboardError(.database, "\(path): reading: \(error)")
        }
    }
}

/// The fill of a retained `…/state` document, through Telemetry's decoder.
enum FillFields {
    /// Every compartment's fill and the document's `ts`; nil when the document does not decode
    /// (an older or foreign state) or carries no fill.
    static func decode(_ json: String) -> (fill: [String: CompartmentFill], timestamp: Double?)? {
        guard let decoded = try? EventEncoding.decodeStatus(Array(json.utf8)), !decoded.status.fill.isEmpty else {
            return nil
        }
        return (decoded.status.fill, decoded.timestamp)
    }
}

/// The two fields of a retained `…/state` document the fleet page needs.
struct StateFields {
    var state: String?
    var faultReason: String?

    init(json: String) {
        guard let object = (try? JSONSerialization.jsonObject(with: Data(json.utf8))) as? [String: Any] else { return }
        state = object["state"] as? String
        faultReason = object["fault_reason"] as? String
    }
}
