import Foundation
import Telemetry

/// The bin page (`/bins/<id>`): status, key numbers and server-rendered SVG charts of the
/// bin's recent events (class distribution, routing split, confidence histogram, latency
/// p50/p90 and fallback rate over time), then its recent availability/state changes.
enum BinPage {
    /// - Parameter fill: the bin's fill history, oldest first (one chart per compartment).
    static func render(bin: BinSummary, stats: BinStatistics, changes: [BinChange], fill: [FillSample] = [],
                       now: Double) -> String {
        let percent = { (value: Double) in String(format: "%.0f%%", value * 100) }
        let ms = { (value: Double) in String(format: value < 10 ? "%.1f" : "%.0f", value) + " ms" }
        let window = stats.windows.count > 1 ? stats.windows[1].start - stats.windows[0].start : 0
        let timeFormat: (Double) -> String = { seconds in
            let text = RFC3339.format(seconds)
            // Same UTC day: time of day; otherwise the date and time.
            let sameDay = Int(seconds / 86_400) == Int(now / 86_400)
            return sameDay ? String(text.dropFirst(11).prefix(8)) : String(text.prefix(16)).replacingOccurrences(of: "T", with: " ")
        }
        let charts = [
            SVGChart.bars(stats.classCounts.map { .init($0.label, Double($0.count)) }, title: "Class distribution"),
            SVGChart.bars(stats.routeCounts.map { .init($0.route, Double($0.count)) }
                          + (stats.fallbackCount > 0 ? [.init("(fallback)", Double(stats.fallbackCount))] : []),
                          title: "Routing split", color: "#3d6fb6"),
            SVGChart.bars(stats.confidenceHistogram.enumerated().map { index, count in
                .init(String(format: "%.1f", Double(index) / 10), Double(count))
            }, title: "Confidence histogram (deciles)", color: "#8a5cb8"),
            SVGChart.lines([
                .init(name: "p50", color: "#2f7d5b", points: stats.windows.map { ($0.start, $0.p50MS) }),
                .init(name: "p90", color: "#c0392b", points: stats.windows.map { ($0.start, $0.p90MS) }),
            ], title: "Latency (timing_ms.total) over time", yFormat: ms, xFormat: timeFormat),
            SVGChart.lines([
                .init(name: "fallback", color: "#d35400", points: stats.windows.map { ($0.start, $0.fallbackRate) }),
            ], title: "Fallback rate over time", yFormat: percent, xFormat: timeFormat),
        ]
        let status = bin.status
        var body = """
            <h1>Bin \(HTML.escape(bin.binID)) <span class="badge \(HTML.escape(status))">\(HTML.escape(status))</span></h1>
            <p class="kv"><span>fleet <b>\(HTML.escape(bin.fleet))</b></span>
            <span>state <b>\(HTML.escape(bin.stateName ?? "—"))</b></span>
            \(bin.faultReason.map { "<span>fault <b>\(HTML.escape($0))</b></span>" } ?? "")
            <span>last event <b>\(HTML.escape(bin.lastEventTimestamp.map(RFC3339.format) ?? "none"))</b></span>
            <span>items today <b>\(bin.itemsToday)</b></span>
            <span>events stored <b>\(bin.eventsTotal)</b></span></p>
            <p class="kv"><span>charted events <b>\(stats.events)</b></span>
            <span>latency p50 <b>\(ms(stats.p50MS))</b></span>
            <span>p90 <b>\(ms(stats.p90MS))</b></span>
            <span>fallback rate <b>\(percent(stats.fallbackRate))</b></span>
            \(window > 0 ? "<span class=\"muted\">windows of \(Int(window.rounded())) s</span>" : "")</p>
            <div class="grid">
            """
        for chart in charts { body += "<div class=\"card\">\(chart)</div>" }
        body += "</div>"
        body += fillSection(bin: bin, history: fill, percent: percent, timeFormat: timeFormat)
        body += "<h2>Recent availability and state changes</h2>"
        if changes.isEmpty {
            body += "<p class=\"muted\">none recorded</p>"
        } else {
            body += "<table><thead><tr><th>Received</th><th>Kind</th><th>Value</th></tr></thead><tbody>"
            for change in changes {
                let value: String
                switch change.kind {
                case .availability:
                    value = "<span class=\"badge \(HTML.escape(change.value))\">\(HTML.escape(change.value))</span>"
                case .state:
                    // The retained document changes on every transition (uptime, counts): show
                    // what matters and keep the whole JSON in a tooltip.
                    let fields = StateFields(json: change.value)
                    value = "<span title=\"\(HTML.escape(change.value))\">\(HTML.escape(fields.state ?? "?"))"
                        + (fields.faultReason.map { " — \(HTML.escape($0))" } ?? "") + "</span>"
                }
                body += "<tr><td>\(HTML.escape(RFC3339.format(change.at)))</td><td>\(change.kind.rawValue)</td><td>\(value)</td></tr>"
            }
            body += "</tbody></table>"
        }
        let id = HTML.pathComponent(bin.binID)
        body += "<p class=\"muted\">JSON: <a href=\"/api/events?bin=\(id)&amp;limit=100\">recent events</a>,"
            + " <a href=\"/api/alerts?bin=\(id)\">alerts</a>, <a href=\"/api/fill?bin=\(id)\">fill history</a></p>"
        return HTML.page(title: "Bin \(bin.binID) — SmartBin", body: body)
    }

    /// Colour of a fill status (the fleet page's bars use the same).
    static func fillColor(_ status: String) -> String {
        switch status {
        case "full": return "#b03a2e"
        case "nearly_full": return "#d68910"
        default: return "#2e8b57"
        }
    }

    /// "Fill levels": each compartment's current fill, its open alerts and its history as a
    /// line chart (0–100 %), coloured by its current status.
    static func fillSection(bin: BinSummary, history: [FillSample], percent: (Double) -> String,
                            timeFormat: @escaping (Double) -> String) -> String {
        let current = bin.fill
        let compartments = Set(current.keys).union(history.map(\.compartment)).sorted()
        guard !compartments.isEmpty else { return "" }
        let byCompartment = Dictionary(grouping: history, by: \.compartment)
        var html = "<h2>Fill levels</h2>"
        if !bin.openAlerts.isEmpty {
            html += "<p class=\"kv\">open alerts: " + bin.openAlerts.map { alert in
                "<span class=\"fillstatus \(HTML.escape(alert.kind.rawValue))\">\(HTML.escape(alert.compartment)) "
                    + "\(HTML.escape(alert.kind.rawValue)) \(percent(alert.level)) since \(HTML.escape(RFC3339.format(alert.timestamp)))</span>"
            }.joined(separator: " ") + "</p>"
        }
        html += "<div class=\"grid\">"
        for compartment in compartments {
            let samples = byCompartment[compartment] ?? []
            let status = current[compartment]?.status ?? samples.last?.status ?? "ok"
            let level = current[compartment]?.level ?? samples.last?.level
            let title = "Fill: \(compartment)" + (level.map { " — \(percent($0)) (\(status))" } ?? "")
            let chart = SVGChart.lines([
                .init(name: "level", color: fillColor(status), points: samples.map { ($0.timestamp, $0.level) }),
            ], title: title, yFormat: percent, xFormat: timeFormat, yMax: 1)
            html += "<div class=\"card\" data-compartment=\"\(HTML.escape(compartment))\">\(chart)</div>"
        }
        return html + "</div>"
    }
}
