import Logging
import ServiceLifecycle
import Telemetry

/// Listens for `…/cmd/update_model` and `…/cmd/rollback_model`, watches `models/incoming/`, and
/// answers each on `…/cmd/<name>/result` (QoS 1). Retained commands are ignored: a command left
/// retained on the broker would otherwise run again on every start.
struct ModelCommandService: Service {
    let updater: ModelUpdater
    let client: MQTTClient
    let layout: TopicLayout
    let pollInterval: Duration
    let logger: Logger

    static let commands = ["update_model", "rollback_model"]

    func run() async throws {
        let streams = try Self.commands.map { name in (name, try client.subscribe(layout.command(name))) }
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                for (name, stream) in streams {
                    group.addTask {
                        for await message in stream {
                            if message.retained {
                                logger.warning("ignoring a retained command", metadata: ["topic": "\(message.topic)"])
                                continue
                            }
                            if let outcome = await updater.handle(name: name, payload: message.payload) {
                                publish(outcome, for: name)
                            }
                        }
                    }
                }
                group.addTask {
                    while !Task.isCancelled {
                        for outcome in await updater.scanIncoming() { publish(outcome, for: "update_model") }
                        try? await Task.sleep(for: pollInterval)
                    }
                }
            }
        }
    }

    private func publish(_ outcome: ModelUpdater.Outcome, for name: String) {
        do {
            _ = try client.enqueue(topic: layout.commandResult(name), payload: outcome.json, qos: 1)
        } catch {
            logger.warning("could not publish a command result", metadata: ["command": "\(name)", "error": "\(error)"])
        }
    }
}
