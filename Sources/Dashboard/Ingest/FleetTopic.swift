/// A topic of the MQTT contract v1, `<prefix>/<fleet>/<bin_id>/<kind>[/…]`, as the dashboard
/// sees it on its `<prefix>/#` subscription.
public struct FleetTopic: Sendable, Hashable {
    /// What the topic carries.
    public enum Kind: Sendable, Hashable {
        /// `…/event`: one classification (QoS 1 JSON).
        case event
        /// `…/alert`: a fill alert (QoS 1 JSON, not retained).
        case alert
        /// `…/available`: retained `online` / `offline` / `stopped`.
        case available
        /// `…/state`: retained status JSON.
        case state
        /// `…/cmd/<name>`: a command sent to the bin.
        case command(String)
        /// `…/cmd/<name>/result`: the bin's answer.
        case commandResult(String)
    }

    public var fleet: String
    public var binID: String
    public var kind: Kind

    public init(fleet: String, binID: String, kind: Kind) {
        self.fleet = fleet
        self.binID = binID
        self.kind = kind
    }

    /// Parses `topic` under `prefix`; nil for anything outside the contract (for example
    /// Home Assistant discovery or a foreign topic under the same prefix).
    public init?(_ topic: String, prefix: String = "smartbin") {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard levels.count >= 4, levels[0] == prefix, !levels[1].isEmpty, !levels[2].isEmpty else { return nil }
        fleet = levels[1]
        binID = levels[2]
        switch Array(levels[3...]) {
        case ["event"]: kind = .event
        case ["alert"]: kind = .alert
        case ["available"]: kind = .available
        case ["state"]: kind = .state
        case let rest where rest.count == 2 && rest[0] == "cmd" && !rest[1].isEmpty:
            kind = .command(rest[1])
        case let rest where rest.count == 3 && rest[0] == "cmd" && !rest[1].isEmpty && rest[2] == "result":
            kind = .commandResult(rest[1])
        default:
            return nil
        }
    }
}
