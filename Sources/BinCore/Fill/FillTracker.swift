/// Per-compartment fill estimates and threshold alerts with hysteresis (pure, a value).
///
/// A compartment's level is the larger of two estimates, each optional: items routed since it was
/// last emptied ÷ its capacity (capped at 1), and the latest sensor reading. Each threshold
/// (`nearly_full`, then `full`) alerts once when the level reaches it and is re-armed only when
/// the level falls `rearmMargin` below it or the compartment is emptied. Emptying (button,
/// command, or a sensor reading at least `emptiedDrop` below the previous one) resets the count,
/// forgets the sensor reading until the next one, re-arms both thresholds and raises `emptied`.
public struct FillTracker: Sendable, Hashable {
    public let config: FillConfig
    /// Every compartment (the flap's angles), sorted.
    public let compartments: [String]

    private var records: [String: FillRecord]
    private var measured: [String: Double] = [:]
    private var refused: [String: Int] = [:]
    private var diverted: [String: Int] = [:]

    /// Tolerance for comparing levels with thresholds (19 of 20 items is 0.95 exactly).
    static let epsilon = 1e-9

    /// - Parameter restored: records carried over from a previous run (unknown compartments are dropped).
    public init(config: FillConfig, compartments: some Sequence<String>, restored: [String: FillRecord] = [:]) {
        self.config = config
        self.compartments = Set(compartments).sorted()
        var records: [String: FillRecord] = [:]
        for name in self.compartments { records[name] = restored[name] ?? FillRecord() }
        self.records = records
    }

    // MARK: Observation

    /// The records to persist.
    public var persistent: [String: FillRecord] { records }

    /// The level of `compartment` and the source it came from (nil: nothing tracks it).
    public func level(of compartment: String) -> (level: Double, source: FillSource)? {
        var best: (Double, FillSource)?
        if let capacity = config.capacity(of: compartment) {
            let items = records[compartment]?.items ?? 0
            best = (min(1, Double(items) / Double(capacity)), .count)
        }
        if let sensor = measured[compartment], best.map({ sensor > $0.0 }) ?? true {
            best = (sensor, .sensor)
        }
        return best.map { (level: $0.0, source: $0.1) }
    }

    /// True when the compartment is at or above the `full` threshold.
    public func isFull(_ compartment: String) -> Bool {
        guard let level = level(of: compartment)?.level else { return false }
        return level + Self.epsilon >= config.full
    }

    /// Every compartment's fill for the status document.
    public var view: [String: CompartmentFill] {
        var result: [String: CompartmentFill] = [:]
        for name in compartments {
            let level = level(of: name)?.level ?? 0
            let status = level + Self.epsilon >= config.full ? "full"
                : level + Self.epsilon >= config.nearlyFull ? "nearly_full" : "ok"
            result[name] = CompartmentFill(level: level, items: records[name]?.items ?? 0,
                                           capacity: config.capacity(of: name), measuredLevel: measured[name],
                                           status: status, refused: refused[name, default: 0],
                                           diverted: diverted[name, default: 0])
        }
        return result
    }

    // MARK: Changes

    /// One item went into `compartment`.
    /// - Returns: the threshold alerts it raised (in threshold order).
    public mutating func itemRouted(to compartment: String) -> [FillAlert] {
        guard records[compartment] != nil else { return [] }
        records[compartment]!.items += 1
        return evaluate(compartment)
    }

    /// A sensor reading of `compartment`'s level (0...1, clamped). A drop of at least
    /// `emptiedDrop` from the previous reading counts as an emptying.
    /// - Returns: `emptied` and/or threshold alerts.
    public mutating func measured(_ compartment: String, level raw: Double) -> [FillAlert] {
        guard records[compartment] != nil else { return [] }
        let level = min(1, max(0, raw))
        var alerts: [FillAlert] = []
        if let previous = measured[compartment], previous - level + Self.epsilon >= config.emptiedDrop {
            alerts += emptied(compartment, source: .sensor).map { [$0] } ?? []
        }
        measured[compartment] = level
        return alerts + evaluate(compartment)
    }

    /// `compartment` was emptied: count reset, sensor reading forgotten, thresholds re-armed.
    /// - Returns: the `emptied` alert (nil for an unknown compartment).
    public mutating func emptied(_ compartment: String, source: FillSource) -> FillAlert? {
        guard records[compartment] != nil else { return nil }
        let before = level(of: compartment)?.level ?? 0
        let items = records[compartment]?.items ?? 0
        records[compartment] = FillRecord()
        measured[compartment] = nil
        refused[compartment] = nil
        diverted[compartment] = nil
        return FillAlert(compartment: compartment, kind: .emptied, level: level(of: compartment)?.level ?? 0,
                         source: source, items: items, capacity: config.capacity(of: compartment),
                         previousLevel: before)
    }

    /// Counts an item refused because `compartment` is full.
    public mutating func noteRefused(_ compartment: String) { refused[compartment, default: 0] += 1 }

    /// Counts an item diverted to the fallback because `compartment` is full.
    public mutating func noteDiverted(_ compartment: String) { diverted[compartment, default: 0] += 1 }

    /// Raises the thresholds newly reached and re-arms those the level fell well below.
    private mutating func evaluate(_ compartment: String) -> [FillAlert] {
        guard let (level, source) = level(of: compartment), var record = records[compartment] else { return [] }
        var alerts: [FillAlert] = []
        for kind in [FillAlertKind.nearlyFull, .full] {
            guard let threshold = config.threshold(kind) else { continue }
            if level + Self.epsilon >= threshold {
                if record.alerted.insert(kind).inserted {
                    alerts.append(FillAlert(compartment: compartment, kind: kind, level: level, source: source,
                                            items: record.items, capacity: config.capacity(of: compartment)))
                }
            } else if level + Self.epsilon < threshold - config.rearmMargin {
                record.alerted.remove(kind)
            }
        }
        records[compartment] = record
        return alerts
    }
}
