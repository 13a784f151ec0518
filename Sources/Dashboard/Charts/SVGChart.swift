import Foundation

/// Tiny server-side SVG charts: bars and lines with axes, labels and a title, sized by
/// `viewBox` so they scale with the page. No scripts, no external resources.
public enum SVGChart {
    /// One bar.
    public struct Bar: Sendable, Hashable {
        public var label: String
        public var value: Double
        public init(_ label: String, _ value: Double) {
            self.label = label
            self.value = value
        }
    }

    /// One line: points in data units, drawn in `color` (any CSS colour).
    public struct Series: Sendable {
        public var name: String
        public var color: String
        public var points: [(x: Double, y: Double)]
        public init(name: String, color: String, points: [(x: Double, y: Double)]) {
            self.name = name
            self.color = color
            self.points = points
        }
    }

    static let width = 480.0
    static let height = 240.0
    static let margin = (left: 48.0, right: 12.0, top: 28.0, bottom: 44.0)

    /// A vertical bar chart; each bar is labelled below and its value printed above it.
    /// - Parameter format: how values are printed (integers by default).
    public static func bars(_ bars: [Bar], title: String, color: String = "#2f7d5b",
                            format: (Double) -> String = { String(Int($0.rounded())) }) -> String {
        var svg = open(title: title)
        guard !bars.isEmpty else { return svg + empty() + "</svg>" }
        let maxValue = niceCeiling(bars.map(\.value).max() ?? 0, integral: true)
        svg += axes(yMax: maxValue, yFormat: format)
        let plotWidth = width - margin.left - margin.right
        let slot = plotWidth / Double(bars.count)
        let barWidth = max(2, slot * 0.7)
        for (index, bar) in bars.enumerated() {
            let h = maxValue > 0 ? bar.value / maxValue * plotHeight : 0
            let x = margin.left + Double(index) * slot + (slot - barWidth) / 2
            let y = margin.top + plotHeight - h
            svg += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(barWidth))\" height=\"\(f(h))\" fill=\"\(escape(color))\">"
                + "<title>\(escape(bar.label)): \(escape(format(bar.value)))</title></rect>"
            if bars.count <= 24 {
                svg += "<text x=\"\(f(x + barWidth / 2))\" y=\"\(f(y - 3))\" text-anchor=\"middle\" class=\"v\">\(escape(format(bar.value)))</text>"
            }
            let labelX = x + barWidth / 2, labelY = margin.top + plotHeight + 14
            if bars.count <= 12 {
                svg += "<text x=\"\(f(labelX))\" y=\"\(f(labelY))\" text-anchor=\"middle\">\(escape(bar.label))</text>"
            } else if index % max(1, bars.count / 12) == 0 {
                svg += "<text x=\"\(f(labelX))\" y=\"\(f(labelY))\" text-anchor=\"end\" transform=\"rotate(-35 \(f(labelX)) \(f(labelY)))\">\(escape(bar.label))</text>"
            }
        }
        return svg + "</svg>"
    }

    /// A line chart with a legend; `xFormat` labels the x axis (e.g. a time of day).
    /// - Parameter yMax: the top of the y axis (a round ceiling of the data when nil).
    public static func lines(_ series: [Series], title: String, yFormat: (Double) -> String,
                             xFormat: (Double) -> String, yMax: Double? = nil) -> String {
        var svg = open(title: title)
        let all = series.flatMap(\.points)
        guard let minX = all.map(\.x).min(), let maxX = all.map(\.x).max() else {
            return svg + empty() + "</svg>"
        }
        let maxY = yMax ?? niceCeiling(all.map(\.y).max() ?? 0)
        svg += axes(yMax: maxY, yFormat: yFormat)
        let plotWidth = width - margin.left - margin.right
        let spanX = maxX > minX ? maxX - minX : 1
        func px(_ x: Double) -> Double { margin.left + (maxX > minX ? (x - minX) / spanX * plotWidth : plotWidth / 2) }
        func py(_ y: Double) -> Double { margin.top + plotHeight - (maxY > 0 ? y / maxY * plotHeight : 0) }
        for tick in 0...3 {
            let x = minX + spanX * Double(tick) / 3
            if maxX == minX && tick > 0 { break }
            let anchor = tick == 0 ? "start" : tick == 3 ? "end" : "middle"
            svg += "<text x=\"\(f(px(x)))\" y=\"\(f(margin.top + plotHeight + 14))\" text-anchor=\"\(anchor)\">\(escape(xFormat(x)))</text>"
        }
        for (index, line) in series.enumerated() {
            let points = line.points.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ")
            svg += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(escape(line.color))\" stroke-width=\"2\"/>"
            for point in line.points {
                svg += "<circle cx=\"\(f(px(point.x)))\" cy=\"\(f(py(point.y)))\" r=\"2.5\" fill=\"\(escape(line.color))\">"
                    + "<title>\(escape(line.name)) \(escape(xFormat(point.x))): \(escape(yFormat(point.y)))</title></circle>"
            }
            let legendX = margin.left + 8 + Double(index) * 90
            svg += "<rect x=\"\(f(legendX))\" y=\"\(f(height - 14))\" width=\"10\" height=\"10\" fill=\"\(escape(line.color))\"/>"
                + "<text x=\"\(f(legendX + 14))\" y=\"\(f(height - 5))\">\(escape(line.name))</text>"
        }
        return svg + "</svg>"
    }

    // MARK: Helpers

    static var plotHeight: Double { height - margin.top - margin.bottom }

    private static func open(title: String) -> String {
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 \(f(width)) \(f(height))\" class=\"chart\" role=\"img\" aria-label=\"\(escape(title))\">"
            + "<style>text{font:11px sans-serif;fill:#333}.t{font:bold 13px sans-serif}.v{font-size:10px;fill:#555}</style>"
            + "<text x=\"\(f(margin.left))\" y=\"16\" class=\"t\">\(escape(title))</text>"
    }

    private static func empty() -> String {
        "<text x=\"\(f(width / 2))\" y=\"\(f(height / 2))\" text-anchor=\"middle\">no data yet</text>"
    }

    private static func axes(yMax: Double, yFormat: (Double) -> String) -> String {
        var svg = ""
        let bottom = margin.top + plotHeight
        for tick in 0...4 {
            let value = yMax * Double(tick) / 4
            let y = bottom - plotHeight * Double(tick) / 4
            svg += "<line x1=\"\(f(margin.left))\" y1=\"\(f(y))\" x2=\"\(f(width - margin.right))\" y2=\"\(f(y))\" stroke=\"#ddd\"/>"
                + "<text x=\"\(f(margin.left - 4))\" y=\"\(f(y + 4))\" text-anchor=\"end\">\(escape(yFormat(value)))</text>"
        }
        svg += "<line x1=\"\(f(margin.left))\" y1=\"\(f(margin.top))\" x2=\"\(f(margin.left))\" y2=\"\(f(bottom))\" stroke=\"#888\"/>"
        return svg
    }

    /// The top of the y axis: four equal steps of a round size (1, 1.5, 2, 2.5, 3, 4, 5, 6 or
    /// 8 × 10ⁿ) reaching at least `value`; whole-number steps when `integral` (counts).
    static func niceCeiling(_ value: Double, integral: Bool = false) -> Double {
        guard value > 0, value.isFinite else { return integral ? 4 : 1 }
        let rawStep = value / 4
        let magnitude = pow(10, floor(log10(rawStep)))
        var step = 10 * magnitude
        for factor in [1.0, 1.5, 2, 2.5, 3, 4, 5, 6, 8] where factor * magnitude >= rawStep * (1 - 1e-12) {
            step = factor * magnitude
            break
        }
        if integral { step = max(1, step.rounded(.up)) }
        return 4 * step
    }

    /// Coordinates with at most one decimal.
    static func f(_ value: Double) -> String {
        let rounded = (value * 10).rounded() / 10
        return rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)
    }

    static func escape(_ text: String) -> String { HTML.escape(text) }
}
