import BinTestKit
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
@testable import Telemetry

/// Our libmosquitto client against a real `mosquitto` on loopback.
@Suite(.enabled(if: MosquittoBroker.isInstalled, "needs /usr/sbin/mosquitto"), .timeLimit(.minutes(1)))
struct MQTTClientTests {
    private func configuration(port: Int, availability: String? = nil) -> MQTTConfiguration {
        MQTTConfiguration(host: "127.0.0.1", port: port, clientID: "test-\(UUID().uuidString.prefix(8))",
                          keepAliveSeconds: 5,
                          availability: availability.map { MQTTConfiguration.Availability(topic: $0) },
                          reconnectDelayMin: 1, reconnectDelayMax: 1, reconnectExponential: false)
    }

    @Test func publishResumesOnPubackAndTheSubscriberReceivesIt() async throws {
        let broker = try await MosquittoBroker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["t/#"])
        let client = try MQTTClient(configuration: configuration(port: broker.port))
        try client.connect()
        #expect(await client.waitUntilConnected(timeout: .seconds(5)))
        for n in 1...3 {
            let ack = try await client.publish(topic: "t/events", payload: Array("message \(n)".utf8), qos: 1)
            #expect(ack.messageID > 0)
        }
        let received = await subscriber.waitForMessages(count: 3, topic: "t/events")
        #expect(received.map(\.payload) == ["message 1", "message 2", "message 3"])
        await client.disconnect()
        await subscriber.stop()
        await broker.stop()
    }

    @Test func availabilityIsOnlineWhileConnectedAndStoppedAfterCleanDisconnect() async throws {
        let broker = try await MosquittoBroker.start()
        let client = try MQTTClient(configuration: configuration(port: broker.port, availability: "bin/available"))
        try client.connect()
        #expect(await client.waitUntilConnected(timeout: .seconds(5)))
        // A subscriber that arrives later gets the retained value.
        let early = try await BrokerSubscriber.start(port: broker.port, topics: ["bin/available"])
        let online = await early.waitForMessage(topic: "bin/available", payload: "online")
        #expect(online?.retained == true)
        await client.disconnect(clean: true)
        #expect(await early.waitForMessage(topic: "bin/available", payload: "stopped") != nil)
        #expect(await early.waitForMessage(topic: "bin/available", payload: "offline",
                                           timeout: .milliseconds(500)) == nil)
        let late = try await BrokerSubscriber.start(port: broker.port, topics: ["bin/available"])
        let stopped = await late.waitForMessages(count: 1, topic: "bin/available")
        #expect(stopped.first?.payload == "stopped")
        #expect(stopped.first?.retained == true)
        await broker.stop()
    }

    /// Our client's Last Will: the socket closes without DISCONNECT (as when the process dies),
    /// and the broker publishes `offline`, retained. (A SIGKILL of the whole firmware process is
    /// left to the app's integration test.)
    @Test func lastWillOfflineIsPublishedWhenTheConnectionDropsWithoutDisconnect() async throws {
        let broker = try await MosquittoBroker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["bin/available"])
        let client = try MQTTClient(configuration: configuration(port: broker.port, availability: "bin/available"))
        try client.connect()
        #expect(await subscriber.waitForMessage(topic: "bin/available", payload: "online") != nil)
        await client.disconnect(clean: false)
        #expect(await subscriber.waitForMessage(topic: "bin/available", payload: "offline") != nil)
        let late = try await BrokerSubscriber.start(port: broker.port, topics: ["bin/available"])
        let retained = await late.waitForMessages(count: 1, topic: "bin/available")
        #expect(retained.first?.payload == "offline")
        #expect(retained.first?.retained == true)
        await broker.stop()
    }

    /// The broker side of the contract: a client killed with SIGKILL gets its Will published.
    @Test func brokerPublishesTheWillOfAClientKilledWithSIGKILL() async throws {
        let broker = try await MosquittoBroker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["other/available"])
        let victim = try BrokerWillClient.start(port: broker.port, willTopic: "other/available")
        #expect(await subscriber.waitForMessage(topic: "other/available", payload: "online") != nil)
        await victim.killHard()
        #expect(await subscriber.waitForMessage(topic: "other/available", payload: "offline") != nil)
        await broker.stop()
    }

    @Test func subscriptionReceivesMessagesAndIsRenewedAfterABrokerRestart() async throws {
        let broker = try await MosquittoBroker.start()
        let client = try MQTTClient(configuration: configuration(port: broker.port))
        let stream = try client.subscribe("bin/cmd/+", qos: 1)
        try client.connect()
        #expect(await client.waitUntilConnected(timeout: .seconds(5)))
        var iterator = stream.makeAsyncIterator()
        try await Task.sleep(for: .milliseconds(200))  // SUBACK
        try await BrokerSubscriber.publish(port: broker.port, topic: "bin/cmd/flap_test", payload: "1")
        let first = await iterator.next()
        #expect(first?.topic == "bin/cmd/flap_test")
        #expect(first?.payload == Array("1".utf8))

        await broker.stop()
        try await broker.start()
        let events = client.connectionEvents()
        var reconnected = false
        for await event in events {
            if case .connected = event { reconnected = true; break }
        }
        #expect(reconnected)
        try await Task.sleep(for: .milliseconds(200))
        try await BrokerSubscriber.publish(port: broker.port, topic: "bin/cmd/maintenance", payload: "on")
        let second = await iterator.next()
        #expect(second?.topic == "bin/cmd/maintenance")
        await client.disconnect()
        await broker.stop()
    }

    /// libmosquitto keeps a QoS 1 message published while no broker is reachable and sends it
    /// once it connects; the PUBACK then completes the original publish.
    @Test func publishWhileTheBrokerIsDownCompletesAfterItStarts() async throws {
        let broker = try MosquittoBroker()
        let client = try MQTTClient(configuration: configuration(port: broker.port))
        try client.connect()
        let delivery = try client.enqueue(topic: "t/late", payload: Array("late".utf8), qos: 1)
        try await Task.sleep(for: .milliseconds(300))
        #expect(!delivery.isComplete)
        try await broker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["t/late"])
        _ = subscriber
        let ack = try await delivery.acknowledged()
        #expect(ack.messageID == delivery.messageID)
        await client.disconnect()
        await broker.stop()
    }

    /// libmosquitto's own loop returns for good on a protocol error; ours must reconnect. A fake
    /// broker on the port answers the first CONNECT with a packet of reserved type 0 (a protocol
    /// error for the client) and closes; then the real broker starts on the same port, and the
    /// client must connect to it and deliver a message published in between.
    @Test func reconnectsAfterAProtocolErrorThatEndsLibmosquittosLoop() async throws {
        let broker = try MosquittoBroker()
        let fake = try GarbageServer(port: broker.port)
        let client = try MQTTClient(configuration: configuration(port: broker.port))
        let events = client.connectionEvents()
        try client.connect()
        #expect(fake.waitForConnection(timeout: .seconds(5)), "the client never reached the fake broker")
        var reasons: [String] = []
        for await event in events {
            if case .disconnected(let reason) = event { reasons.append(reason); break }
        }
        #expect(reasons.first?.lowercased().contains("protocol") == true, "\(reasons)")
        fake.close()
        let delivery = try client.enqueue(topic: "t/after", payload: Array("after".utf8), qos: 1)
        try await broker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: ["t/after"])
        let reconnected = await client.waitUntilConnected(timeout: .seconds(10))
        #expect(reconnected, "no reconnect after the protocol error")
        if reconnected {
            _ = try await delivery.acknowledged()
            let received = await subscriber.waitForMessages(count: 1, topic: "t/after")
            #expect(received.map(\.payload) == ["after"])
        }
        await client.disconnect()
        await subscriber.stop()
        await broker.stop()
    }

    /// Accepts one TCP connection on 127.0.0.1:`port`, reads what the client sends, answers with a
    /// two-byte packet of reserved type 0, and closes it.
    final class GarbageServer: @unchecked Sendable {
        private let listener: Int32
        private let accepted = DispatchSemaphore(value: 0)

        init(port: Int) throws {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw BrokerHarnessError("socket: errno \(errno)") }
            var yes: Int32 = 1
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            guard bound == 0, listen(fd, 4) == 0 else {
                Glibc.close(fd)
                throw BrokerHarnessError("bind/listen on 127.0.0.1:\(port): errno \(errno)")
            }
            listener = fd
            let listener = self.listener, accepted = self.accepted
            let thread = Thread {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }
                var buffer = [UInt8](repeating: 0, count: 256)
                _ = read(connection, &buffer, buffer.count)
                let garbage: [UInt8] = [0x00, 0x00]
                _ = write(connection, garbage, garbage.count)
                accepted.signal()
                usleep(200_000)
                Glibc.close(connection)
            }
            thread.start()
        }

        func waitForConnection(timeout: Duration) -> Bool {
            accepted.wait(timeout: .now() + .milliseconds(Int(timeout.components.seconds * 1000))) == .success
        }

        func close() {
            shutdown(listener, Int32(SHUT_RDWR))
            Glibc.close(listener)
        }
    }

    @Test func disconnectFailsPublishesStillWaitingForPuback() async throws {
        let broker = try MosquittoBroker()  // never started
        let client = try MQTTClient(configuration: configuration(port: broker.port))
        try client.connect()
        let delivery = try client.enqueue(topic: "t/never", payload: [1, 2, 3], qos: 1)
        await client.disconnect()
        await #expect(throws: TelemetryError.self) { try await delivery.acknowledged() }
        #expect(throws: TelemetryError.self) { try client.enqueue(topic: "t/never", payload: [], qos: 1) }
    }

    @Test func configurationDescriptionNeverShowsThePassword() {
        let config = MQTTConfiguration(clientID: "bin-1", username: "bin", password: "hunter2")
        #expect(!config.description.contains("hunter2"))
        #expect(config.description.contains("127.0.0.1:1883"))
    }
}
