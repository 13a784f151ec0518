import BinCore
import Foundation

/// JSON for the MQTT contract v1 (see DESIGN.md): `…/event` documents (schema 1) and the
/// retained `…/state` document. Keys are written in the contract's order, compact, UTF-8, one
/// line (no raw newlines: line-oriented tools such as `mosquitto_sub -v` can split on them).
public enum EventEncoding {
    /// Encodes an event as the `…/event` payload:
    /// `schema, id, seq, bin_id, ts, label, class_index, confidence, top[{label,score}], route,
    /// fallback, flap_angle_deg, model{name,sha256,precision},
    /// timing_ms{capture,preprocess,inference,actuate,total}, firmware`.
    /// `ts` is RFC 3339 UTC with milliseconds.
    public static func encode(_ event: BinEvent) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.int(BinEvent.schemaVersion)
        w.key("id"); w.string(event.id)
        w.key("seq"); w.int(event.seq)
        w.key("bin_id"); w.string(event.binID)
        w.key("ts"); w.string(RFC3339.format(event.timestamp))
        w.key("label"); w.string(event.classification.label)
        w.key("class_index"); w.int(event.classification.classIndex)
        w.key("confidence"); w.number(event.classification.confidence)
        w.key("top")
        w.beginArray()
        for score in event.classification.top {
            w.beginObject()
            w.key("label"); w.string(score.label)
            w.key("score"); w.number(score.score)
            w.endObject()
        }
        w.endArray()
        w.key("route"); w.string(event.route.bin)
        w.key("fallback"); w.bool(event.route.fallback)
        w.key("flap_angle_deg"); w.number(event.route.angleDegrees)
        w.key("model"); writeModel(event.model, into: &w)
        w.key("timing_ms")
        w.beginObject()
        w.key("capture"); w.number(event.timings.capture)
        w.key("preprocess"); w.number(event.timings.preprocess)
        w.key("inference"); w.number(event.timings.inference)
        w.key("actuate"); w.number(event.timings.actuate)
        w.key("total"); w.number(event.timings.total)
        w.endObject()
        w.key("firmware"); w.string(event.firmware)
        w.endObject()
        return w.bytes
    }

    /// Encodes a status as the retained `…/state` payload:
    /// `schema, state, fault_reason (string or null), counts{bin: n} (sorted by bin),
    /// model{name,sha256,precision} or null, uptime_s, triggers_during_cycle,
    /// outbox{pending,bytes,max_bytes,fill,near_full,rejected_full} (when given),
    /// fill{bin: {level, items, capacity|null, measured|null, status, refused, diverted}} (every
    /// compartment, sorted), full_policy (string or null), refusal (string or null),
    /// clock_jumps (wall-clock jumps seen since start), last_clock_jump_s (seconds, positive
    /// forward, rounded to 0.1; null before the first), ts`.
    /// `level` and `measured` are 0...1 rounded to 4 decimals; `status` is `ok`, `nearly_full`
    /// or `full`.
    /// - Parameter timestamp: seconds since the epoch when the status was taken.
    public static func encode(_ status: BinStatus, timestamp: Double, outbox: Outbox.Metrics? = nil) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.int(BinEvent.schemaVersion)
        w.key("state"); w.string(status.state)
        w.key("fault_reason"); w.string(status.faultReason)
        w.key("counts")
        w.beginObject()
        for (bin, count) in status.countsPerBin.sorted(by: { $0.key < $1.key }) {
            w.key(bin); w.int(count)
        }
        w.endObject()
        w.key("model")
        if let model = status.model { writeModel(model, into: &w) } else { w.null() }
        w.key("uptime_s"); w.number(status.uptimeSeconds)
        w.key("triggers_during_cycle"); w.int(status.triggersDuringCycle)
        if let outbox {
            w.key("outbox")
            w.beginObject()
            w.key("pending"); w.int(outbox.pendingRecords)
            w.key("bytes"); w.int(outbox.pendingBytes)
            w.key("max_bytes"); w.int(outbox.maxBytes)
            w.key("fill"); w.number((outbox.fill * 1000).rounded() / 1000)
            w.key("near_full"); w.bool(outbox.nearFull)
            w.key("rejected_full"); w.int(outbox.rejectedFull)
            w.endObject()
        }
        w.key("fill")
        w.beginObject()
        for (bin, fill) in status.fill.sorted(by: { $0.key < $1.key }) {
            w.key(bin)
            w.beginObject()
            w.key("level"); w.number(rounded(fill.level))
            w.key("items"); w.int(fill.items)
            w.key("capacity"); if let capacity = fill.capacity { w.int(capacity) } else { w.null() }
            w.key("measured"); if let measured = fill.measuredLevel { w.number(rounded(measured)) } else { w.null() }
            w.key("status"); w.string(fill.status)
            w.key("refused"); w.int(fill.refused)
            w.key("diverted"); w.int(fill.diverted)
            w.endObject()
        }
        w.endObject()
        w.key("full_policy"); w.string(status.fullPolicy)
        w.key("refusal"); w.string(status.refusal)
        w.key("clock_jumps"); w.int(status.clockJumps)
        w.key("last_clock_jump_s")
        if let jump = status.lastClockJumpSeconds { w.number((jump * 10).rounded() / 10) } else { w.null() }
        w.key("ts"); w.string(RFC3339.format(timestamp))
        w.endObject()
        return w.bytes
    }

    /// Encodes a fill alert as the `…/alert` payload:
    /// `schema, id, bin_id, ts, compartment, kind (nearly_full|full|emptied), level (0...1),
    /// source (count|sensor|button|command), items, capacity|null, threshold|null,
    /// previous_level|null`. Levels are rounded to 4 decimals.
    public static func encode(_ alert: BinAlert) -> [UInt8] {
        var w = JSONWriter()
        w.beginObject()
        w.key("schema"); w.int(BinAlert.schemaVersion)
        w.key("id"); w.string(alert.id)
        w.key("bin_id"); w.string(alert.binID)
        w.key("ts"); w.string(RFC3339.format(alert.timestamp))
        w.key("compartment"); w.string(alert.compartment)
        w.key("kind"); w.string(alert.kind.rawValue)
        w.key("level"); w.number(rounded(alert.level))
        w.key("source"); w.string(alert.source.rawValue)
        w.key("items"); w.int(alert.items)
        w.key("capacity"); if let capacity = alert.capacity { w.int(capacity) } else { w.null() }
        w.key("threshold"); if let threshold = alert.threshold { w.number(threshold) } else { w.null() }
        w.key("previous_level"); if let previous = alert.previousLevel { w.number(rounded(previous)) } else { w.null() }
        w.endObject()
        return w.bytes
    }

    /// Decodes an `…/alert` payload. Unknown keys are ignored; optional keys may be missing.
    /// - Throws: `TelemetryError` `.malformedJSON` naming the missing or mistyped key.
    public static func decodeAlert(_ bytes: [UInt8]) throws -> BinAlert {
        let object = try parseObject(bytes, what: "alert")
        let tsText: String = try object.string("ts")
        guard let timestamp = RFC3339.parse(tsText) else {
            throw TelemetryError(.malformedJSON, "alert JSON: key 'ts' is not an RFC 3339 timestamp: \(tsText)")
        }
        let kindText = try object.string("kind")
        guard let kind = FillAlertKind(rawValue: kindText) else {
            throw TelemetryError(.malformedJSON, "alert JSON: unknown kind '\(kindText)'")
        }
        let sourceText = try object.string("source")
        guard let source = FillSource(rawValue: sourceText) else {
            throw TelemetryError(.malformedJSON, "alert JSON: unknown source '\(sourceText)'")
        }
        return BinAlert(id: try object.string("id"), binID: try object.string("bin_id"), timestamp: timestamp,
                        compartment: try object.string("compartment"), kind: kind,
                        level: try object.double("level"), source: source, items: try object.int("items"),
                        capacity: object.isNull("capacity") ? nil : try object.int("capacity"),
                        threshold: object.isNull("threshold") ? nil : try object.double("threshold"),
                        previousLevel: object.isNull("previous_level") ? nil : try object.double("previous_level"))
    }

    /// Decodes an `…/event` payload (schema 1). Unknown keys are ignored.
    /// - Throws: `TelemetryError` `.malformedJSON` naming the missing or mistyped key.
    public static func decodeEvent(_ bytes: [UInt8]) throws -> BinEvent {
        let object = try parseObject(bytes, what: "event")
        let schema: Int = try object.int("schema")
        guard schema == BinEvent.schemaVersion else {
            throw TelemetryError(.malformedJSON, "event JSON: unsupported schema \(schema) (expected \(BinEvent.schemaVersion))")
        }
        let tsText: String = try object.string("ts")
        guard let timestamp = RFC3339.parse(tsText) else {
            throw TelemetryError(.malformedJSON, "event JSON: key 'ts' is not an RFC 3339 timestamp: \(tsText)")
        }
        let top = try object.array("top").enumerated().map { index, element -> LabelScore in
            let item = try JSONObject(element, path: "top[\(index)]")
            return LabelScore(label: try item.string("label"), score: try item.double("score"))
        }
        let model = try object.object("model")
        let timing = try object.object("timing_ms")
        return BinEvent(
            id: try object.string("id"),
            seq: try object.uint64("seq"),
            binID: try object.string("bin_id"),
            timestamp: timestamp,
            classification: Classification(label: try object.string("label"),
                                           classIndex: try object.int("class_index"),
                                           confidence: try object.double("confidence"), top: top),
            route: Route(bin: try object.string("route"),
                         angleDegrees: try object.double("flap_angle_deg"),
                         fallback: try object.bool("fallback")),
            model: ModelInfo(name: try model.string("name"), sha256: try model.string("sha256"),
                             precision: try model.string("precision")),
            timings: StageTimings(capture: try timing.double("capture"),
                                  preprocess: try timing.double("preprocess"),
                                  inference: try timing.double("inference"),
                                  actuate: try timing.double("actuate"),
                                  total: try timing.double("total")),
            firmware: try object.string("firmware"))
    }

    /// Decodes a `…/state` payload into the status and its `ts` (seconds since the epoch).
    /// - Throws: `TelemetryError` `.malformedJSON` naming the missing or mistyped key.
    public static func decodeStatus(_ bytes: [UInt8]) throws -> (status: BinStatus, timestamp: Double) {
        let object = try parseObject(bytes, what: "state")
        let tsText: String = try object.string("ts")
        guard let timestamp = RFC3339.parse(tsText) else {
            throw TelemetryError(.malformedJSON, "state JSON: key 'ts' is not an RFC 3339 timestamp: \(tsText)")
        }
        let countsObject = try object.object("counts")
        var counts: [String: Int] = [:]
        for key in countsObject.keys { counts[key] = try countsObject.int(key) }
        var model: ModelInfo?
        if !object.isNull("model") {
            let m = try object.object("model")
            model = ModelInfo(name: try m.string("name"), sha256: try m.string("sha256"),
                              precision: try m.string("precision"))
        }
        var fill: [String: CompartmentFill] = [:]
        if !object.isNull("fill") {
            let fillObject = try object.object("fill")
            for key in fillObject.keys {
                let entry = try fillObject.object(key)
                fill[key] = CompartmentFill(
                    level: try entry.double("level"), items: try entry.int("items"),
                    capacity: entry.isNull("capacity") ? nil : try entry.int("capacity"),
                    measuredLevel: entry.isNull("measured") ? nil : try entry.double("measured"),
                    status: try entry.string("status"),
                    refused: entry.isNull("refused") ? 0 : try entry.int("refused"),
                    diverted: entry.isNull("diverted") ? 0 : try entry.int("diverted"))
            }
        }
        let status = BinStatus(
            state: try object.string("state"),
            faultReason: object.isNull("fault_reason") ? nil : try object.string("fault_reason"),
            countsPerBin: counts, model: model,
            uptimeSeconds: try object.double("uptime_s"),
            triggersDuringCycle: try object.int("triggers_during_cycle"),
            fill: fill,
            fullPolicy: object.isNull("full_policy") ? nil : try object.string("full_policy"),
            refusal: object.isNull("refusal") ? nil : try object.string("refusal"),
            clockJumps: object.isNull("clock_jumps") ? 0 : try object.int("clock_jumps"),
            lastClockJumpSeconds: object.isNull("last_clock_jump_s") ? nil : try object.double("last_clock_jump_s"))
        return (status, timestamp)
    }

    /// A level rounded to 4 decimals (so 0.3 stays 0.3 in the JSON).
    private static func rounded(_ level: Double) -> Double { (level * 10_000).rounded() / 10_000 }

    private static func writeModel(_ model: ModelInfo, into w: inout JSONWriter) {
        w.beginObject()
        w.key("name"); w.string(model.name)
        w.key("sha256"); w.string(model.sha256)
        w.key("precision"); w.string(model.precision)
        w.endObject()
    }

    private static func parseObject(_ bytes: [UInt8], what: String) throws -> JSONObject {
        let parsed: Any
        do {
            parsed = try JSONSerialization.jsonObject(with: Data(bytes), options: [])
        } catch {
            throw TelemetryError(.malformedJSON, "\(what) JSON: not valid JSON (\(bytes.count) bytes): \(error.localizedDescription)")
        }
        return try JSONObject(parsed, path: what)
    }
}

/// Typed access to a parsed JSON object with errors that name the key path.
private struct JSONObject {
    let dictionary: [String: Any]
    let path: String

    init(_ value: Any, path: String) throws {
        guard let dictionary = value as? [String: Any] else {
            throw TelemetryError(.malformedJSON, "\(path) JSON: expected an object")
        }
        self.dictionary = dictionary
        self.path = path
    }

    var keys: [String] { Array(dictionary.keys) }

    func isNull(_ key: String) -> Bool {
        dictionary[key] == nil || dictionary[key] is NSNull
    }

    private func value(_ key: String) throws -> Any {
        guard let value = dictionary[key], !(value is NSNull) else {
            throw TelemetryError(.malformedJSON, "\(path) JSON: missing key '\(key)'")
        }
        return value
    }

    private func mistyped(_ key: String, _ type: String) -> TelemetryError {
        TelemetryError(.malformedJSON, "\(path) JSON: key '\(key)' is not \(type)")
    }

    func string(_ key: String) throws -> String {
        guard let text = try value(key) as? String else { throw mistyped(key, "a string") }
        return text
    }

    func number(_ key: String) throws -> NSNumber {
        let raw = try value(key)
        guard let number = raw as? NSNumber else {
            throw mistyped(key, "a number")
        }
        return number
    }

    func double(_ key: String) throws -> Double { try number(key).doubleValue }

    func int(_ key: String) throws -> Int {
        let number = try number(key)
        guard Double(number.intValue) == number.doubleValue else { throw mistyped(key, "an integer") }
        return number.intValue
    }

    func uint64(_ key: String) throws -> UInt64 {
        let number = try number(key)
        guard number.doubleValue >= 0 else { throw mistyped(key, "a non-negative integer") }
        return number.uint64Value
    }

    func bool(_ key: String) throws -> Bool {
        guard let flag = try value(key) as? Bool else { throw mistyped(key, "a boolean") }
        return flag
    }

    func array(_ key: String) throws -> [Any] {
        guard let items = try value(key) as? [Any] else { throw mistyped(key, "an array") }
        return items
    }

    func object(_ key: String) throws -> JSONObject {
        try JSONObject(try value(key), path: "\(path).\(key)")
    }
}
