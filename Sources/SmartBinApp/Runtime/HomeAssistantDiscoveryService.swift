import Logging
import ServiceLifecycle
import Telemetry

/// Publishes the Home Assistant discovery configs (`HomeAssistantDiscovery`), retained with QoS 1,
/// on every connect of the bin's MQTT client, so a broker that lost its retained store (no
/// persistence, a new broker) learns them again.
struct HomeAssistantDiscoveryService: Service {
    let client: MQTTClient
    let messages: [HomeAssistantDiscovery.Message]
    let logger: Logger

    func run() async throws {
        let events = client.connectionEvents()
        // Connected before this service started listening: publish now (a connect event that
        // races with this check only publishes the same retained messages twice).
        if client.isConnected { publish() }
        await cancelWhenGracefulShutdown { [events] in
            for await event in events {
                if case .connected = event { publish() }
            }
        }
        if !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await gracefulShutdown()
        }
    }

    private func publish() {
        for message in messages {
            do {
                _ = try client.enqueue(topic: message.topic, payload: message.payload, qos: 1, retain: true)
            } catch {
                logger.warning("Home Assistant discovery config not published", metadata: [
                    "topic": "\(message.topic)", "error": "\(error)"])
            }
        }
        logger.debug("Home Assistant discovery published", metadata: ["messages": "\(messages.count)"])
    }
}
