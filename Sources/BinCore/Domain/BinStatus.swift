/// The retained `smartbin/<fleet>/<bin_id>/state` document: what the bin is doing now.
public struct BinStatus: Sendable, Hashable {
    /// Name of the controller state, e.g. `idle`, `classifying`, `fault`, `maintenance`.
    public var state: String
    /// Why the bin is in `fault` (nil otherwise).
    public var faultReason: String?
    /// Items routed per compartment since start (or since the counts were last reset).
    public var countsPerBin: [String: Int]
    public var model: ModelInfo?
    public var uptimeSeconds: Double
    /// Triggers that arrived while a cycle was running (counted, not routed twice).
    public var triggersDuringCycle: Int

    public init(state: String, faultReason: String? = nil, countsPerBin: [String: Int] = [:],
                model: ModelInfo? = nil, uptimeSeconds: Double = 0, triggersDuringCycle: Int = 0) {
        self.state = state
        self.faultReason = faultReason
        self.countsPerBin = countsPerBin
        self.model = model
        self.uptimeSeconds = uptimeSeconds
        self.triggersDuringCycle = triggersDuringCycle
    }
}
