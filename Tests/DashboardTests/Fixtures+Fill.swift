import BinCore
import Dashboard
import Foundation
import Telemetry

extension Fixtures {
    /// A `…/state` payload with `fill` as the firmware publishes it; `levels` maps each
    /// compartment to its level, status `full` from 0.95, `nearly_full` from 0.8.
    static func fillState(_ levels: [String: Double], capacity: Int = 10, timestamp: Double = 1_700_000_000) -> String {
        var fill: [String: CompartmentFill] = [:]
        for (compartment, level) in levels {
            let status = level >= 0.95 ? "full" : level >= 0.8 ? "nearly_full" : "ok"
            fill[compartment] = CompartmentFill(level: level, items: Int((level * Double(capacity)).rounded()),
                                                capacity: capacity, status: status)
        }
        return String(decoding: EventEncoding.encode(BinStatus(state: "idle", fill: fill, fullPolicy: "keep_routing"),
                                                     timestamp: timestamp), as: UTF8.self)
    }

    /// An `…/alert` payload as the firmware publishes it.
    static func alert(id: String = UUID().uuidString, bin: String, compartment: String = "other",
                      kind: FillAlertKind, level: Double, timestamp: Double, capacity: Int = 10) -> [UInt8] {
        let threshold: Double? = switch kind {
        case .nearlyFull: 0.8
        case .full: 0.95
        case .emptied: nil
        }
        return EventEncoding.encode(BinAlert(
            id: id, binID: bin, timestamp: timestamp, compartment: compartment, kind: kind,
            level: kind == .emptied ? 0 : level, source: kind == .emptied ? .command : .count,
            items: Int((level * Double(capacity)).rounded()), capacity: capacity, threshold: threshold,
            previousLevel: kind == .emptied ? level : nil))
    }

    static func alertRecord(id: String = UUID().uuidString, fleet: String = "f1", bin: String,
                            compartment: String = "other", kind: FillAlertKind, level: Double,
                            timestamp: Double) throws -> AlertRecord {
        try AlertRecord(payload: alert(id: id, bin: bin, compartment: compartment, kind: kind, level: level,
                                       timestamp: timestamp),
                        fleet: fleet, binID: bin, receivedAt: timestamp + 0.01)
    }
}
