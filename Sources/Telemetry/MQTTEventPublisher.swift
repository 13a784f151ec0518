import BinCore
import Foundation
import Logging

/// The `EventSink` that reports to the fleet: every event goes to the durable outbox first and
/// then to `<prefix>/<fleet>/<bin_id>/event` with QoS 1; a record leaves the outbox only after
/// the broker's PUBACK.
///
/// - The event's `seq` is assigned here from the outbox's persistent counter (record id), so it
///   increases by one per event and survives restarts; whatever `seq` the caller set is replaced.
/// - Events are handed to libmosquitto only while connected. While the broker is unreachable
///   they wait in the outbox; on every (re)connect the publisher replays, in order, every pending
///   record that is not already in flight (libmosquitto itself resends those in flight when the
///   connection dropped, clean session off), then goes live. Records left by a previous run (a
///   crash, a power cut, a shutdown before PUBACK) are the first replayed. Subscribers drop the
///   rare duplicate by `id` (at least once delivery).
///
/// Replay is gated on the connection because libmosquitto does not keep the order of messages
/// queued before CONNACK relative to messages published while the CONNECT is in progress.
/// - Status goes to the retained `…/state` topic (latest wins) and is republished on reconnect.
/// - Fill alerts go to `…/alert` with QoS 1, not retained. They are kept in memory (not in the
///   outbox, so event `seq`s stay gap-free) until PUBACK and re-sent after a reconnect; an alert
///   not yet acknowledged when the process ends is lost.
public actor MQTTEventPublisher: EventSink {
    public nonisolated let layout: TopicLayout
    public nonisolated let client: MQTTClient
    public nonisolated let outbox: Outbox
    private let logger: Logger
    private let wallClock: @Sendable () -> Double
    private var inFlight: Set<UInt64> = []
    private var latestStatus: (status: BinStatus, timestamp: Double)?
    private var connectionTask: Task<Void, Never>?
    private var started = false
    /// True between a connect (after its replay) and the next disconnect.
    private var live = false
    /// Alerts not yet acknowledged, by a local number, in publication order.
    private var pendingAlerts: [(number: UInt64, payload: [UInt8])] = []
    private var alertsInFlight: Set<UInt64> = []
    private var lastAlertNumber: UInt64 = 0
    /// Connected, waiting for libmosquitto to resend (and the broker to acknowledge) the events
    /// that were in flight when the connection dropped, before anything newer is sent.
    private var draining = false
    private var drainTimeout: Task<Void, Never>?
    /// Longest wait for those resends before going live anyway (order may then suffer; nothing
    /// is lost either way).
    public nonisolated let drainLimit: Duration

    /// Wires a publisher from parts (tests pass their own client and outbox).
    /// - Parameter wallClock: seconds since the epoch, for the `ts` of status documents.
    public init(client: MQTTClient, outbox: Outbox, layout: TopicLayout,
                logger: Logger = Logger(label: "smartbin.telemetry"),
                drainLimit: Duration = .seconds(10),
                wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) {
        self.drainLimit = drainLimit
        self.client = client
        self.outbox = outbox
        self.layout = layout
        self.logger = logger
        self.wallClock = wallClock
    }

    /// Builds the client (availability topic and Last Will from `layout`, client id = bin id
    /// unless set) and opens the outbox in `outboxDirectory`.
    /// - Throws: `TelemetryError` from the client setup or the outbox open.
    public init(mqtt: MQTTConfiguration, layout: TopicLayout, outboxDirectory: String,
                outboxMaxBytes: Int = 64 * 1024 * 1024,
                logger: Logger = Logger(label: "smartbin.telemetry"),
                wallClock: @escaping @Sendable () -> Double = { Date().timeIntervalSince1970 }) throws {
        var configuration = mqtt
        if configuration.clientID.isEmpty { configuration.clientID = layout.binID }
        configuration.availability = .init(topic: layout.available)
        let client = try MQTTClient(configuration: configuration, logger: logger)
        let outbox = try Outbox(directory: outboxDirectory, maxBytes: outboxMaxBytes, logger: logger)
        self.init(client: client, outbox: outbox, layout: layout, logger: logger, wallClock: wallClock)
    }

    /// Starts connecting in the background; the outbox's pending records go out, in order, as
    /// soon as the broker accepts the connection.
    /// - Throws: `.mqtt` when the network loop cannot start.
    public func start() throws {
        guard !started else { return }
        started = true
        let events = client.connectionEvents()
        connectionTask = Task { [weak self] in
            for await event in events {
                guard let self else { return }
                switch event {
                case .connected: await self.connected()
                case .disconnected, .refused: await self.disconnected()
                }
            }
        }
        try client.connect()
    }

    /// Makes the event durable (outbox append + fsync), then publishes it with QoS 1 when
    /// connected (otherwise on the next connect). Returns once the event is on disk; delivery
    /// continues in the background.
    /// - Throws: `TelemetryError` `.outboxFull` / `.outboxIO` when it could not be made durable.
    public func record(_ event: BinEvent) async throws {
        var payload: [UInt8] = []
        let id = try outbox.append { seq in
            var stamped = event
            stamped.seq = seq
            payload = EventEncoding.encode(stamped)
            return payload
        }
        if live { send(Outbox.Record(id: id, payload: payload)) }
    }

    /// Publishes `status` retained on `…/state` (best effort; republished after a reconnect).
    public func publishStatus(_ status: BinStatus) async {
        latestStatus = (status, wallClock())
        if live { sendStatus() }
    }

    /// Publishes `alert` on `…/alert` with QoS 1 (now when connected, else after the next connect).
    public func publishAlert(_ alert: BinAlert) async {
        lastAlertNumber += 1
        pendingAlerts.append((lastAlertNumber, EventEncoding.encode(alert)))
        if live { sendAlert(pendingAlerts[pendingAlerts.count - 1]) }
    }

    /// Alerts published and not yet acknowledged.
    public var pendingAlertCount: Int { pendingAlerts.count }

    /// Waits until every recorded event and every alert has been acknowledged by the broker.
    /// - Returns: false when events are still pending after `timeout`.
    public func flush(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while outbox.pendingCount > 0 || !pendingAlerts.isEmpty {
            if ContinuousClock.now >= deadline {
                logger.warning("flush timed out", metadata: ["pending": "\(outbox.pendingCount)"])
                return false
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
        return true
    }

    /// Publishes retained `stopped` and disconnects cleanly. Unacknowledged events stay in the
    /// outbox for the next start.
    public func shutdown(timeout: Duration = .seconds(2)) async {
        drainTimeout?.cancel()
        connectionTask?.cancel()
        connectionTask = nil
        await client.disconnect(clean: true, timeout: timeout)
        if outbox.pendingCount > 0 {
            logger.notice("events left in the outbox for the next start", metadata: [
                "pending": "\(outbox.pendingCount)", "file": "\(outbox.logPath)"])
        }
    }

    /// Events recorded and not yet acknowledged.
    public var pendingCount: Int { outbox.pendingCount }

    /// The `seq` the next recorded event gets (kept by the outbox across restarts).
    public nonisolated var nextSequence: UInt64 { outbox.nextID }

    // MARK: Private

    /// On (re)connect libmosquitto resends the events that were in flight, but only after it
    /// has handed our connect callback the CONNACK, so an event published from here at once can
    /// overtake them (seen in the chaos test: seq 933…949 delivered before 932). So newer events
    /// wait until every event in flight is acknowledged again (bounded by `drainLimit`), then the
    /// outbox is replayed in order and the publisher goes live.
    private func connected() {
        live = false
        if inFlight.isEmpty {
            goLive()
            return
        }
        draining = true
        logger.info("connected; waiting for in-flight events to be acknowledged before sending newer ones",
                    metadata: ["in_flight": "\(inFlight.count)", "first_seq": "\(inFlight.min() ?? 0)"])
        drainTimeout?.cancel()
        let limit = drainLimit
        drainTimeout = Task { [weak self] in
            try? await Task.sleep(for: limit)
            guard !Task.isCancelled else { return }
            await self?.drainTimedOut()
        }
    }

    private func drainTimedOut() {
        guard draining else { return }
        logger.warning("in-flight events not re-acknowledged in time; sending newer events anyway", metadata: [
            "in_flight": "\(inFlight.count)", "limit": "\(drainLimit)"])
        goLive()
    }

    private func drained() {
        if draining && inFlight.isEmpty { goLive() }
    }

    private func goLive() {
        draining = false
        drainTimeout?.cancel()
        drainTimeout = nil
        let replay = outbox.pending().filter { !inFlight.contains($0.id) }
        if !replay.isEmpty {
            logger.info("replaying outbox", metadata: [
                "records": "\(replay.count)", "first_seq": "\(replay[0].id)", "topic": "\(layout.event)"])
        }
        for record in replay { send(record) }
        for alert in pendingAlerts where !alertsInFlight.contains(alert.number) { sendAlert(alert) }
        live = true
        if latestStatus != nil { sendStatus() }
    }

    private func disconnected() {
        live = false
        draining = false
        drainTimeout?.cancel()
        drainTimeout = nil
    }

    private func send(_ record: Outbox.Record) {
        guard !inFlight.contains(record.id) else { return }
        let delivery: MQTTClient.Delivery
        do {
            delivery = try client.enqueue(topic: layout.event, payload: record.payload, qos: 1, retain: false)
        } catch {
            logger.warning("event not handed to MQTT; it stays in the outbox for the next connect",
                           metadata: ["seq": "\(record.id)", "error": "\(error)"])
            return
        }
        inFlight.insert(record.id)
        let id = record.id
        Task { [weak self] in
            do {
                _ = try await delivery.acknowledged()
                await self?.acknowledged(id)
            } catch {
                await self?.undelivered(id, error)
            }
        }
    }

    private func acknowledged(_ id: UInt64) {
        inFlight.remove(id)
        do {
            try outbox.acknowledge(id)
        } catch {
            // The event was delivered; failing to record that only means a duplicate later.
            logger.error("could not persist the PUBACK of an event", metadata: [
                "seq": "\(id)", "error": "\(error)"])
        }
        drained()
    }

    private func undelivered(_ id: UInt64, _ error: any Error) {
        inFlight.remove(id)
        defer { drained() }
        logger.debug("event not acknowledged; it stays in the outbox", metadata: [
            "seq": "\(id)", "error": "\(error)"])
    }

    private func sendAlert(_ alert: (number: UInt64, payload: [UInt8])) {
        guard !alertsInFlight.contains(alert.number) else { return }
        let delivery: MQTTClient.Delivery
        do {
            delivery = try client.enqueue(topic: layout.alert, payload: alert.payload, qos: 1, retain: false)
        } catch {
            logger.warning("alert not handed to MQTT; retried on the next connect", metadata: ["error": "\(error)"])
            return
        }
        alertsInFlight.insert(alert.number)
        let number = alert.number
        Task { [weak self] in
            let acknowledged: Bool
            do { _ = try await delivery.acknowledged(); acknowledged = true } catch { acknowledged = false }
            await self?.alertFinished(number, acknowledged: acknowledged)
        }
    }

    private func alertFinished(_ number: UInt64, acknowledged: Bool) {
        alertsInFlight.remove(number)
        if acknowledged { pendingAlerts.removeAll { $0.number == number } }
    }

    private func sendStatus() {
        guard let latestStatus else { return }
        let payload = EventEncoding.encode(latestStatus.status, timestamp: latestStatus.timestamp,
                                           outbox: outbox.metrics)
        do {
            _ = try client.enqueue(topic: layout.state, payload: payload, qos: 1, retain: true)
        } catch {
            logger.debug("status not published", metadata: ["error": "\(error)"])
        }
    }
}
