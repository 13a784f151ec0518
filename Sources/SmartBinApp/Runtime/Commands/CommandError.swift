/// Why a `cmd/` message was refused or failed; the message goes back on `…/cmd/<name>/result`.
public struct CommandError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The payload is larger than `CommandRequest.maxPayloadBytes`.
        case tooLarge = "too_large"
        /// The payload is not valid JSON (or not UTF-8).
        case malformed
        /// Valid JSON that does not match the command's schema (unknown key, wrong type, range).
        case invalid
        /// No handler for this command name.
        case unknownCommand = "unknown_command"
        /// The bin is not in a state where the command may run (e.g. `flap_test` outside maintenance).
        case notAllowed = "not_allowed"
        /// The command ran and failed (e.g. the new model did not load; the old one is kept).
        case failed
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
