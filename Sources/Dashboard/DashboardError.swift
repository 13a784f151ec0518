/// Failures of the fleet dashboard, each with a code and a message that names the file, topic
/// or parameter involved.
public struct DashboardError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Code: String, Sendable {
        /// The SQLite file could not be opened, migrated, read or written.
        case database
        /// A configuration file (token, password) could not be read or is empty.
        case configuration
        /// An MQTT message could not be understood (topic layout or payload).
        case malformedMessage
        /// A request parameter is invalid (`since`, `limit`, a command name…).
        case badRequest
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
