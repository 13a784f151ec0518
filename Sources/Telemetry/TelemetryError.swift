/// The one error type of the Telemetry module: a code for programs and a message for people.
///
/// Messages name what failed and where: the broker as `host:port`, the outbox file and byte
/// offset, or the JSON key, so a log line alone is enough to start looking.
public struct TelemetryError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// A libmosquitto call failed (setup, connect, publish, subscribe).
        case mqtt
        /// The broker refused the connection (CONNACK with a non-zero code).
        case connectionRefused
        /// The client was disconnected (or shut down) before the broker acknowledged a message.
        case disconnected
        /// A wait (PUBACK, connect) ran out of time.
        case timeout
        /// Reading or writing the outbox failed.
        case outboxIO
        /// The outbox file is not an outbox or its header is damaged.
        case outboxCorrupt
        /// Appending would take the outbox past its size limit.
        case outboxFull
        /// A JSON document could not be decoded into the expected type.
        case malformedJSON
        /// A credential file is unreadable, empty, or readable by group or others.
        case secretFile
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
