import BinCore

/// `cmd/maintenance`: `{"enabled": true|false, "reason": "…"}` locks the flap home and ignores
/// triggers (true) or returns the bin to idle, also clearing a fault whose retries are used up
/// (false). The result carries the state the bin is in afterwards.
public struct MaintenanceCommand: CommandHandler {
    public let name = "maintenance"
    public let schema = CommandSchema([
        .init("enabled", .bool, required: true),
        .init("reason", .string(maxLength: 200, oneOf: nil)),
    ])
    let controller: BinController

    public init(controller: BinController) {
        self.controller = controller
    }

    public func handle(_ request: CommandRequest) async throws(CommandError) -> [String: CommandJSON] {
        let reason = request.string("reason").map { "cmd/maintenance: \($0)" } ?? "cmd/maintenance"
        if request.bool("enabled") == true {
            await controller.enterMaintenance(cause: reason)
        } else {
            await controller.exitMaintenance(cause: reason)
        }
        return ["state": .string(await controller.snapshot.state.rawValue)]
    }
}
