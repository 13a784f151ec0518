import Telemetry

/// Counters of the ingest pipeline, rendered as Prometheus text by `/metrics`.
public final class DashboardMetrics: Sendable {
    /// A snapshot of the counters.
    public struct Values: Sendable, Hashable {
        /// MQTT messages received on the subscription.
        public var messagesReceived = 0
        /// Events stored for the first time.
        public var eventsIngested = 0
        /// Events dropped because their id was already stored.
        public var duplicatesDropped = 0
        /// Fill alerts stored for the first time.
        public var alertsIngested = 0
        /// Fill alerts dropped because their id was already stored.
        public var alertDuplicatesDropped = 0
        /// Messages on contract topics that could not be decoded.
        public var malformedMessages = 0
        /// Availability and state changes recorded.
        public var binChanges = 0
        /// Batches that failed to store.
        public var storeErrors = 0
        /// Seconds from the newest stored event's `ts` to the moment it was committed.
        public var lastIngestLagSeconds: Double?
        /// Ingest lag histogram: counts per upper bound in `lagBuckets`, then the sum and count.
        public var lagBucketCounts: [Int] = Array(repeating: 0, count: DashboardMetrics.lagBuckets.count)
        public var lagSum = 0.0
        public var lagCount = 0
    }

    /// Upper bounds (seconds) of the ingest lag histogram buckets.
    public static let lagBuckets: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    private let values = Locked(Values())

    public init() {}

    public var snapshot: Values { values.withLock { $0 } }

    func update(_ body: (inout Values) -> Void) { values.withLock(body) }

    func recordLag(_ seconds: Double, into values: inout Values) {
        values.lastIngestLagSeconds = seconds
        values.lagSum += seconds
        values.lagCount += 1
        for (index, bound) in Self.lagBuckets.enumerated() where seconds <= bound {
            values.lagBucketCounts[index] += 1
        }
    }

    /// Prometheus text exposition (version 0.0.4) of the counters plus the bin gauges.
    /// - Parameters:
    ///   - binsOnline: bins whose last availability is `online`.
    ///   - binsKnown: bins ever seen.
    ///   - sseClients: open `/api/stream` connections.
    public func prometheusText(binsOnline: Int, binsKnown: Int, sseClients: Int) -> String {
        let v = snapshot
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String, _ value: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n\(name) \(value)\n"
        }
        func number(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(Int64(value)) : "\(value)"
        }
        metric("smartbin_dashboard_messages_received_total", "counter",
               "MQTT messages received on the smartbin subscription.", "\(v.messagesReceived)")
        metric("smartbin_dashboard_events_ingested_total", "counter",
               "Classification events stored (first delivery of each event id).", "\(v.eventsIngested)")
        metric("smartbin_dashboard_events_duplicates_dropped_total", "counter",
               "Events dropped because their id was already stored (QoS 1 redelivery).", "\(v.duplicatesDropped)")
        metric("smartbin_dashboard_alerts_ingested_total", "counter",
               "Fill alerts stored (first delivery of each alert id).", "\(v.alertsIngested)")
        metric("smartbin_dashboard_alerts_duplicates_dropped_total", "counter",
               "Fill alerts dropped because their id was already stored.", "\(v.alertDuplicatesDropped)")
        metric("smartbin_dashboard_messages_malformed_total", "counter",
               "Messages on contract topics that could not be decoded.", "\(v.malformedMessages)")
        metric("smartbin_dashboard_bin_changes_total", "counter",
               "Availability and state changes recorded.", "\(v.binChanges)")
        metric("smartbin_dashboard_store_errors_total", "counter",
               "Batches that could not be written to the database.", "\(v.storeErrors)")
        metric("smartbin_dashboard_bins_online", "gauge",
               "Bins whose last availability message is 'online'.", "\(binsOnline)")
        metric("smartbin_dashboard_bins_known", "gauge", "Bins ever seen.", "\(binsKnown)")
        metric("smartbin_dashboard_sse_clients", "gauge", "Open /api/stream connections.", "\(sseClients)")
        metric("smartbin_dashboard_ingest_lag_seconds", "gauge",
               "Seconds from the newest stored event's ts to its commit (includes bin/dashboard clock skew).",
               v.lastIngestLagSeconds.map(number) ?? "NaN")
        let name = "smartbin_dashboard_ingest_delay_seconds"
        out += "# HELP \(name) Seconds from each stored event's ts to its commit.\n# TYPE \(name) histogram\n"
        for (index, bound) in Self.lagBuckets.enumerated() {
            out += "\(name)_bucket{le=\"\(number(bound))\"} \(v.lagBucketCounts[index])\n"
        }
        out += "\(name)_bucket{le=\"+Inf\"} \(v.lagCount)\n\(name)_sum \(number(v.lagSum))\n\(name)_count \(v.lagCount)\n"
        return out
    }
}
