/// The MQTT topics of one bin: `<prefix>/<fleet>/<bin_id>/…` (MQTT contract v1).
public struct TopicLayout: Sendable, Hashable {
    /// First topic level, `smartbin` by default.
    public var prefix: String
    public var fleet: String
    public var binID: String

    public init(prefix: String = "smartbin", fleet: String, binID: String) {
        self.prefix = prefix
        self.fleet = fleet
        self.binID = binID
    }

    /// `<prefix>/<fleet>/<bin_id>`.
    public var base: String { "\(prefix)/\(fleet)/\(binID)" }
    /// Classification events, QoS 1, not retained.
    public var event: String { base + "/event" }
    /// `online` / `offline` (Last Will) / `stopped`, retained.
    public var available: String { base + "/available" }
    /// Retained status JSON.
    public var state: String { base + "/state" }
    /// Fill alerts (`nearly_full`, `full`, `emptied`), QoS 1, not retained.
    public var alert: String { base + "/alert" }
    /// Incoming command `name`.
    public func command(_ name: String) -> String { base + "/cmd/" + name }
    /// Where the answer to command `name` goes.
    public func commandResult(_ name: String) -> String { base + "/cmd/" + name + "/result" }
    /// Every event of the fleet (for the dashboard): `<prefix>/<fleet>/+/event`.
    public var fleetEvents: String { "\(prefix)/\(fleet)/+/event" }
    /// Every fill alert of the fleet: `<prefix>/<fleet>/+/alert`.
    public var fleetAlerts: String { "\(prefix)/\(fleet)/+/alert" }
}
