extension LiveFeed.Message {
    /// The server-sent event for this message: `event: bin_event` with
    /// `{"fleet","bin_id","event":<payload as published>}`, `event: bin_change` with
    /// `{"fleet","bin_id","kind":"availability"|"state","value":<word or state JSON>}`,
    /// `event: bin_alert` with `{"fleet","bin_id","alert":<payload as published>}`, or a
    /// `: ping` comment for a heartbeat.
    var serverSentEvent: String {
        switch self {
        case .event(let event):
            var json = JSONText()
            json.beginObject()
            json.key("fleet"); json.string(event.fleet)
            json.key("bin_id"); json.string(event.binID)
            json.key("event"); json.raw(event.payload)
            json.endObject()
            return "event: bin_event\ndata: \(Self.oneLine(json.text))\n\n"
        case .change(let change):
            var json = JSONText()
            json.beginObject()
            json.key("fleet"); json.string(change.fleet)
            json.key("bin_id"); json.string(change.binID)
            json.key("kind"); json.string(change.kind.rawValue)
            json.key("value")
            switch change.kind {
            case .availability: json.string(change.value)
            case .state: json.raw(change.value)
            }
            json.endObject()
            return "event: bin_change\ndata: \(Self.oneLine(json.text))\n\n"
        case .alert(let alert):
            var json = JSONText()
            json.beginObject()
            json.key("fleet"); json.string(alert.fleet)
            json.key("bin_id"); json.string(alert.binID)
            json.key("alert"); json.raw(alert.payload)
            json.endObject()
            return "event: bin_alert\ndata: \(Self.oneLine(json.text))\n\n"
        case .heartbeat:
            return ": ping\n\n"
        }
    }

    /// JSON with its line breaks turned into spaces (raw line breaks in JSON can only be
    /// whitespace between tokens), as an SSE `data:` line requires.
    static func oneLine(_ json: String) -> String {
        guard json.contains(where: { $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return json }
        return String(json.map { $0 == "\n" || $0 == "\r" || $0 == "\r\n" ? " " : $0 })
    }
}
