import Foundation
import Logging
import ServiceLifecycle
import Telemetry

/// Reads the dashboard's MQTT subscription, stores what it carries and feeds the live page.
///
/// Messages are taken in batches: whatever arrived while the previous batch was being written
/// goes into the next transaction, so a burst costs one fsync-free WAL commit per batch rather
/// than one per event. Messages outside the contract are ignored; undecodable ones are counted
/// and logged. Ends on graceful shutdown after storing what it already received.
public struct Ingestor: Service {
    /// The received messages (an `MQTTClient.subscribe` stream, or a test's own).
    public let messages: AsyncStream<MQTTClient.Message>
    public let store: DashboardStore
    public let feed: LiveFeed
    public let metrics: DashboardMetrics
    /// First topic level (`smartbin`).
    public let prefix: String
    /// Largest batch written in one transaction.
    public let maxBatch: Int
    /// Seconds since the epoch (injected for tests).
    public let now: @Sendable () -> Double
    /// When the message stream ends first (the MQTT service, shut down before us, disconnected),
    /// wait for our own turn in the graceful shutdown before returning: a `ServiceGroup`
    /// counts a service that returns while another one is being shut down as a failure.
    /// Leave it off outside a service group, where no shutdown signal would ever come.
    public var waitsForShutdownTurn = false
    private let logger: Logger

    public init(messages: AsyncStream<MQTTClient.Message>, store: DashboardStore, feed: LiveFeed,
                metrics: DashboardMetrics, prefix: String = "smartbin", maxBatch: Int = 2000,
                now: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 },
                logger: Logger = Logger(label: "smartbin.dashboard.ingest")) {
        self.messages = messages
        self.store = store
        self.feed = feed
        self.metrics = metrics
        self.prefix = prefix
        self.maxBatch = maxBatch
        self.now = now
        self.logger = logger
    }

    public func run() async throws {
        let pending = Locked<[MQTTClient.Message]>([])
        let (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask {
                    for await message in messages {
                        pending.withLock { $0.append(message) }
                        wake.yield()
                    }
                    wake.finish()
                }
                for await _ in wakeups {
                    while true {
                        let batch = pending.withLock { queue -> [MQTTClient.Message] in
                            let count = min(queue.count, maxBatch)
                            defer { queue.removeFirst(count) }
                            return Array(queue.prefix(count))
                        }
                        if batch.isEmpty { break }
                        await process(batch)
                    }
                }
                group.cancelAll()
            }
        }
        // Whatever arrived before the shutdown is still stored.
        let rest = pending.withLock { queue in defer { queue.removeAll() }; return queue }
        if !rest.isEmpty { await process(rest) }
        if waitsForShutdownTurn && !Task.isShuttingDownGracefully {
            try? await gracefulShutdown()
        }
        logger.info("ingest stopped")
    }

    /// Decodes, stores and publishes one batch.
    func process(_ batch: [MQTTClient.Message]) async {
        let receivedAt = now()
        var items: [IngestItem] = []
        var malformed = 0
        items.reserveCapacity(batch.count)
        for message in batch {
            do {
                if let item = try Self.item(for: message, prefix: prefix, receivedAt: receivedAt) {
                    items.append(item)
                }
            } catch {
                malformed += 1
                logger.warning("dropping a malformed message", metadata: [
                    "topic": "\(message.topic)", "error": "\(error)"])
            }
        }
        metrics.update {
            $0.messagesReceived += batch.count
            $0.malformedMessages += malformed
        }
        let result: IngestResult
        do {
            result = try await store.ingest(items)
        } catch {
            metrics.update { $0.storeErrors += 1 }
            logger.error("could not store a batch", metadata: ["messages": "\(items.count)", "error": "\(error)"])
            return
        }
        let committedAt = now()
        metrics.update { values in
            values.eventsIngested += result.inserted.count
            values.duplicatesDropped += result.duplicates
            values.binChanges += result.changes.count
            values.alertsIngested += result.alertsInserted.count
            values.alertDuplicatesDropped += result.alertDuplicates
            for event in result.inserted { metrics.recordLag(committedAt - event.timestamp, into: &values) }
        }
        if result.duplicates > 0 {
            logger.debug("dropped duplicate events", metadata: ["count": "\(result.duplicates)"])
        }
        for change in result.changes { feed.publish(.change(change)) }
        for event in result.inserted { feed.publish(.event(event)) }
        for alert in result.alertsInserted { feed.publish(.alert(alert)) }
    }

    /// What to store for `message`: nil for topics outside the contract and for commands.
    /// - Throws: `DashboardError` `.malformedMessage` for an undecodable event, alert or state.
    static func item(for message: MQTTClient.Message, prefix: String, receivedAt: Double) throws -> IngestItem? {
        guard let topic = FleetTopic(message.topic, prefix: prefix) else { return nil }
        switch topic.kind {
        case .event:
            return .event(try EventRecord(payload: message.payload, fleet: topic.fleet, binID: topic.binID,
                                          receivedAt: receivedAt))
        case .alert:
            return .alert(try AlertRecord(payload: message.payload, fleet: topic.fleet, binID: topic.binID,
                                          receivedAt: receivedAt))
        case .available:
            // An empty retained payload clears the topic; it says nothing about the bin.
            guard !message.payload.isEmpty else { return nil }
            guard let value = String(validating: message.payload, as: UTF8.self), value.count <= 64 else {
                throw DashboardError(.malformedMessage, "\(message.topic): availability is not a short UTF-8 word")
            }
            return .availability(fleet: topic.fleet, binID: topic.binID, value: value, at: receivedAt)
        case .state:
            guard !message.payload.isEmpty else { return nil }
            guard let json = String(validating: message.payload, as: UTF8.self),
                  (try? JSONSerialization.jsonObject(with: Data(message.payload))) is [String: Any] else {
                throw DashboardError(.malformedMessage, "\(message.topic): state is not a JSON object")
            }
            return .state(fleet: topic.fleet, binID: topic.binID, json: json, at: receivedAt)
        case .command, .commandResult:
            return nil
        }
    }
}
