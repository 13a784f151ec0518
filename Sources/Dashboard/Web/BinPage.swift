import Foundation
import Telemetry

/// The bin page (`/bins/<id>`): status, key numbers and server-rendered SVG charts of the
/// bin's recent events (class distribution, routing split, confidence histogram, latency
/// p50/p90 and fallback rate over time), then its recent availability/state changes.
enum BinPage {
    static func render(bin: BinSummary, stats: BinStatistics, changes: [BinChange], now: Double) -> String {
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
        body += "</div><h2>Recent availability and state changes</h2>"
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
        body += "<p class=\"muted\">JSON: <a href=\"/api/events?bin=\(HTML.pathComponent(bin.binID))&amp;limit=100\">recent events</a></p>"
        return HTML.page(title: "Bin \(bin.binID) — SmartBin", body: body)
    }
}
