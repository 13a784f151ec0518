import Logging
import ServiceLifecycle
import Telemetry

/// Keeps the dashboard's MQTT client connected for the life of the service group and
/// disconnects it cleanly on graceful shutdown, which ends the subscription stream and so lets
/// the `Ingestor` store what it holds and stop.
public struct MQTTConnectionService: Service {
    public let client: MQTTClient
    private let logger: Logger

    public init(client: MQTTClient, logger: Logger = Logger(label: "smartbin.dashboard.mqtt")) {
        self.client = client
        self.logger = logger
    }

    public func run() async throws {
        try client.connect()
        let events = client.connectionEvents()
        await cancelWhenGracefulShutdown {
            for await event in events {
                if case .refused(let reason) = event {
                    logger.error("the broker refused the dashboard's connection", metadata: ["reason": "\(reason)"])
                }
            }
        }
        await client.disconnect(clean: true)
    }
}
