import BinCore
import Telemetry

/// One fill alert (`…/alert`) as the dashboard stores it: the columns it queries by, plus the
/// payload exactly as the bin published it.
public struct AlertRecord: Sendable, Hashable {
    /// The alert's unique id (the de-duplication key).
    public var id: String
    public var fleet: String
    /// The bin, from the topic (the broker's ACLs vouch for it, not the payload).
    public var binID: String
    /// When the bin raised it, seconds since the epoch (the alert's `ts`).
    public var timestamp: Double
    /// When the dashboard received it, seconds since the epoch.
    public var receivedAt: Double
    public var compartment: String
    public var kind: FillAlertKind
    /// The level after the change, 0...1.
    public var level: Double
    /// The `…/alert` payload as received (UTF-8 JSON).
    public var payload: String

    public init(id: String, fleet: String, binID: String, timestamp: Double, receivedAt: Double,
                compartment: String, kind: FillAlertKind, level: Double, payload: String) {
        self.id = id
        self.fleet = fleet
        self.binID = binID
        self.timestamp = timestamp
        self.receivedAt = receivedAt
        self.compartment = compartment
        self.kind = kind
        self.level = level
        self.payload = payload
    }

    /// Decodes an `…/alert` payload (schema 1) received from `binID`.
    /// - Throws: `DashboardError` `.malformedMessage` naming the bin and the decoder's complaint.
    public init(payload: [UInt8], fleet: String, binID: String, receivedAt: Double) throws {
        let alert: BinAlert
        do {
            alert = try EventEncoding.decodeAlert(payload)
        } catch {
            throw DashboardError(.malformedMessage, "alert from bin '\(binID)' (fleet '\(fleet)'): \(error)")
        }
        guard let text = String(validating: payload, as: UTF8.self) else {
            throw DashboardError(.malformedMessage, "alert from bin '\(binID)' (fleet '\(fleet)'): payload is not UTF-8")
        }
        self.init(id: alert.id, fleet: fleet, binID: binID, timestamp: alert.timestamp, receivedAt: receivedAt,
                  compartment: alert.compartment, kind: alert.kind, level: alert.level, payload: text)
    }

    /// True for `nearly_full` and `full`: an alert that stays open until the compartment is emptied.
    public var opensPickUp: Bool { kind != .emptied }
}
