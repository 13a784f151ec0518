/// Everything the controller's state machine needs to know about timing, routing and recovery.
///
/// Keys (as the app's TOML loader maps them; all optional, defaults in brackets):
/// - `timing.debounce` (duration) [50ms]: edges closer than this to the last accepted edge are bounces.
/// - `timing.settle` (duration) [300ms]: wait after a trigger before capturing, so the item lies still.
/// - `timing.dwell` (duration) [800ms]: time the flap stays at the compartment angle.
/// - `timeouts.capture` / `timeouts.classify` / `timeouts.actuate` / `timeouts.record` (duration)
///   [2s / 5s / 2s / 5s]: how long each hardware wait may take before the bin goes to `fault`
///   (`record` is the wait for the event to become durable; exceeding it is logged, not a fault).
/// - `routing.confidence_threshold` (0...1) [0.6]: below it an item goes to the fallback bin.
/// - `routing.fallback_bin` (string) [`other`].
/// - `retry.max_attempts` (int) [3], `retry.initial_backoff` [1s], `retry.multiplier` [2.0],
///   `retry.max_backoff` [30s]: recovery from `fault`.
/// - `flap.home_degrees` (double) [0], `flap.angles` (table bin → degrees): from the board profile.
/// - `triggers.start` (list of `open`, `close`, `beam`, `proximity`) [open, beam, proximity].
/// - `fill.*`: fill estimates, alert thresholds and the full-compartment policy (see `FillConfig`).
public struct BinConfig: Sendable, Hashable {
    public var timing: Timing
    public var timeouts: Timeouts
    public var routing: Routing
    public var retry: RetryPolicy
    public var flap: FlapProfile
    public var triggers: Triggers
    public var fill: FillConfig

    public init(timing: Timing = Timing(), timeouts: Timeouts = Timeouts(),
                routing: Routing = Routing(), retry: RetryPolicy = RetryPolicy(),
                flap: FlapProfile = FlapProfile(), triggers: Triggers = Triggers(),
                fill: FillConfig = FillConfig()) {
        self.timing = timing
        self.timeouts = timeouts
        self.routing = routing
        self.retry = retry
        self.flap = flap
        self.triggers = triggers
        self.fill = fill
    }

    /// Debounce, settle and dwell times.
    public struct Timing: Sendable, Hashable {
        public var debounce: Duration
        public var settle: Duration
        public var dwell: Duration

        public init(debounce: Duration = .milliseconds(50), settle: Duration = .milliseconds(300),
                    dwell: Duration = .milliseconds(800)) {
            self.debounce = debounce
            self.settle = settle
            self.dwell = dwell
        }
    }

    /// How long each wait on hardware may last.
    public struct Timeouts: Sendable, Hashable {
        public var capture: Duration
        public var classify: Duration
        public var actuate: Duration
        public var record: Duration

        public init(capture: Duration = .seconds(2), classify: Duration = .seconds(5),
                    actuate: Duration = .seconds(2), record: Duration = .seconds(5)) {
            self.capture = capture
            self.classify = classify
            self.actuate = actuate
            self.record = record
        }
    }

    /// The routing decision's knobs.
    public struct Routing: Sendable, Hashable {
        /// Items whose top-1 confidence is below this go to the fallback bin.
        public var confidenceThreshold: Double
        /// Compartment for low-confidence and unmapped items; must have a flap angle.
        public var fallbackBin: String

        public init(confidenceThreshold: Double = 0.6, fallbackBin: String = "other") {
            self.confidenceThreshold = confidenceThreshold
            self.fallbackBin = fallbackBin
        }
    }

    /// The flap's angles, from the board profile.
    public struct FlapProfile: Sendable, Hashable {
        /// The home (safe) position, where the flap rests between items and on shutdown.
        public var homeDegrees: Double
        /// Compartment name → flap angle in degrees.
        public var angles: [String: Double]

        public init(homeDegrees: Double = 0, angles: [String: Double] = [:]) {
            self.homeDegrees = homeDegrees
            self.angles = angles
        }
    }

    /// Which trigger edges start a cycle (others are logged and otherwise ignored).
    public struct Triggers: Sendable, Hashable {
        public var start: Set<TriggerKind>

        public init(start: Set<TriggerKind> = [.lidOpened, .beamBroken, .proximity]) {
            self.start = start
        }
    }

    /// Checks the values against each other and against the label map.
    /// - Throws: `BinCoreError.invalidConfig` naming the key at fault.
    public func validate(against map: LabelMap) throws(BinCoreError) {
        guard (0...1).contains(routing.confidenceThreshold) else {
            throw BinCoreError(.invalidConfig,
                               "routing.confidence_threshold must be within 0...1, got \(routing.confidenceThreshold)")
        }
        guard flap.angles[routing.fallbackBin] != nil else {
            throw BinCoreError(.invalidConfig,
                               "routing.fallback_bin '\(routing.fallbackBin)' has no angle in flap.angles (have: \(flap.angles.keys.sorted().joined(separator: ", ")))")
        }
        let zero = Duration.zero
        for (key, value) in [("timing.debounce", timing.debounce), ("timing.settle", timing.settle),
                             ("timing.dwell", timing.dwell)] where value < zero {
            throw BinCoreError(.invalidConfig, "\(key) must not be negative")
        }
        for (key, value) in [("timeouts.capture", timeouts.capture), ("timeouts.classify", timeouts.classify),
                             ("timeouts.actuate", timeouts.actuate), ("timeouts.record", timeouts.record)]
        where value <= zero {
            throw BinCoreError(.invalidConfig, "\(key) must be positive")
        }
        try retry.validate()
        try fill.validate(compartments: Set(flap.angles.keys))
        _ = map
    }
}
