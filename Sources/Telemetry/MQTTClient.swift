import CMosquitto
import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An MQTT 3.1.1 client over libmosquitto: the only file that imports `CMosquitto`.
///
/// The network loop runs on a thread of this class's own (`mqtt-loop`), which connects and then
/// runs `mosquitto_loop_forever`: libmosquitto reconnects with back-off, resends QoS 1 messages
/// that were in flight when a connection dropped (clean session off) and calls back into this
/// class, whose shared state is passed through libmosquitto's `userdata` pointer. libmosquitto's
/// loop gives up for good on errors it deems fatal (a protocol or TLS error, a refused
/// connection): the thread then logs the reason and reconnects itself, with the same back-off,
/// so a bin never stays offline until a restart. Nothing here blocks Swift's cooperative pool:
/// `disconnect` waits for the loop thread from a thread of its own.
///
/// On every connect it publishes the retained `online` availability message and re-subscribes;
/// the Last Will (`offline`, QoS 1, retained) is registered before the first connect.
///
/// The class owns the `struct mosquitto *` and destroys it in `deinit`. It is `Sendable`
/// because every mutable field lives behind a lock (`Locked`) and libmosquitto's calls used here
/// are thread safe in threaded mode.
public final class MQTTClient: @unchecked Sendable {
    /// A message received on a subscription.
    public struct Message: Sendable, Hashable {
        public var topic: String
        public var payload: [UInt8]
        public var qos: Int
        public var retained: Bool
    }

    /// The broker's acknowledgement of a publish (PUBACK for QoS 1; written out for QoS 0).
    public struct PublishAck: Sendable, Hashable {
        /// The MQTT message id libmosquitto assigned.
        public var messageID: Int32
    }

    /// Connection changes, as seen by the loop thread.
    public enum ConnectionEvent: Sendable, Hashable {
        /// CONNACK accepted; `sessionPresent` is true when the broker kept our session.
        case connected(sessionPresent: Bool)
        /// The broker refused the connection (bad credentials, not authorised…).
        case refused(reason: String)
        /// The connection ended; libmosquitto reconnects unless we disconnected on purpose.
        case disconnected(reason: String)
    }

    /// A publish handed to libmosquitto, waiting for the broker's acknowledgement.
    public final class Delivery: @unchecked Sendable {
        public let messageID: Int32
        private let state = Locked<(result: Result<PublishAck, TelemetryError>?,
                                    waiter: CheckedContinuation<PublishAck, any Error>?)>((nil, nil))

        init(messageID: Int32) {
            self.messageID = messageID
        }

        func complete(_ result: Result<PublishAck, TelemetryError>) {
            let waiter = state.withLock { state -> CheckedContinuation<PublishAck, any Error>? in
                guard state.result == nil else { return nil }
                state.result = result
                defer { state.waiter = nil }
                return state.waiter
            }
            waiter?.resume(with: result.mapError { $0 as any Error })
        }

        /// Waits until the broker acknowledged the message (PUBACK).
        /// - Throws: `.disconnected` when the client is disconnected before the PUBACK.
        public func acknowledged() async throws -> PublishAck {
            try await withCheckedThrowingContinuation { continuation in
                let ready = state.withLock { state -> Result<PublishAck, TelemetryError>? in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(with: ready.mapError { $0 as any Error }) }
            }
        }

        /// True once the broker acknowledged it (or it failed).
        public var isComplete: Bool { state.withLock { $0.result != nil } }
    }

    public let configuration: MQTTConfiguration
    private let handle: OpaquePointer
    private let shared: Shared
    private let logger: Logger

    /// Creates the client and registers credentials, TLS and the Last Will. Does not connect.
    /// - Throws: `TelemetryError` `.mqtt` naming the broker and libmosquitto's error text.
    public init(configuration: MQTTConfiguration,
                logger: Logger = Logger(label: "smartbin.mqtt")) throws {
        _ = Self.libraryInitialised
        self.configuration = configuration
        self.logger = logger
        let shared = Shared(configuration: configuration, logger: logger)
        self.shared = shared
        let userdata = Unmanaged.passUnretained(shared).toOpaque()
        guard let handle = mosquitto_new(configuration.clientID, configuration.cleanSession, userdata) else {
            throw TelemetryError(.mqtt, "\(configuration.endpoint): mosquitto_new failed for client id '\(configuration.clientID)': \(String(cString: strerror(errno)))")
        }
        self.handle = handle
        do {
            try setUp()
        } catch {
            mosquitto_destroy(handle)
            throw error
        }
    }

    deinit {
        let running = shared.state.withLock { state -> Bool in
            state.stopped = true
            return state.loopRunning
        }
        if running {
            _ = mosquitto_disconnect(handle)
            shared.loopFinished.wait()
        }
        mosquitto_destroy(handle)
        shared.finishAll(error: TelemetryError(.disconnected, "\(configuration.endpoint): client released"))
    }

    // MARK: Connection

    /// Starts connecting in the background: the loop thread connects, then runs libmosquitto's
    /// loop. A broker that is down is not an error: the thread keeps retrying with back-off.
    /// - Throws: `.mqtt` when the client was connected before or disconnected.
    public func connect() throws {
        let ok = shared.state.withLock { state -> Bool in
            guard !state.loopRunning, !state.stopped else { return false }
            state.loopRunning = true
            return true
        }
        guard ok else {
            throw TelemetryError(.mqtt, "\(configuration.endpoint): connect() called twice or after disconnect")
        }
        // Connect and loop on one thread: libmosquitto 2.0.11's own loop thread started beside a
        // connect_async on the caller's thread can drive the same TLS handshake from both
        // threads (the broker then sees garbage and drops the client with a protocol error).
        let handleBits = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(handle)))
        let shared = self.shared, configuration = self.configuration, logger = self.logger
        let thread = Thread {
            Self.runLoop(handle: OpaquePointer(bitPattern: handleBits)!, shared: shared,
                         configuration: configuration, logger: logger)
            shared.loopFinished.signal()
        }
        thread.name = "mqtt-loop"
        thread.start()
    }

    /// The loop thread: connect, run `mosquitto_loop_forever`, and when libmosquitto gives up
    /// (an error it treats as fatal) or the first connect fails, wait the back-off and reconnect,
    /// until `disconnect`.
    private static func runLoop(handle: OpaquePointer, shared: Shared, configuration: MQTTConfiguration,
                                logger: Logger) {
        let minimum = max(1, configuration.reconnectDelayMin)
        let maximum = max(minimum, configuration.reconnectDelayMax)
        var delay = minimum
        var rc = mosquitto_connect(handle, configuration.host, Int32(configuration.port),
                                   Int32(configuration.keepAliveSeconds))
        if rc != success {
            logger.warning("MQTT broker not reachable yet; retrying in the background", metadata: [
                "broker": "\(configuration.endpoint)", "error": "\(describe(rc))"])
        }
        while !shared.isStopped {
            if rc == success {
                let started = ContinuousClock.now
                rc = mosquitto_loop_forever(handle, -1, 1)
                if shared.isStopped { break }
                // A connection that lasted a while starts the back-off over.
                if ContinuousClock.now - started > .seconds(maximum) { delay = minimum }
                logger.warning("MQTT network loop ended; reconnecting", metadata: [
                    "broker": "\(configuration.endpoint)", "reason": "\(describe(rc))", "in_s": "\(delay)"])
            }
            // Sleep the back-off in short steps, so a disconnect is not held up by it.
            let wakeAt = ContinuousClock.now + .seconds(delay)
            while ContinuousClock.now < wakeAt, !shared.isStopped { usleep(50_000) }
            if shared.isStopped { break }
            rc = mosquitto_reconnect(handle)
            if rc != success {
                delay = configuration.reconnectExponential ? min(maximum, delay * 2) : delay
                logger.debug("MQTT reconnect failed", metadata: [
                    "broker": "\(configuration.endpoint)", "error": "\(describe(rc))", "next_in_s": "\(delay)"])
            }
        }
    }

    /// True while a connection is up (CONNACK accepted, not yet lost).
    public var isConnected: Bool { shared.state.withLock { $0.connected } }

    /// Waits until connected, polling every 10 ms; false after `timeout`.
    public func waitUntilConnected(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !isConnected {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    /// A stream of connection changes from now on (each call gets its own stream).
    public func connectionEvents() -> AsyncStream<ConnectionEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: ConnectionEvent.self)
        let id = shared.state.withLock { state -> Int in
            state.nextStreamID += 1
            state.eventStreams[state.nextStreamID] = continuation
            return state.nextStreamID
        }
        continuation.onTermination = { [shared] _ in
            _ = shared.state.withLock { $0.eventStreams.removeValue(forKey: id) }
        }
        return stream
    }

    /// Disconnects. With `clean: true` it first publishes the retained `stopped` availability
    /// message (waiting up to `timeout` for its PUBACK) and sends DISCONNECT, so the broker
    /// drops the Last Will. With `clean: false` it closes the socket without DISCONNECT, as a
    /// crash would, so the broker publishes the Last Will (`offline`).
    ///
    /// Publishes still waiting for a PUBACK fail with `.disconnected`; libmosquitto's loop thread
    /// is joined from a thread of its own. The client cannot be connected again.
    public func disconnect(clean: Bool = true, timeout: Duration = .seconds(2)) async {
        let wasRunning = shared.state.withLock { state -> Bool in
            state.stopped = true
            return state.loopRunning
        }
        if clean, let availability = configuration.availability, isConnected {
            do {
                let delivery = try enqueue(topic: availability.topic, payload: Array(availability.stopped.utf8),
                                           qos: 1, retain: true)
                if await !Self.wait(for: delivery, timeout: timeout) {
                    logger.warning("no PUBACK for 'stopped' before disconnecting", metadata: [
                        "broker": "\(configuration.endpoint)", "topic": "\(availability.topic)"])
                }
            } catch {
                logger.warning("could not publish 'stopped'", metadata: [
                    "broker": "\(configuration.endpoint)", "error": "\(error)"])
            }
        }
        if !clean {
            let fd = mosquitto_socket(handle)
            if fd >= 0 { _ = shutdown(fd, Int32(SHUT_RDWR)) }
        }
        _ = mosquitto_disconnect(handle)
        if wasRunning {
            let shared = self.shared
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let thread = Thread {
                    shared.loopFinished.wait()
                    continuation.resume()
                }
                thread.name = "mqtt-stop"
                thread.start()
            }
            shared.state.withLock { $0.loopRunning = false; $0.connected = false }
        }
        shared.finishAll(error: TelemetryError(.disconnected, "\(configuration.endpoint): disconnected before the broker acknowledged"))
        logger.info("MQTT disconnected", metadata: ["broker": "\(configuration.endpoint)", "clean": "\(clean)"])
    }

    // MARK: Publish and subscribe

    /// Publishes and waits for the broker's acknowledgement (PUBACK for QoS 1).
    ///
    /// While disconnected a QoS 1 message waits inside libmosquitto and is sent (in order) on
    /// reconnect, so this call can take as long as the outage; bound it with a task timeout or
    /// use `enqueue`.
    /// - Throws: `.mqtt` when libmosquitto rejects the message, `.disconnected` when the client
    ///   is disconnected first.
    @discardableResult
    public func publish(topic: String, payload: [UInt8], qos: Int = 1,
                        retain: Bool = false) async throws -> PublishAck {
        try await enqueue(topic: topic, payload: payload, qos: qos, retain: retain).acknowledged()
    }

    /// Hands a message to libmosquitto without waiting; messages enqueued from one thread go
    /// out in that order. The returned delivery completes on PUBACK.
    /// - Throws: `.mqtt` naming the broker, topic and libmosquitto's error text; QoS 0 while
    ///   disconnected is an error (it would be dropped).
    public func enqueue(topic: String, payload: [UInt8], qos: Int = 1,
                        retain: Bool = false) throws -> Delivery {
        if shared.state.withLock({ $0.stopped && !$0.connected }) {
            throw TelemetryError(.disconnected, "\(configuration.endpoint): publish to \(topic) after disconnect")
        }
        var mid: Int32 = 0
        let rc = payload.withUnsafeBytes { raw in
            mosquitto_publish(handle, &mid, topic, Int32(raw.count), raw.baseAddress, Int32(qos), retain)
        }
        // With QoS ≥ 1 and no connection libmosquitto has queued the message and returns
        // MOSQ_ERR_NO_CONN; it is sent after the next CONNACK.
        let queued = rc == Self.success || (qos > 0 && rc == Int32(MOSQ_ERR_NO_CONN.rawValue))
        guard queued else {
            throw TelemetryError(.mqtt, "\(configuration.endpoint): publish to \(topic) (\(payload.count) bytes, QoS \(qos)): \(Self.describe(rc))")
        }
        let delivery = Delivery(messageID: mid)
        // on_publish may have run on the loop thread before mosquitto_publish returned the mid.
        let early = shared.state.withLock { state -> Bool in
            if state.earlyAcks.remove(mid) != nil { return true }
            state.waiters[mid] = delivery
            return false
        }
        if early { delivery.complete(.success(PublishAck(messageID: mid))) }
        return delivery
    }

    /// Subscribes to `filter` (wildcards allowed) now and after every reconnect, and returns the
    /// matching messages. Ending the stream's iteration stops delivery to it (the subscription
    /// itself stays).
    /// - Throws: `.mqtt` for an invalid filter.
    public func subscribe(_ filter: String, qos: Int = 1) throws -> AsyncStream<Message> {
        guard mosquitto_sub_topic_check(filter) == Self.success else {
            throw TelemetryError(.mqtt, "\(configuration.endpoint): invalid subscription filter '\(filter)'")
        }
        let (stream, continuation) = AsyncStream.makeStream(of: Message.self)
        let id = shared.state.withLock { state -> Int in
            state.subscriptions[filter] = Int32(qos)
            state.nextStreamID += 1
            state.messageStreams[state.nextStreamID] = (filter, continuation)
            return state.nextStreamID
        }
        continuation.onTermination = { [shared] _ in
            _ = shared.state.withLock { $0.messageStreams.removeValue(forKey: id) }
        }
        let rc = mosquitto_subscribe(handle, nil, filter, Int32(qos))
        if rc != Self.success && rc != Int32(MOSQ_ERR_NO_CONN.rawValue) {
            throw TelemetryError(.mqtt, "\(configuration.endpoint): subscribe \(filter): \(Self.describe(rc))")
        }
        return stream
    }

    // MARK: Private

    static let success = Int32(MOSQ_ERR_SUCCESS.rawValue)

    /// `mosquitto_lib_init` once per process; SIGPIPE ignored so a write to a dead broker
    /// socket returns EPIPE instead of killing the firmware.
    private static let libraryInitialised: Bool = {
        _ = signal(SIGPIPE, SIG_IGN)
        return mosquitto_lib_init() == MQTTClient.success
    }()

    /// libmosquitto's text for `rc`, with errno's text for `MOSQ_ERR_ERRNO`.
    static func describe(_ rc: Int32) -> String {
        if rc == Int32(MOSQ_ERR_ERRNO.rawValue) {
            return "\(String(cString: mosquitto_strerror(rc))): \(String(cString: strerror(errno)))"
        }
        return String(cString: mosquitto_strerror(rc))
    }

    static func wait(for delivery: Delivery, timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !delivery.isComplete {
            if ContinuousClock.now >= deadline { return false }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return true
    }

    private func setUp() throws {
        let endpoint = configuration.endpoint
        func check(_ rc: Int32, _ what: String) throws {
            guard rc == Self.success else {
                throw TelemetryError(.mqtt, "\(endpoint): \(what): \(Self.describe(rc))")
            }
        }
        if configuration.username != nil || configuration.password != nil {
            try check(mosquitto_username_pw_set(handle, configuration.username, configuration.password),
                      "setting username/password")
        }
        if let tls = configuration.tls {
            try check(mosquitto_tls_set(handle, tls.caFile, tls.caPath, tls.certFile, tls.keyFile, nil),
                      "TLS setup (ca_file \(tls.caFile ?? "-"), ca_path \(tls.caPath ?? "-"), cert \(tls.certFile ?? "-"), key \(tls.keyFile ?? "-"))")
            try check(mosquitto_tls_opts_set(handle, 1, tls.version, tls.ciphers),
                      "TLS options (version \(tls.version ?? "default"))")
            if tls.insecureSkipHostnameCheck {
                try check(mosquitto_tls_insecure_set(handle, true), "TLS insecure mode")
            }
        }
        if let availability = configuration.availability {
            let payload = Array(availability.offline.utf8)
            try check(payload.withUnsafeBytes {
                mosquitto_will_set(handle, availability.topic, Int32($0.count), $0.baseAddress, 1, true)
            }, "setting the Last Will on \(availability.topic)")
        }
        try check(mosquitto_reconnect_delay_set(handle, UInt32(max(1, configuration.reconnectDelayMin)),
                                                UInt32(max(configuration.reconnectDelayMin, configuration.reconnectDelayMax)),
                                                configuration.reconnectExponential),
                  "setting the reconnect delay")
        // The loop runs on a thread of ours, not one from mosquitto_loop_start: tell libmosquitto,
        // so publishes from other threads wake the loop instead of writing to the socket.
        try check(mosquitto_threaded_set(handle, true), "setting threaded mode")
        try check(mosquitto_int_option(handle, MOSQ_OPT_SEND_MAXIMUM, Int32(configuration.maxInflightMessages)),
                  "setting max in-flight messages")

        mosquitto_connect_with_flags_callback_set(handle) { mosq, userdata, rc, flags in
            guard let userdata else { return }
            Unmanaged<Shared>.fromOpaque(userdata).takeUnretainedValue()
                .onConnect(mosq, rc: rc, sessionPresent: flags & 1 != 0)
        }
        mosquitto_disconnect_callback_set(handle) { _, userdata, rc in
            guard let userdata else { return }
            Unmanaged<Shared>.fromOpaque(userdata).takeUnretainedValue().onDisconnect(rc: rc)
        }
        mosquitto_publish_callback_set(handle) { _, userdata, mid in
            guard let userdata else { return }
            Unmanaged<Shared>.fromOpaque(userdata).takeUnretainedValue().onPublish(mid: mid)
        }
        mosquitto_message_callback_set(handle) { _, userdata, message in
            guard let userdata, let message else { return }
            Unmanaged<Shared>.fromOpaque(userdata).takeUnretainedValue().onMessage(message.pointee)
        }
        mosquitto_log_callback_set(handle) { _, userdata, level, text in
            guard let userdata, let text else { return }
            Unmanaged<Shared>.fromOpaque(userdata).takeUnretainedValue()
                .onLog(level: level, String(cString: text))
        }
    }

    /// State shared with libmosquitto's loop thread (passed as `userdata`).
    final class Shared: @unchecked Sendable {
        struct State {
            var connected = false
            var loopRunning = false
            var stopped = false
            var waiters: [Int32: Delivery] = [:]
            /// PUBACKs that arrived before `enqueue` registered their delivery.
            var earlyAcks: Set<Int32> = []
            /// Our own fire-and-forget publishes (the `online` message).
            var internalMIDs: Set<Int32> = []
            var subscriptions: [String: Int32] = [:]
            var nextStreamID = 0
            var messageStreams: [Int: (filter: String, continuation: AsyncStream<Message>.Continuation)] = [:]
            var eventStreams: [Int: AsyncStream<ConnectionEvent>.Continuation] = [:]
        }

        let state = Locked(State())
        /// Signalled once when the loop thread returns.
        let loopFinished = DispatchSemaphore(value: 0)
        var isStopped: Bool { state.withLock { $0.stopped } }
        let configuration: MQTTConfiguration
        let logger: Logger

        init(configuration: MQTTConfiguration, logger: Logger) {
            self.configuration = configuration
            self.logger = logger
        }

        private func emit(_ event: ConnectionEvent) {
            let streams = state.withLock { Array($0.eventStreams.values) }
            for stream in streams { stream.yield(event) }
        }

        func onConnect(_ mosq: OpaquePointer?, rc: Int32, sessionPresent: Bool) {
            guard rc == 0 else {
                let reason = String(cString: mosquitto_connack_string(rc))
                logger.error("MQTT broker refused the connection", metadata: [
                    "broker": "\(configuration.endpoint)", "client_id": "\(configuration.clientID)",
                    "reason": "\(reason)"])
                emit(.refused(reason: "\(configuration.endpoint): \(reason)"))
                return
            }
            let (subscriptions, stopped) = state.withLock { state in
                state.connected = true
                return (state.subscriptions, state.stopped)
            }
            logger.info("MQTT connected", metadata: [
                "broker": "\(configuration.endpoint)", "client_id": "\(configuration.clientID)",
                "session_present": "\(sessionPresent)"])
            if let availability = configuration.availability, !stopped {
                var mid: Int32 = 0
                let payload = Array(availability.online.utf8)
                let rc = payload.withUnsafeBytes {
                    mosquitto_publish(mosq, &mid, availability.topic, Int32($0.count), $0.baseAddress, 1, true)
                }
                if rc == MQTTClient.success {
                    // on_publish runs on this same thread later, so registering now is race free.
                    _ = state.withLock { $0.internalMIDs.insert(mid) }
                } else {
                    logger.warning("could not publish availability", metadata: [
                        "broker": "\(configuration.endpoint)", "topic": "\(availability.topic)",
                        "error": "\(MQTTClient.describe(rc))"])
                }
            }
            for (filter, qos) in subscriptions.sorted(by: { $0.key < $1.key }) {
                let rc = mosquitto_subscribe(mosq, nil, filter, qos)
                if rc != MQTTClient.success {
                    logger.warning("could not resubscribe", metadata: [
                        "broker": "\(configuration.endpoint)", "filter": "\(filter)",
                        "error": "\(MQTTClient.describe(rc))"])
                }
            }
            emit(.connected(sessionPresent: sessionPresent))
        }

        func onDisconnect(rc: Int32) {
            let stopped = state.withLock { state -> Bool in
                state.connected = false
                return state.stopped
            }
            let reason = rc == 0 ? "client disconnected" : MQTTClient.describe(rc)
            if stopped {
                logger.debug("MQTT connection closed", metadata: ["broker": "\(configuration.endpoint)"])
            } else {
                logger.warning("MQTT connection lost; reconnecting with back-off", metadata: [
                    "broker": "\(configuration.endpoint)", "reason": "\(reason)"])
            }
            emit(.disconnected(reason: "\(configuration.endpoint): \(reason)"))
        }

        func onPublish(mid: Int32) {
            let delivery = state.withLock { state -> Delivery? in
                if let delivery = state.waiters.removeValue(forKey: mid) { return delivery }
                if state.internalMIDs.remove(mid) == nil { state.earlyAcks.insert(mid) }
                return nil
            }
            delivery?.complete(.success(PublishAck(messageID: mid)))
        }

        func onMessage(_ message: mosquitto_message) {
            let topic = String(cString: message.topic)
            var payload: [UInt8] = []
            if message.payloadlen > 0, let raw = message.payload {
                payload = Array(UnsafeRawBufferPointer(start: raw, count: Int(message.payloadlen)))
            }
            let received = Message(topic: topic, payload: payload, qos: Int(message.qos), retained: message.retain)
            let streams = state.withLock { Array($0.messageStreams.values) }
            for (filter, continuation) in streams {
                var matches = false
                if mosquitto_topic_matches_sub(filter, topic, &matches) == MQTTClient.success, matches {
                    continuation.yield(received)
                }
            }
        }

        func onLog(level: Int32, _ text: String) {
            let metadata: Logger.Metadata = ["broker": "\(configuration.endpoint)"]
            if level & Int32(MOSQ_LOG_ERR) != 0 {
                logger.error("libmosquitto: \(text)", metadata: metadata)
            } else if level & Int32(MOSQ_LOG_WARNING) != 0 {
                logger.warning("libmosquitto: \(text)", metadata: metadata)
            } else {
                logger.trace("libmosquitto: \(text)", metadata: metadata)
            }
        }

        /// Fails every waiting delivery and ends every stream.
        func finishAll(error: TelemetryError) {
            let (waiters, messages, events) = state.withLock { state in
                let result = (Array(state.waiters.values), Array(state.messageStreams.values),
                              Array(state.eventStreams.values))
                state.waiters.removeAll()
                state.messageStreams.removeAll()
                state.eventStreams.removeAll()
                return result
            }
            for waiter in waiters { waiter.complete(.failure(error)) }
            for stream in messages { stream.continuation.finish() }
            for stream in events { stream.finish() }
        }
    }
}
