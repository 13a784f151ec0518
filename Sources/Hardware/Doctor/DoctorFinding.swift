/// One result of a `Doctor` check.
public struct DoctorFinding: Sendable, Hashable, CustomStringConvertible {
    public enum Status: String, Sendable, Hashable, Comparable {
        case ok, warn, fail

        public static func < (lhs: Status, rhs: Status) -> Bool {
            let order: [Status] = [.ok, .warn, .fail]
            return order.firstIndex(of: lhs)! < order.firstIndex(of: rhs)!
        }
    }

    public var status: Status
    /// What was checked, e.g. `gpio lid (pinctrl-bcm2711:17)`, `pwm`, `camera /dev/video0`.
    public var check: String
    public var message: String
    /// What to do about a warning or failure.
    public var fix: String?

    public init(_ status: Status, _ check: String, _ message: String, fix: String? = nil) {
        self.status = status
        self.check = check
        self.message = message
        self.fix = fix
    }

    public var description: String {
        "[\(status.rawValue)] \(check): \(message)" + (fix.map { " — fix: \($0)" } ?? "")
    }
}
