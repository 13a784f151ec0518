import Dashboard
import Testing

@Suite struct ChartTests {
    @Test func statisticsSplitRoutesConfidenceAndLatency() {
        var points: [EventPoint] = []
        for i in 0..<10 {
            let glass = i < 7
            let confidence = Double(i) / 10 + 0.05
            let total = Double(100 + i * 10)
            points.append(EventPoint(timestamp: Double(i), label: glass ? "glass" : "trash",
                                     route: glass ? "recyclable" : "other", fallback: i >= 8,
                                     confidence: confidence, totalMS: total))
        }
        let stats = BinStatistics(points, windows: 5)
        #expect(stats.classCounts.map { $0.label } == ["glass", "trash"])
        #expect(stats.routeCounts.map { $0.count } == [7, 3])
        #expect(stats.confidenceHistogram == Array(repeating: 1, count: 10))
        #expect(stats.fallbackRate == 0.2)
        #expect(stats.p50MS == 140 && stats.p90MS == 180)
        #expect(stats.windows.count == 5 && stats.windows.reduce(0) { $0 + $1.events } == 10)
    }

    @Test func percentileIsNearestRank() {
        #expect(BinStatistics.percentile([], 0.5) == 0)
        #expect(BinStatistics.percentile([1, 2, 3, 4], 0.5) == 2)
        #expect(BinStatistics.percentile([1, 2, 3, 4], 0.9) == 4)
    }

    @Test func chartsAreSelfContainedSVGWithEscapedLabels() {
        let bars = SVGChart.bars([.init("<glass>", 3), .init("paper", 1)], title: "Class & route")
        #expect(bars.hasPrefix("<svg") && bars.hasSuffix("</svg>"))
        #expect(bars.contains("&lt;glass&gt;") && bars.contains("Class &amp; route"))
        #expect(bars.components(separatedBy: "<rect").count - 1 == 2)
        let empty = SVGChart.lines([], title: "Latency", yFormat: { "\($0)" }, xFormat: { "\($0)" })
        #expect(empty.contains("no data yet"))
        let lines = SVGChart.lines([.init(name: "p50", color: "#000", points: [(0, 1), (10, 2)])],
                                   title: "Latency", yFormat: { "\($0)" }, xFormat: { "\($0)" })
        #expect(lines.contains("<polyline"))
    }
}
