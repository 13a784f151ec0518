/// What the bin page charts, computed from a bin's recent events.
public struct BinStatistics: Sendable {
    /// One time window of the latency and fallback charts.
    public struct Window: Sendable, Hashable {
        /// Window start, seconds since the epoch.
        public var start: Double
        public var events: Int
        /// Median and 90th percentile of `timing_ms.total`, milliseconds.
        public var p50MS: Double
        public var p90MS: Double
        /// Share of events routed to the fallback bin (0…1).
        public var fallbackRate: Double
    }

    public var events: Int
    /// Events per predicted label, most frequent first.
    public var classCounts: [(label: String, count: Int)]
    /// Events per compartment, most frequent first.
    public var routeCounts: [(route: String, count: Int)]
    /// Events per confidence decile: `[0, 0.1)`, …, `[0.9, 1.0]`.
    public var confidenceHistogram: [Int]
    public var fallbackCount: Int
    public var fallbackRate: Double { events == 0 ? 0 : Double(fallbackCount) / Double(events) }
    public var p50MS: Double
    public var p90MS: Double
    /// Equal time windows over the events' span (at most `windows`), empty windows omitted.
    public var windows: [Window]

    /// - Parameters:
    ///   - points: events, oldest first.
    ///   - windows: how many equal time windows to split their span into.
    public init(_ points: [EventPoint], windows windowCount: Int = 20) {
        events = points.count
        var labels: [String: Int] = [:]
        var routes: [String: Int] = [:]
        var histogram = Array(repeating: 0, count: 10)
        var fallbacks = 0
        for point in points {
            labels[point.label, default: 0] += 1
            routes[point.route, default: 0] += 1
            let decile = point.confidence.isFinite ? Int((point.confidence * 10).rounded(.down)) : 0
            histogram[min(9, max(0, decile))] += 1
            if point.fallback { fallbacks += 1 }
        }
        func sorted(_ counts: [String: Int]) -> [(String, Int)] {
            counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.map { ($0.key, $0.value) }
        }
        classCounts = sorted(labels).map { (label: $0.0, count: $0.1) }
        routeCounts = sorted(routes).map { (route: $0.0, count: $0.1) }
        confidenceHistogram = histogram
        fallbackCount = fallbacks
        let latencies = points.map(\.totalMS).sorted()
        p50MS = Self.percentile(latencies, 0.5)
        p90MS = Self.percentile(latencies, 0.9)

        windows = []
        guard let first = points.first?.timestamp, let last = points.last?.timestamp, windowCount > 0 else { return }
        let span = max(last - first, 1e-3)
        let width = span / Double(windowCount)
        var grouped = Array(repeating: [EventPoint](), count: windowCount)
        for point in points {
            grouped[min(windowCount - 1, max(0, Int((point.timestamp - first) / width)))].append(point)
        }
        for (index, group) in grouped.enumerated() where !group.isEmpty {
            let sortedMS = group.map(\.totalMS).sorted()
            windows.append(Window(start: first + Double(index) * width, events: group.count,
                                  p50MS: Self.percentile(sortedMS, 0.5), p90MS: Self.percentile(sortedMS, 0.9),
                                  fallbackRate: Double(group.filter(\.fallback).count) / Double(group.count)))
        }
    }

    /// Nearest-rank percentile of ascending `values` (0 when empty).
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        guard !values.isEmpty else { return 0 }
        let rank = Int((p * Double(values.count)).rounded(.up))
        return values[min(values.count - 1, max(0, rank - 1))]
    }
}
