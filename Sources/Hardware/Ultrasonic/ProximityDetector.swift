/// Turns a series of distance readings into "something arrived" edges, with hysteresis (pure).
///
/// The state becomes *near* when a reading is closer than `threshold` (a `tooClose` reading counts
/// as near: something is right at the sensor), and *far* again only beyond `threshold + hysteresis`
/// or on `tooFar`. `noEcho` changes nothing. Only far → near is reported.
public struct ProximityDetector: Sendable, Hashable {
    /// Distance in cm under which an item counts as present.
    public var thresholdCentimetres: Double
    /// Extra distance in cm before the item counts as gone.
    public var hysteresisCentimetres: Double
    public private(set) var isNear = false

    public init(thresholdCentimetres: Double, hysteresisCentimetres: Double = 3) {
        self.thresholdCentimetres = thresholdCentimetres
        self.hysteresisCentimetres = hysteresisCentimetres
    }

    /// Feeds one (median) reading; returns true when it is a new arrival.
    public mutating func update(_ reading: UltrasonicRanging.Reading) -> Bool {
        let near: Bool?
        switch reading {
        case .distance(let cm):
            near = cm < thresholdCentimetres ? true : (cm > thresholdCentimetres + hysteresisCentimetres ? false : nil)
        case .tooClose: near = true
        case .tooFar: near = false
        case .noEcho: near = nil
        }
        guard let near else { return false }
        defer { isNear = near }
        return near && !isNear
    }
}
