import BinCore

/// `cmd/flap_test`: `{"bin": "recyclable"}` or `{"angle_deg": 45}` (or `{}` for every
/// compartment in turn) moves the flap there and back home. Allowed only in maintenance with
/// the flap home, so it never races a classification cycle; each move is bounded by
/// `timeouts.actuate`.
public struct FlapTestCommand: CommandHandler {
    public let name = "flap_test"
    public let schema: CommandSchema
    let controller: BinController
    let flap: any Flap
    let profile: BinConfig.FlapProfile
    let timeout: Duration

    public init(controller: BinController, flap: any Flap, config: BinConfig) {
        self.controller = controller
        self.flap = flap
        self.profile = config.flap
        self.timeout = config.timeouts.actuate
        schema = CommandSchema([
            .init("bin", .string(maxLength: 64, oneOf: Set(config.flap.angles.keys))),
            .init("angle_deg", .number(0...180)),
        ])
    }

    public func handle(_ request: CommandRequest) async throws(CommandError) -> [String: CommandJSON] {
        guard request.string("bin") == nil || request.number("angle_deg") == nil else {
            throw CommandError(.invalid, "give either 'bin' or 'angle_deg', not both")
        }
        let snapshot = await controller.snapshot
        guard snapshot.state == .maintenance, snapshot.atRest else {
            throw CommandError(.notAllowed, "flap_test needs maintenance with the flap home (bin is \(snapshot.state.rawValue)); send cmd/maintenance {\"enabled\": true} first")
        }
        var targets: [Double]
        if let bin = request.string("bin"), let angle = profile.angles[bin] {
            targets = [angle]
        } else if let angle = request.number("angle_deg") {
            targets = [angle]
        } else {
            targets = profile.angles.sorted { $0.key < $1.key }.map(\.value)
        }
        var visited: [CommandJSON] = []
        for angle in targets + [profile.homeDegrees] {
            do {
                try await Self.bounded(timeout) { try await flap.move(toDegrees: angle) }
            } catch {
                // Whatever happened, try to leave the flap at its safe position.
                try? await Self.bounded(timeout) { try await flap.move(toDegrees: profile.homeDegrees) }
                throw CommandError(.failed, "flap did not reach \(angle)°: \(error)")
            }
            visited.append(.number(angle))
        }
        return ["angles_deg": .array(visited)]
    }

    /// Runs `body`, throwing a timeout error when it takes longer than `limit`.
    static func bounded(_ limit: Duration, _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Bool.self) { group in
            group.addTask { try await body(); return true }
            group.addTask { try await Task.sleep(for: limit); return false }
            let finished = try await group.next() ?? false
            group.cancelAll()
            if !finished { throw CommandError(.failed, "timed out after \(limit)") }
        }
    }
}
