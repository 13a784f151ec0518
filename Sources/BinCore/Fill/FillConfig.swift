/// How the bin estimates how full each compartment is, when it alerts and what it does with a
/// full compartment.
///
/// Keys (as the app's TOML loader maps them from `[fill]`; all optional, defaults in brackets):
/// - `fill.capacity` (int) [none]: items every compartment holds; enables the count estimate.
/// - `fill.capacities` (table compartment → int) [none]: per-compartment capacities (override
///   `capacity`).
/// - `fill.nearly_full` (0...1) [0.8], `fill.full` (0...1) [0.95]: alert thresholds.
/// - `fill.rearm_margin` (0...1) [0.1]: a threshold alerts again only after the level fell this
///   far below it (or after emptying).
/// - `fill.policy` (`keep_routing`, `fallback`, `refuse`) [keep_routing]: what happens to an
///   item whose compartment is full.
/// - `fill.emptied_drop` (0...1) [0.5]: a measured level falling by at least this much between
///   two readings counts as the compartment being emptied.
public struct FillConfig: Sendable, Hashable {
    /// What to do with an item whose compartment is at or above the `full` threshold.
    public enum FullPolicy: String, Sendable, Hashable, CaseIterable {
        /// Route it anyway (the alerts tell someone to come).
        case keepRouting = "keep_routing"
        /// Route it to `routing.fallback_bin`, flagged `fallback: true`.
        case fallback
        /// Leave the flap home, do not route it; the status says why.
        case refuse
    }

    /// Capacity in items for every compartment without its own entry (nil: no count estimate).
    public var capacity: Int?
    /// Capacity in items per compartment.
    public var capacities: [String: Int]
    public var nearlyFull: Double
    public var full: Double
    public var rearmMargin: Double
    public var policy: FullPolicy
    public var emptiedDrop: Double

    public init(capacity: Int? = nil, capacities: [String: Int] = [:], nearlyFull: Double = 0.8,
                full: Double = 0.95, rearmMargin: Double = 0.1, policy: FullPolicy = .keepRouting,
                emptiedDrop: Double = 0.5) {
        self.capacity = capacity
        self.capacities = capacities
        self.nearlyFull = nearlyFull
        self.full = full
        self.rearmMargin = rearmMargin
        self.policy = policy
        self.emptiedDrop = emptiedDrop
    }

    /// The capacity in items of `compartment`, if the count estimate applies to it.
    public func capacity(of compartment: String) -> Int? { capacities[compartment] ?? capacity }

    /// The threshold of an alert kind (`emptied` has none).
    public func threshold(_ kind: FillAlertKind) -> Double? {
        switch kind {
        case .nearlyFull: nearlyFull
        case .full: full
        case .emptied: nil
        }
    }

    /// Checks ranges and ordering.
    /// - Throws: `BinCoreError.invalidConfig` naming the key at fault.
    public func validate(compartments: Set<String>) throws(BinCoreError) {
        for (key, value) in [("fill.nearly_full", nearlyFull), ("fill.full", full),
                             ("fill.rearm_margin", rearmMargin), ("fill.emptied_drop", emptiedDrop)]
        where !(0...1).contains(value) {
            throw BinCoreError(.invalidConfig, "\(key) must be within 0...1, got \(value)")
        }
        guard nearlyFull <= full else {
            throw BinCoreError(.invalidConfig, "fill.nearly_full (\(nearlyFull)) must not be above fill.full (\(full))")
        }
        if let capacity, capacity < 1 {
            throw BinCoreError(.invalidConfig, "fill.capacity must be at least 1 item, got \(capacity)")
        }
        for (name, value) in capacities.sorted(by: { $0.key < $1.key }) {
            guard value >= 1 else {
                throw BinCoreError(.invalidConfig, "fill.capacities.\(name) must be at least 1 item, got \(value)")
            }
            guard compartments.contains(name) else {
                throw BinCoreError(.invalidConfig, "fill.capacities.\(name): no such compartment (have: \(compartments.sorted().joined(separator: ", ")))")
            }
        }
    }
}

/// What a fill alert on `…/alert` reports.
public enum FillAlertKind: String, Sendable, Hashable, CaseIterable, Codable {
    /// The level reached `fill.nearly_full`.
    case nearlyFull = "nearly_full"
    /// The level reached `fill.full`.
    case full
    /// The compartment was emptied (count reset, thresholds re-armed).
    case emptied
}

/// Where a fill level or an emptying came from.
public enum FillSource: String, Sendable, Hashable, CaseIterable {
    /// Items routed since the last emptying, against the configured capacity.
    case count
    /// The ultrasonic sensor above the compartment.
    case sensor
    /// The compartment's "emptied" push button.
    case button
    /// The `…/cmd/emptied` MQTT command.
    case command
}
