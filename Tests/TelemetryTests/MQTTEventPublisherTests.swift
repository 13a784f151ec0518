import BinCore
import BinTestKit
import Foundation
import Testing
@testable import Telemetry

/// The outbox-backed publisher against a real `mosquitto` on loopback.
@Suite(.enabled(if: MosquittoBroker.isInstalled, "needs /usr/sbin/mosquitto"), .timeLimit(.minutes(1)))
struct MQTTEventPublisherTests {
    private let layout = TopicLayout(fleet: "test-fleet", binID: "bin-07")

    private func publisher(port: Int, outbox: String) throws -> MQTTEventPublisher {
        let mqtt = MQTTConfiguration(port: port, clientID: "", keepAliveSeconds: 5,
                                     reconnectDelayMin: 1, reconnectDelayMax: 1, reconnectExponential: false)
        return try MQTTEventPublisher(mqtt: mqtt, layout: layout, outboxDirectory: outbox,
                                      wallClock: { 1_700_000_000 })
    }

    private func seqs(_ messages: [BrokerMessage]) throws -> [UInt64] {
        try messages.map { try EventEncoding.decodeEvent(Array($0.payload.utf8)).seq }
    }

    @Test func recordedEventsArePublishedInOrderAndLeaveTheOutboxAfterPuback() async throws {
        let broker = try await MosquittoBroker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [layout.event])
        let publisher = try publisher(port: broker.port, outbox: TelemetryFixtures.temporaryDirectory())
        try await publisher.start()
        for n in 0..<5 { try await publisher.record(TelemetryFixtures.event(seq: 999, label: "item\(n)")) }
        #expect(await publisher.flush(timeout: .seconds(10)))
        #expect(await publisher.pendingCount == 0)
        let received = await subscriber.waitForMessages(count: 5, topic: layout.event)
        #expect(try seqs(received) == [1, 2, 3, 4, 5])
        let labels = try received.map { try EventEncoding.decodeEvent(Array($0.payload.utf8)).classification.label }
        #expect(labels == ["item0", "item1", "item2", "item3", "item4"])
        #expect(received.allSatisfy { !$0.retained })
        await publisher.shutdown()
        await broker.stop()
    }

    /// Nothing is lost while the broker is down: events wait in the outbox and go out in order
    /// once it is up (the subscriber's persistent session holds them until it is back too).
    @Test func eventsRecordedWhileTheBrokerIsDownAreDeliveredInOrderAfterItStarts() async throws {
        let broker = try await MosquittoBroker.start(persistence: true)
        let subscriberID = "dashboard-\(UUID().uuidString.prefix(8))"
        let first = try await BrokerSubscriber.start(port: broker.port, topics: [layout.event],
                                                     persistentClientID: subscriberID)
        await first.stop()
        await broker.stop()

        let publisher = try publisher(port: broker.port, outbox: TelemetryFixtures.temporaryDirectory())
        try await publisher.start()
        for n in 0..<6 { try await publisher.record(TelemetryFixtures.event(label: "down\(n)")) }
        #expect(await publisher.pendingCount == 6)
        #expect(await publisher.flush(timeout: .milliseconds(300)) == false)

        try await broker.start()
        #expect(await publisher.flush(timeout: .seconds(10)))
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [layout.event],
                                                          persistentClientID: subscriberID)
        let received = await subscriber.waitForMessages(count: 6, topic: layout.event)
        #expect(try seqs(received) == [1, 2, 3, 4, 5, 6])
        await publisher.shutdown()
        await broker.stop()
    }

    /// A broker that goes away mid-run: events recorded during the outage follow, in order,
    /// the ones delivered before it.
    @Test func eventsRecordedDuringAnOutageFollowEarlierOnesInOrder() async throws {
        let broker = try await MosquittoBroker.start(persistence: true)
        let subscriberID = "dashboard-\(UUID().uuidString.prefix(8))"
        let before = try await BrokerSubscriber.start(port: broker.port, topics: [layout.event],
                                                      persistentClientID: subscriberID)
        let publisher = try publisher(port: broker.port, outbox: TelemetryFixtures.temporaryDirectory())
        try await publisher.start()
        for n in 0..<3 { try await publisher.record(TelemetryFixtures.event(label: "up\(n)")) }
        #expect(await publisher.flush(timeout: .seconds(10)))
        #expect(try seqs(await before.waitForMessages(count: 3, topic: layout.event)) == [1, 2, 3])
        await before.stop()

        await broker.stop()
        for n in 0..<3 { try await publisher.record(TelemetryFixtures.event(label: "outage\(n)")) }
        #expect(await publisher.pendingCount == 3)
        try await broker.start()
        #expect(await publisher.flush(timeout: .seconds(10)))
        let after = try await BrokerSubscriber.start(port: broker.port, topics: [layout.event],
                                                     persistentClientID: subscriberID)
        #expect(try seqs(await after.waitForMessages(count: 3, topic: layout.event)) == [4, 5, 6])
        await publisher.shutdown()
        await broker.stop()
    }

    /// Records left by a previous run (crash before PUBACK) go out first, then new events.
    @Test func pendingRecordsOfAPreviousRunAreReplayedBeforeNewEvents() async throws {
        let broker = try await MosquittoBroker.start()
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [layout.event])
        let directory = TelemetryFixtures.temporaryDirectory()
        do {
            let outbox = try Outbox(directory: directory)
            for _ in 0..<3 {
                try outbox.append { seq in EventEncoding.encode(TelemetryFixtures.event(seq: seq, label: "old")) }
            }
            try outbox.acknowledge(2)
        }
        let publisher = try publisher(port: broker.port, outbox: directory)
        try await publisher.start()
        try await publisher.record(TelemetryFixtures.event(label: "new"))
        #expect(await publisher.flush(timeout: .seconds(10)))
        let received = await subscriber.waitForMessages(count: 3, topic: layout.event)
        #expect(try seqs(received) == [1, 3, 4])
        await publisher.shutdown()
        await broker.stop()
    }

    @Test func statusIsRetainedOnTheStateTopicAndShutdownPublishesStopped() async throws {
        let broker = try await MosquittoBroker.start()
        let publisher = try publisher(port: broker.port, outbox: TelemetryFixtures.temporaryDirectory())
        try await publisher.start()
        #expect(await publisher.client.waitUntilConnected(timeout: .seconds(5)))
        await publisher.publishStatus(BinStatus(state: "idle", countsPerBin: ["recyclable": 2]))
        let subscriber = try await BrokerSubscriber.start(port: broker.port,
                                                          topics: [layout.state, layout.available])
        let state = try #require(await subscriber.waitForMessages(count: 1, topic: layout.state).first)
        #expect(state.retained)
        let decoded = try EventEncoding.decodeStatus(Array(state.payload.utf8))
        #expect(decoded.status.state == "idle")
        #expect(decoded.status.countsPerBin == ["recyclable": 2])
        #expect(decoded.timestamp == 1_700_000_000)
        #expect(await subscriber.waitForMessage(topic: layout.available, payload: "online") != nil)
        await publisher.shutdown()
        #expect(await subscriber.waitForMessage(topic: layout.available, payload: "stopped") != nil)
        await broker.stop()
    }

    @Test func statusPublishedWhileDisconnectedGoesOutOnConnect() async throws {
        let broker = try MosquittoBroker()
        let publisher = try publisher(port: broker.port, outbox: TelemetryFixtures.temporaryDirectory())
        try await publisher.start()
        await publisher.publishStatus(BinStatus(state: "maintenance"))
        try await broker.start()
        #expect(await publisher.client.waitUntilConnected(timeout: .seconds(5)))
        let subscriber = try await BrokerSubscriber.start(port: broker.port, topics: [layout.state])
        let state = try #require(await subscriber.waitForMessages(count: 1, topic: layout.state).first)
        #expect(try EventEncoding.decodeStatus(Array(state.payload.utf8)).status.state == "maintenance")
        await publisher.shutdown()
        await broker.stop()
    }

    @Test func topicLayoutFollowsTheContract() {
        let layout = TopicLayout(prefix: "smartbin", fleet: "campus", binID: "b1")
        #expect(layout.event == "smartbin/campus/b1/event")
        #expect(layout.available == "smartbin/campus/b1/available")
        #expect(layout.state == "smartbin/campus/b1/state")
        #expect(layout.command("flap_test") == "smartbin/campus/b1/cmd/flap_test")
        #expect(layout.commandResult("flap_test") == "smartbin/campus/b1/cmd/flap_test/result")
        #expect(layout.fleetEvents == "smartbin/campus/+/event")
    }
}
