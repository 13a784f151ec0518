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
    /// Every compartment's fill (empty when the status predates fill tracking).
    public var fill: [String: CompartmentFill]
    /// The full-compartment policy (`keep_routing`, `fallback`, `refuse`; nil when unknown).
    public var fullPolicy: String?
    /// Why the last item was refused (policy `refuse`), until that compartment is emptied.
    public var refusal: String?
    /// Wall-clock jumps (more than 2 s against the monotonic clock) seen since start.
    public var clockJumps: Int
    /// The last jump in seconds, positive when the wall clock went forward (nil: none yet).
    public var lastClockJumpSeconds: Double?

    public init(state: String, faultReason: String? = nil, countsPerBin: [String: Int] = [:],
                model: ModelInfo? = nil, uptimeSeconds: Double = 0, triggersDuringCycle: Int = 0,
                fill: [String: CompartmentFill] = [:], fullPolicy: String? = nil, refusal: String? = nil,
                clockJumps: Int = 0, lastClockJumpSeconds: Double? = nil) {
        self.state = state
        self.faultReason = faultReason
        self.countsPerBin = countsPerBin
        self.model = model
        self.uptimeSeconds = uptimeSeconds
        self.triggersDuringCycle = triggersDuringCycle
        self.fill = fill
        self.fullPolicy = fullPolicy
        self.refusal = refusal
        self.clockJumps = clockJumps
        self.lastClockJumpSeconds = lastClockJumpSeconds
    }
}
