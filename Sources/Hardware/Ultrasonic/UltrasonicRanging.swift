#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// HC-SR04 timing maths on recorded echo edges (pure; the adapter only records the edges).
///
/// The sensor answers a 10 µs trigger pulse with an echo pulse whose width is the round trip of
/// the sound: distance = width × c / 2. Its datasheet range is 2–400 cm; with nothing in range it
/// holds echo high for about 38 ms.
public struct UltrasonicRanging: Sendable, Hashable {
    /// One ping's outcome.
    public enum Reading: Sendable, Hashable {
        /// An in-range distance in centimetres.
        case distance(centimetres: Double)
        /// An echo shorter than the minimum range (closer than 2 cm, or noise); the measured cm.
        case tooClose(centimetres: Double)
        /// An echo longer than the maximum range (no object, or the 38 ms "nothing" pulse).
        case tooFar(centimetres: Double)
        /// No complete echo pulse before the timeout (sensor unplugged, echo wired wrong).
        case noEcho

        /// The in-range distance, if this is one.
        public var centimetres: Double? {
            if case .distance(let value) = self { return value }
            return nil
        }
    }

    /// Air temperature in °C; sets the speed of sound.
    public var temperatureCelsius: Double
    /// Readings below this are `tooClose` (datasheet 2 cm).
    public var minimumCentimetres: Double
    /// Readings above this are `tooFar` (datasheet 400 cm).
    public var maximumCentimetres: Double
    /// How long after the trigger an echo may take to finish before the ping is `noEcho`.
    public var echoTimeout: Duration

    public init(temperatureCelsius: Double = 20, minimumCentimetres: Double = 2,
                maximumCentimetres: Double = 400, echoTimeout: Duration = .milliseconds(60)) {
        self.temperatureCelsius = temperatureCelsius
        self.minimumCentimetres = minimumCentimetres
        self.maximumCentimetres = maximumCentimetres
        self.echoTimeout = echoTimeout
    }

    /// Speed of sound in dry air, m/s: 331.3 × √(1 + T/273.15) (≈ 343.2 m/s at 20 °C).
    public var speedOfSound: Double { 331.3 * (1 + temperatureCelsius / 273.15).squareRoot() }

    /// The first complete echo pulse in `edges`: a rising edge at or after `trigger` followed by a
    /// falling edge, both before `trigger + echoTimeout`. Returns its width.
    /// - Parameters:
    ///   - edges: the echo line's edges in kernel-timestamp order.
    ///   - trigger: when the trigger pulse ended (same clock); `nil` accepts any rising edge.
    public func echoWidth(in edges: [GPIOEdge], trigger: Duration?) -> Duration? {
        var rise: Duration?
        for edge in edges {
            if let trigger, edge.timestamp < trigger { continue }
            if let trigger, edge.timestamp > trigger + echoTimeout { break }
            switch edge.kind {
            case .rising: rise = rise ?? edge.timestamp
            case .falling: if let start = rise { return edge.timestamp - start }
            }
        }
        return nil
    }

    /// Distance for an echo of `width`, classified against the range limits.
    public func reading(echoWidth width: Duration) -> Reading {
        let seconds = Double(width.components.seconds) + Double(width.components.attoseconds) * 1e-18
        let centimetres = seconds * speedOfSound / 2 * 100
        if centimetres < minimumCentimetres { return .tooClose(centimetres: centimetres) }
        if centimetres > maximumCentimetres { return .tooFar(centimetres: centimetres) }
        return .distance(centimetres: centimetres)
    }

    /// The reading of one ping from its recorded echo edges.
    public func reading(edges: [GPIOEdge], trigger: Duration?) -> Reading {
        guard let width = echoWidth(in: edges, trigger: trigger) else { return .noEcho }
        return reading(echoWidth: width)
    }

    /// Combines N pings: the median of the in-range distances when at least `quorum` pings were in
    /// range (default: more than half), else the most common failure (`tooFar` before `tooClose`
    /// before `noEcho` on a tie), carrying the median of its measured values.
    public func median(of readings: [Reading], quorum: Int? = nil) -> Reading {
        let needed = quorum ?? (readings.count / 2 + 1)
        let distances = readings.compactMap(\.centimetres)
        if !distances.isEmpty && distances.count >= needed {
            return .distance(centimetres: Self.median(distances))
        }
        var far: [Double] = [], close: [Double] = [], none = 0
        for reading in readings {
            switch reading {
            case .tooFar(let value): far.append(value)
            case .tooClose(let value): close.append(value)
            case .noEcho: none += 1
            case .distance: break
            }
        }
        let best = max(far.count, close.count, none)
        if best == 0 { return distances.isEmpty ? .noEcho : .distance(centimetres: Self.median(distances)) }
        if far.count == best { return .tooFar(centimetres: Self.median(far)) }
        if close.count == best { return .tooClose(centimetres: Self.median(close)) }
        return .noEcho
    }

    /// Median of a non-empty list (mean of the middle two for an even count).
    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        let middle = sorted.count / 2
        return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
    }
}
