import Telemetry

/// Where the dashboard sends bin commands (`…/cmd/<name>`): the MQTT client in the binary,
/// a recording fake in the tests.
public protocol CommandPublisher: Sendable {
    /// Publishes `payload` on `topic` (QoS 1, not retained) and waits for the broker's
    /// acknowledgement.
    /// - Throws: when the broker is unreachable or refuses the message.
    func publishCommand(topic: String, payload: [UInt8]) async throws
}

extension MQTTClient: CommandPublisher {
    public func publishCommand(topic: String, payload: [UInt8]) async throws {
        try await publish(topic: topic, payload: payload, qos: 1, retain: false)
    }
}
