/// Durations of each stage of one classification cycle, in milliseconds.
public struct StageTimings: Sendable, Hashable, Codable {
    public var capture: Double
    public var preprocess: Double
    public var inference: Double
    public var actuate: Double
    public var total: Double

    public init(capture: Double = 0, preprocess: Double = 0, inference: Double = 0,
                actuate: Double = 0, total: Double = 0) {
        self.capture = capture
        self.preprocess = preprocess
        self.inference = inference
        self.actuate = actuate
        self.total = total
    }
}

/// One classified and routed item: the payload of `smartbin/<fleet>/<bin_id>/event` (schema 1).
///
/// `id` is unique per event so that subscribers can drop QoS 1 redeliveries; `seq` increases by
/// one per event of a bin and survives restarts (it is kept with the outbox).
public struct BinEvent: Sendable, Hashable {
    public static let schemaVersion = 1

    public var id: String
    public var seq: UInt64
    public var binID: String
    /// Seconds since the Unix epoch (UTC) when the item was classified.
    public var timestamp: Double
    public var classification: Classification
    public var route: Route
    public var model: ModelInfo
    public var timings: StageTimings
    public var firmware: String

    public init(id: String, seq: UInt64, binID: String, timestamp: Double,
                classification: Classification, route: Route, model: ModelInfo,
                timings: StageTimings, firmware: String) {
        self.id = id
        self.seq = seq
        self.binID = binID
        self.timestamp = timestamp
        self.classification = classification
        self.route = route
        self.model = model
        self.timings = timings
        self.firmware = firmware
    }
}
