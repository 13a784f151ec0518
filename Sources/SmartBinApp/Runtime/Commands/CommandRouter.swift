import Foundation
import Logging
import Synchronization
import Telemetry

/// Receives `<prefix>/<fleet>/<bin_id>/cmd/<name>` messages, checks them (size, strict JSON,
/// the handler's schema), runs them one at a time in arrival order and answers every one —
/// accepted or refused — on `…/cmd/<name>/result` (QoS 1, not retained):
/// `{"command":…,"ok":true|false,"request_id":…,"code":…,"error":…,"ts":…, …}`.
///
/// Who may send commands is the broker's business (ACLs, see `deploy/mosquitto/`); this router
/// makes sure no payload can do more than its schema allows. Handlers are registered by name,
/// so new commands (e.g. `update_model`) are new `CommandHandler` files plus one `register` call.
public final class CommandRouter: Sendable {
    public let layout: TopicLayout
    private let handlers: Mutex<[String: any CommandHandler]>
    private let logger: Logger
    private let wallClock: @Sendable () -> Double
    /// Commands another service of the bin subscribes to and answers itself (model updates,
    /// `emptied`): this router stays silent on them rather than calling them unknown.
    public let answeredElsewhere: Set<String>

    public init(layout: TopicLayout, handlers: [any CommandHandler] = [], answeredElsewhere: Set<String> = [],
                logger: Logger = Logger(label: "smartbin.commands"),
                wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.layout = layout
        self.answeredElsewhere = answeredElsewhere
        self.logger = logger
        self.wallClock = wallClock
        self.handlers = Mutex(Dictionary(handlers.map { ($0.name, $0) }, uniquingKeysWith: { _, last in last }))
    }

    /// Adds (or replaces) the handler for `handler.name`.
    public func register(_ handler: any CommandHandler) {
        handlers.withLock { $0[handler.name] = handler }
    }

    /// The registered command names, sorted.
    public var commandNames: [String] { (handlers.withLock { Array($0.keys) } + answeredElsewhere).sorted() }

    /// The subscription filter for this bin's commands: `…/cmd/+` (results, one level deeper,
    /// do not match).
    public var filter: String { layout.base + "/cmd/+" }

    /// Checks and runs one message.
    /// - Returns: the result topic and payload, or nil when `topic` is not one of this bin's
    ///   command topics (nothing is answered then).
    public func handle(topic: String, payload: [UInt8]) async -> (topic: String, payload: [UInt8])? {
        let prefix = layout.base + "/cmd/"
        guard topic.hasPrefix(prefix) else { return nil }
        let name = String(topic.dropFirst(prefix.count))
        guard Self.isValidName(name) else {
            logger.warning("command topic with an invalid name ignored", metadata: ["topic": "\(topic.prefix(200))"])
            return nil
        }
        if answeredElsewhere.contains(name) { return nil }
        let started = ContinuousClock.now
        var result: [String: CommandJSON] = ["command": .string(name)]
        do throws(CommandError) {
            guard let handler = handlers.withLock({ $0[name] }) else {
                throw CommandError(.unknownCommand, "unknown command '\(name)' (known: \(commandNames.joined(separator: ", ")))")
            }
            let request = try CommandRequest.parse(name: name, payload: payload, schema: handler.schema)
            if let id = request.requestID { result["request_id"] = .string(id) }
            let extra = try await handler.handle(request)
            result.merge(extra) { ours, _ in ours }
            result["ok"] = .bool(true)
            logger.notice("command done", metadata: [
                "command": "\(name)", "request_id": "\(request.requestID ?? "-")",
                "ms": "\(Int((ContinuousClock.now - started) / .milliseconds(1)))"])
        } catch {
            result["ok"] = .bool(false)
            result["code"] = .string(error.code.rawValue)
            result["error"] = .string(error.message)
            if result["request_id"] == nil, let id = Self.bestEffortRequestID(payload) { result["request_id"] = .string(id) }
            logger.warning("command refused", metadata: ["command": "\(name)", "code": "\(error.code.rawValue)",
                                                         "error": "\(error.message)"])
        }
        result["ts"] = .string(Self.timestamp(wallClock()))
        return (layout.commandResult(name), CommandJSON.object(result).encoded())
    }

    /// Subscribes to `filter` on `client` and handles commands until the stream ends (the
    /// client disconnects) or the task is cancelled. Results are published with QoS 1.
    /// - Throws: `TelemetryError` when the subscription is refused by libmosquitto.
    public func run(client: MQTTClient) async throws {
        let messages = try client.subscribe(filter, qos: 1)
        for await message in messages {
            if Task.isCancelled { break }
            guard let (topic, payload) = await handle(topic: message.topic, payload: message.payload) else { continue }
            do {
                _ = try client.enqueue(topic: topic, payload: payload, qos: 1, retain: false)
            } catch {
                logger.warning("command result not published", metadata: ["topic": "\(topic)", "error": "\(error)"])
            }
        }
    }

    /// Command names: 1–32 of `a-z`, `0-9`, `_`.
    static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 32
            && name.utf8.allSatisfy { (0x61...0x7A).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5F }
    }

    /// The `request_id` of a payload that failed the schema check, so the sender can match the
    /// refusal (only from a well-formed object whose `request_id` is a short string).
    static func bestEffortRequestID(_ payload: [UInt8]) -> String? {
        guard payload.count <= CommandRequest.maxPayloadBytes,
              case .object(let object)? = try? CommandJSON.parse(payload),
              case .string(let id)? = object["request_id"], id.utf8.count <= 64 else { return nil }
        return id
    }

    static func timestamp(_ seconds: Double) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: seconds))
    }
}
