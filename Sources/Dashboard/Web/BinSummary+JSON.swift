import BinCore
import Telemetry

extension BinSummary {
    /// Writes the `/api/bins` object: `bin_id, fleet, availability, status, state (the retained
    /// JSON as published, or null), fault_reason, last_event_ts (RFC 3339 or null),
    /// last_event {label, route} or null, items_today, counts {route: n}, events_total,
    /// fill {compartment: {level, items, capacity, measured, status, refused, diverted}} (from the
    /// retained state; `{}` without one), open_alerts [alert payloads as published, oldest first]`.
    func write(to json: inout JSONText) {
        json.beginObject()
        json.key("bin_id"); json.string(binID)
        json.key("fleet"); json.string(fleet)
        json.key("availability"); json.string(availability)
        json.key("status"); json.string(status)
        json.key("state")
        if let stateJSON { json.raw(stateJSON) } else { json.null() }
        json.key("fault_reason"); json.string(faultReason)
        json.key("last_event_ts"); json.string(lastEventTimestamp.map(RFC3339.format))
        json.key("last_event")
        if let lastEventLabel, let lastEventRoute {
            json.beginObject()
            json.key("label"); json.string(lastEventLabel)
            json.key("route"); json.string(lastEventRoute)
            json.endObject()
        } else {
            json.null()
        }
        json.key("items_today"); json.int(itemsToday)
        json.key("counts")
        json.beginObject()
        for (route, count) in counts.sorted(by: { $0.key < $1.key }) {
            json.key(route); json.int(count)
        }
        json.endObject()
        json.key("events_total"); json.int(eventsTotal)
        json.key("fill")
        json.beginObject()
        for (compartment, value) in fill.sorted(by: { $0.key < $1.key }) {
            json.key(compartment)
            value.write(to: &json)
        }
        json.endObject()
        json.key("open_alerts")
        json.beginArray()
        for alert in openAlerts { json.raw(alert.payload) }
        json.endArray()
        json.endObject()
    }

    /// The `/api/bins` array.
    static func jsonArray(_ bins: [BinSummary]) -> String {
        var json = JSONText()
        json.beginArray()
        for bin in bins { bin.write(to: &json) }
        json.endArray()
        return json.text
    }
}

extension CompartmentFill {
    /// The `…/state` fill entry: `level, items, capacity|null, measured|null, status, refused, diverted`.
    func write(to json: inout JSONText) {
        json.beginObject()
        json.key("level"); json.number(level)
        json.key("items"); json.int(items)
        json.key("capacity"); if let capacity { json.int(capacity) } else { json.null() }
        json.key("measured"); if let measuredLevel { json.number(measuredLevel) } else { json.null() }
        json.key("status"); json.string(status)
        json.key("refused"); json.int(refused)
        json.key("diverted"); json.int(diverted)
        json.endObject()
    }
}

extension NeedsEmptying {
    /// The `/api/needs_emptying` array: `bin_id, fleet, compartment, kind, level, since (RFC 3339), alerts`.
    static func jsonArray(_ entries: [NeedsEmptying]) -> String {
        var json = JSONText()
        json.beginArray()
        for entry in entries {
            json.beginObject()
            json.key("bin_id"); json.string(entry.binID)
            json.key("fleet"); json.string(entry.fleet)
            json.key("compartment"); json.string(entry.compartment)
            json.key("kind"); json.string(entry.kind)
            json.key("level"); json.number(entry.level)
            json.key("since"); json.string(RFC3339.format(entry.since))
            json.key("alerts"); json.int(entry.alerts)
            json.endObject()
        }
        json.endArray()
        return json.text
    }
}

extension FillSample {
    /// The `/api/fill` array: `compartment, ts (RFC 3339), level, items, status`, oldest first.
    static func jsonArray(_ samples: [FillSample]) -> String {
        var json = JSONText()
        json.beginArray()
        for sample in samples {
            json.beginObject()
            json.key("compartment"); json.string(sample.compartment)
            json.key("ts"); json.string(RFC3339.format(sample.timestamp))
            json.key("level"); json.number(sample.level)
            json.key("items"); json.int(sample.items)
            json.key("status"); json.string(sample.status)
            json.endObject()
        }
        json.endArray()
        return json.text
    }
}
