/// Turns an HC-SR04 reading from above a compartment into a fill level, 0...1 (pure).
///
/// The sensor looks down into the compartment: with it empty the echo comes from the floor at
/// `emptyCentimetres`; full means the contents reach `fullCentimetres` below the sensor (keep
/// it above the sensor's 2 cm minimum range). In between the level is linear in the distance.
/// One reading is the median of several pings (`UltrasonicRanging.median`), the same timing
/// maths as the proximity trigger.
public struct FillGauge: Sendable, Hashable {
    /// Distance from the sensor to the empty compartment's floor, cm.
    public var emptyCentimetres: Double
    /// Distance from the sensor to the contents of a full compartment, cm.
    public var fullCentimetres: Double
    public var ranging: UltrasonicRanging

    public init(emptyCentimetres: Double, fullCentimetres: Double, ranging: UltrasonicRanging = UltrasonicRanging()) {
        self.emptyCentimetres = emptyCentimetres
        self.fullCentimetres = fullCentimetres
        self.ranging = ranging
    }

    /// The level for one (median) reading: linear between the empty and full distances, clamped
    /// to 0...1. `tooClose` is full (contents right under the sensor); `tooFar` and `noEcho` give
    /// nil (no trustworthy reading: keep the previous level).
    public func level(_ reading: UltrasonicRanging.Reading) -> Double? {
        switch reading {
        case .distance(let cm):
            let span = emptyCentimetres - fullCentimetres
            guard span > 0 else { return nil }
            return min(1, max(0, (emptyCentimetres - cm) / span))
        case .tooClose: return 1
        case .tooFar, .noEcho: return nil
        }
    }

    /// The level for a burst of pings, each given as its echo edges and trigger time.
    public func level(pings: [(edges: [GPIOEdge], trigger: Duration?)]) -> Double? {
        level(ranging.median(of: pings.map { ranging.reading(edges: $0.edges, trigger: $0.trigger) }))
    }

    /// Checks the geometry.
    /// - Throws: `HardwareError` naming the keys when full is not above empty, or within the
    ///   sensor's minimum range.
    public func validate(_ what: String) throws(HardwareError) {
        guard fullCentimetres < emptyCentimetres, fullCentimetres >= ranging.minimumCentimetres else {
            throw HardwareError(.profile, "\(what): full_cm (\(fullCentimetres)) must be below empty_cm (\(emptyCentimetres)) and at least \(ranging.minimumCentimetres) cm")
        }
    }
}
