/// One compartment's ultrasonic fill sensor as logic (pure): each burst of pings in, the level to
/// report and what to log out.
///
/// - A reading is the median of the burst's pings (`UltrasonicRanging.median`), turned into a
///   level by the `FillGauge`.
/// - A reading more than `jumpTolerance` away from the last reported level is held back until the
///   next reading agrees with it (within `jumpTolerance`): a single stray echo — a hand, the flap
///   swinging under the sensor — never reaches the fill tracking, where a sharp drop counts as an
///   emptying. A real emptying is reported one reading later.
/// - A burst without a trustworthy reading (no echo, or beyond the sensor's range) reports
///   nothing, so the last level stands. The first failure of a kind is logged as a warning naming
///   the compartment and the lines; repeats of it are only counted, and the recovery is logged
///   with that count.
public struct FillSensorChannel: Sendable, Hashable {
    /// A line for the log; the adapter adds the compartment and lines as metadata.
    public struct LogLine: Sendable, Hashable {
        public enum Severity: String, Sendable, Hashable { case debug, notice, warning, error }
        public var severity: Severity
        public var message: String

        public init(_ severity: Severity, _ message: String) {
            self.severity = severity
            self.message = message
        }
    }

    /// What one burst of pings produced.
    public struct Outcome: Sendable, Hashable {
        /// The level to feed into the fill tracking, 0...1 (nil: nothing to report).
        public var level: Double?
        public var log: LogLine?
    }

    public let compartment: String
    /// `chip:trigger/echo`, for messages.
    public let lines: String
    public let gauge: FillGauge
    /// How far (0...1) a reading may move from the last reported level before it needs a second
    /// reading to confirm it.
    public let jumpTolerance: Double

    /// The level reported last (nil before the first reading).
    public private(set) var reported: Double?
    private var candidate: Double?
    private var failure: String?
    private var failedReadings = 0

    public init(compartment: String, lines: String, gauge: FillGauge, jumpTolerance: Double = 0.1) {
        self.compartment = compartment
        self.lines = lines
        self.gauge = gauge
        self.jumpTolerance = jumpTolerance
    }

    /// The name used in messages: `fill sensor other (pinctrl-rp1:5/6)`.
    public var name: String { "fill sensor \(compartment) (\(lines))" }

    /// Takes one burst of pings.
    public mutating func update(_ pings: [EchoPing]) -> Outcome {
        let readings = pings.map { $0.reading(gauge.ranging) }
        let median = gauge.ranging.median(of: readings)
        guard let level = gauge.level(median) else {
            let (kind, message) = describe(median, readings: readings)
            return failed(kind: kind, message)
        }
        var log: LogLine?
        if let failure {
            log = LogLine(.notice, "\(name) reads again (\(percent(level))) after \(failedReadings) failed reading(s): \(failure)")
            self.failure = nil
            failedReadings = 0
        }
        if let reported, abs(level - reported) > jumpTolerance + 1e-9 {
            if let candidate, abs(level - candidate) <= jumpTolerance + 1e-9 {
                return report(level, log)
            }
            candidate = level
            return Outcome(level: nil, log: log ?? LogLine(.debug, "\(name): \(percent(level)) is a jump from \(percent(reported)); waiting for the next reading to confirm it"))
        }
        return report(level, log)
    }

    /// A failure that is not about the echo: the lines could not be requested or a GPIO call
    /// failed (`error` names the call). Logged like a failed reading.
    public mutating func hardwareFailed(_ error: String) -> Outcome {
        failed(kind: error, error, severity: .error)
    }

    private mutating func report(_ level: Double, _ log: LogLine?) -> Outcome {
        reported = level
        candidate = nil
        return Outcome(level: level, log: log)
    }

    /// Counts a failed reading; logs it when its kind differs from the previous failure's.
    private mutating func failed(kind: String, _ message: String, severity: LogLine.Severity = .warning) -> Outcome {
        failedReadings += 1
        guard failure != kind else { return Outcome(level: nil, log: nil) }
        failure = kind
        let kept = reported.map { "keeping the last level, \(percent($0))" } ?? "no level yet"
        return Outcome(level: nil, log: LogLine(severity, "\(name): \(message); \(kept)"))
    }

    private func percent(_ level: Double) -> String { "\(Int((level * 100).rounded()))%" }

    /// Why a burst gave no level: a kind (for deduplication) and a message, e.g. `no echo in 5
    /// of 5 pings`.
    func describe(_ median: UltrasonicRanging.Reading,
                         readings: [UltrasonicRanging.Reading]) -> (kind: String, message: String) {
        let count = readings.count
        switch median {
        case .noEcho:
            let silent = readings.filter { $0 == .noEcho }.count
            return ("no echo", "no echo in \(silent) of \(count) pings (check the echo wiring and its divider)")
        case .tooFar(let cm):
            let far = readings.filter { if case .tooFar = $0 { true } else { false } }.count
            return ("out of range", "out of range in \(far) of \(count) pings (\(Int(cm.rounded())) cm, beyond the sensor's \(Int(gauge.ranging.maximumCentimetres)) cm)")
        case .tooClose, .distance:
            // FillGauge gives these a level; only a degenerate geometry gets here.
            return ("geometry", "no usable reading (empty_cm must exceed full_cm)")
        }
    }
}
