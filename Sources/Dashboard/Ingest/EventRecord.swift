import BinCore
import Telemetry

/// One classification event as the dashboard stores it: the columns it queries by, plus the
/// payload exactly as the bin published it.
public struct EventRecord: Sendable, Hashable {
    /// The event's unique id (the de-duplication key).
    public var id: String
    public var fleet: String
    /// The bin, from the topic (the broker's ACLs vouch for it, not the payload).
    public var binID: String
    public var seq: UInt64
    /// When the bin classified the item, seconds since the epoch (the event's `ts`).
    public var timestamp: Double
    /// When the dashboard received it, seconds since the epoch.
    public var receivedAt: Double
    public var label: String
    /// The compartment the flap sent the item to.
    public var route: String
    public var fallback: Bool
    public var confidence: Double
    /// End-to-end latency on the bin (`timing_ms.total`), milliseconds.
    public var totalMS: Double
    /// The `…/event` payload as received (UTF-8 JSON).
    public var payload: String

    public init(id: String, fleet: String, binID: String, seq: UInt64, timestamp: Double,
                receivedAt: Double, label: String, route: String, fallback: Bool,
                confidence: Double, totalMS: Double, payload: String) {
        self.id = id
        self.fleet = fleet
        self.binID = binID
        self.seq = seq
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.label = label
        self.route = route
        self.fallback = fallback
        self.confidence = confidence
        self.totalMS = totalMS
        self.payload = payload
    }

    /// Decodes an `…/event` payload (schema 1) received on `topic`.
    /// - Throws: `DashboardError` `.malformedMessage` naming the topic and the decoder's complaint.
    public init(payload: [UInt8], fleet: String, binID: String, receivedAt: Double) throws {
        let event: BinEvent
        do {
            event = try EventEncoding.decodeEvent(payload)
        } catch {
            throw DashboardError(.malformedMessage, "event from bin '\(binID)' (fleet '\(fleet)'): \(error)")
        }
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw DashboardError(.malformedMessage, "event from bin '\(binID)' (fleet '\(fleet)'): payload is not UTF-8")
        }
        self.init(id: event.id, fleet: fleet, binID: binID, seq: event.seq, timestamp: event.timestamp,
                  receivedAt: receivedAt, label: event.classification.label, route: event.route.bin,
                  fallback: event.route.fallback, confidence: event.classification.confidence,
                  totalMS: event.timings.total, payload: text)
    }
}
