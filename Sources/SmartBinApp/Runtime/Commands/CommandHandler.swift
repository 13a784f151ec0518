/// One `…/cmd/<name>` command. Register conformers with `CommandRouter`; each is its own file
/// (`MaintenanceCommand`, `FlapTestCommand`, `ReloadModelCommand`, …).
public protocol CommandHandler: Sendable {
    /// The last topic level, e.g. `reload_model` (lowercase letters, digits and `_`).
    var name: String { get }
    /// Keys the payload may carry (`request_id` is always allowed).
    var schema: CommandSchema { get }
    /// Runs a validated request. Commands run one at a time, in arrival order.
    /// - Returns: extra members for the result document (e.g. the model now loaded).
    /// - Throws: `CommandError` (`.notAllowed`, `.failed`, …) reported as `"ok": false`.
    func handle(_ request: CommandRequest) async throws(CommandError) -> [String: CommandJSON]
}
