/// The routing decision: class → compartment (via the label map) → flap angle (via the board
/// profile), with low-confidence and unmapped items sent to the fallback compartment.
public struct BinMap: Sendable, Hashable {
    public var labels: LabelMap
    public var routing: BinConfig.Routing
    public var angles: [String: Double]

    /// - Throws: `BinCoreError.invalidConfig` when the fallback bin has no angle.
    public init(labels: LabelMap, config: BinConfig) throws(BinCoreError) {
        try config.validate(against: labels)
        self.labels = labels
        self.routing = config.routing
        self.angles = config.flap.angles
    }

    /// Compartments named by the label map that the board has no angle for; items of those classes
    /// go to the fallback bin (the app should warn about them at start-up).
    public var unplacedBins: [String] { labels.bins.filter { angles[$0] == nil } }

    /// Decides where a classified item goes.
    ///
    /// The class is looked up by index (by label if the index is outside the map). It goes to the
    /// fallback bin, with `fallback: true`, when its confidence is below the threshold, when the
    /// class is unknown or has no compartment, or when its compartment has no flap angle.
    public func route(_ classification: Classification) -> Route {
        let fallback = Route(bin: routing.fallbackBin, angleDegrees: angles[routing.fallbackBin] ?? 0,
                             fallback: true)
        guard classification.confidence >= routing.confidenceThreshold else { return fallback }
        let entry = labels.entry(at: classification.classIndex) ?? labels.entry(forLabel: classification.label)
        guard let bin = entry?.bin, let angle = angles[bin] else { return fallback }
        return Route(bin: bin, angleDegrees: angle, fallback: false)
    }
}
