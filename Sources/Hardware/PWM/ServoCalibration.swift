/// How a hobby servo maps angle to pulse width, and how fast it moves (pure).
public struct ServoCalibration: Sendable, Hashable {
    /// PWM period (20 ms = 50 Hz for analogue hobby servos).
    public var period: Duration
    /// Pulse width at `minDegrees` (e.g. 500 µs).
    public var minPulse: Duration
    /// Pulse width at `maxDegrees` (e.g. 2500 µs).
    public var maxPulse: Duration
    public var minDegrees: Double
    public var maxDegrees: Double
    /// Time the servo takes to turn 60° (datasheet "speed", e.g. 0.2 s/60° for an MG996R at 5 V).
    public var timePer60Degrees: Duration

    public init(period: Duration = .milliseconds(20), minPulse: Duration = .microseconds(500),
                maxPulse: Duration = .microseconds(2500), minDegrees: Double = 0, maxDegrees: Double = 180,
                timePer60Degrees: Duration = .milliseconds(200)) {
        self.period = period
        self.minPulse = minPulse
        self.maxPulse = maxPulse
        self.minDegrees = minDegrees
        self.maxDegrees = maxDegrees
        self.timePer60Degrees = timePer60Degrees
    }

    /// The pulse width for `degrees`, linear between the calibrated ends.
    /// - Throws: `HardwareError.outOfRange` when the angle is outside `minDegrees...maxDegrees`.
    public func pulse(forDegrees degrees: Double) throws(HardwareError) -> Duration {
        guard degrees.isFinite, (minDegrees...maxDegrees).contains(degrees) else {
            throw HardwareError(.outOfRange, "servo angle \(degrees)° is outside the calibrated \(minDegrees)…\(maxDegrees)° (board profile [servo])")
        }
        let fraction = (degrees - minDegrees) / (maxDegrees - minDegrees)
        let nanoseconds = Double(Self.nanoseconds(minPulse)) + fraction * Double(Self.nanoseconds(maxPulse) - Self.nanoseconds(minPulse))
        return .nanoseconds(Int64(nanoseconds.rounded()))
    }

    /// Time to turn from `from` to `to` (the full range when `from` is unknown).
    public func travelTime(from: Double?, to: Double) -> Duration {
        let span = abs(to - (from ?? (to - (maxDegrees - minDegrees))))
        return timePer60Degrees * (span / 60)
    }

    /// Intermediate angles for a slow ramp of `steps` equal steps, ending at `to` (just `[to]`
    /// without a known start or with fewer than 2 steps).
    public func ramp(from: Double?, to: Double, steps: Int) -> [Double] {
        guard let from, steps > 1, from != to else { return [to] }
        return (1...steps).map { from + (to - from) * Double($0) / Double(steps) }
    }

    /// Whole nanoseconds of a duration, as sysfs PWM files take them.
    public static func nanoseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
    }
}
