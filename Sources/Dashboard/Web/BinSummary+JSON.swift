import Telemetry

extension BinSummary {
    /// Writes the `/api/bins` object: `bin_id, fleet, availability, status, state (the retained
    /// JSON as published, or null), fault_reason, last_event_ts (RFC 3339 or null),
    /// last_event {label, route} or null, items_today, counts {route: n}, events_total`.
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
