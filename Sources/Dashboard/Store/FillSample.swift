/// One point of a compartment's fill history: the level, items and status the bin's retained
/// state reported at `timestamp`.
public struct FillSample: Sendable, Hashable {
    public var compartment: String
    /// The state's `ts`, seconds since the epoch.
    public var timestamp: Double
    /// 0...1.
    public var level: Double
    public var items: Int
    /// `ok`, `nearly_full` or `full`.
    public var status: String

    public init(compartment: String, timestamp: Double, level: Double, items: Int, status: String) {
        self.compartment = compartment
        self.timestamp = timestamp
        self.level = level
        self.items = items
        self.status = status
    }
}
