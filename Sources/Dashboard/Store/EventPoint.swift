/// The numbers the bin page charts, for one event.
public struct EventPoint: Sendable, Hashable {
    public var timestamp: Double
    public var label: String
    public var route: String
    public var fallback: Bool
    public var confidence: Double
    public var totalMS: Double

    public init(timestamp: Double, label: String, route: String, fallback: Bool, confidence: Double, totalMS: Double) {
        self.timestamp = timestamp
        self.label = label
        self.route = route
        self.fallback = fallback
        self.confidence = confidence
        self.totalMS = totalMS
    }
}
