import BinCore
import Foundation
import Logging
import ServiceLifecycle
import Telemetry

/// Listens for `…/cmd/emptied` and records the emptying of one compartment or all of them;
/// answers on `…/cmd/emptied/result` (QoS 1). Retained commands are ignored (a retained
/// "emptied" would otherwise reset the counts on every start).
///
/// Payload: `{"compartment": "recyclable"}`, `{"compartment": "all"}`, `{}` or empty (all), or a
/// bare compartment name. Answer: `{"ok": true, "emptied": ["recyclable"]}` or
/// `{"ok": false, "reason": "…"}`.
struct FillCommandService: Service {
    let controller: BinController
    let client: MQTTClient
    let layout: TopicLayout
    let logger: Logger

    static let command = "emptied"

    func run() async throws {
        let stream = try client.subscribe(layout.command(Self.command))
        await cancelWhenGracefulShutdown {
            for await message in stream {
                if message.retained {
                    logger.warning("ignoring a retained command", metadata: ["topic": "\(message.topic)"])
                    continue
                }
                let answer: [String: Any]
                do {
                    let compartment = try Self.compartment(in: message.payload)
                    let emptied = try await controller.emptied(compartment, source: .command)
                    answer = ["ok": true, "emptied": emptied]
                } catch {
                    logger.warning("emptied command refused", metadata: ["error": "\(error)"])
                    answer = ["ok": false, "reason": "\(error)"]
                }
                let data = (try? JSONSerialization.data(withJSONObject: answer, options: [.sortedKeys])) ?? Data("{\"ok\":false}".utf8)
                do {
                    _ = try client.enqueue(topic: layout.commandResult(Self.command), payload: Array(data), qos: 1)
                } catch {
                    logger.warning("could not publish a command result", metadata: ["command": "\(Self.command)", "error": "\(error)"])
                }
            }
        }
        // The subscription ends when the bin's service disconnects the client at its end; this
        // service still finishes only when the group shuts it down, in its turn (a service that
        // finishes on its own would end the group with "finished unexpectedly").
        if !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await gracefulShutdown()
        }
    }

    /// The compartment a payload names (nil: all).
    /// - Throws: `AppError` when the payload is neither a JSON object with a string
    ///   `compartment` nor a bare name.
    static func compartment(in payload: [UInt8]) throws -> String? {
        let text = String(decoding: payload, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        if text.isEmpty || text == "all" { return nil }
        guard text.hasPrefix("{") else {
            guard !text.contains(where: { $0.isWhitespace || $0 == "\"" }) else {
                throw AppError("emptied: expected {\"compartment\": \"<name>\"} or {\"compartment\": \"all\"}, got '\(text.prefix(80))'")
            }
            return text
        }
        guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
            throw AppError("emptied: payload is not a JSON object: '\(text.prefix(80))'")
        }
        guard let value = object["compartment"] else { return nil }
        guard let name = value as? String, !name.isEmpty else {
            throw AppError("emptied: 'compartment' must be a compartment name or \"all\"")
        }
        return name == "all" ? nil : name
    }
}
