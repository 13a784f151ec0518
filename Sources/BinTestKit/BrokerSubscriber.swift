import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One message seen by a `BrokerSubscriber`.
public struct BrokerMessage: Sendable, Hashable {
    public var topic: String
    public var payload: String
    /// True when the broker delivered it from its retained store (on subscribe).
    public var retained: Bool
}

/// Collects messages from a loopback broker with `mosquitto_sub` (QoS 1), as an independent
/// client that shares no code with ours.
///
/// `start` returns only once the subscription is live: it publishes probe messages to a private
/// topic until the subscriber prints one. Payloads must be single-line text (ours are compact
/// JSON or words).
public final class BrokerSubscriber: @unchecked Sendable {
    public static let subExecutable = "/usr/bin/mosquitto_sub"
    public static let pubExecutable = "/usr/bin/mosquitto_pub"

    public let port: Int
    public let topics: [String]
    private let probeTopic = "smartbin-test/probe/\(UUID().uuidString)"
    private let process = Process()
    private let lock = NSLock()
    private var buffer: [UInt8] = []
    private var received: [BrokerMessage] = []
    private var probeSeen = false

    private init(port: Int, topics: [String]) {
        self.port = port
        self.topics = topics
    }

    /// Subscribes to `topics` on 127.0.0.1:`port` and waits until the subscription is live.
    /// - Throws: when `mosquitto_sub` cannot start or no probe arrives within `timeout`.
    public static func start(port: Int, topics: [String],
                             timeout: Duration = .seconds(5)) async throws -> BrokerSubscriber {
        let subscriber = BrokerSubscriber(port: port, topics: topics)
        try subscriber.launch()
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            try? await BrokerSubscriber.publish(port: port, topic: subscriber.probeTopic, payload: "probe",
                                                timeout: .seconds(2))
            let probeDeadline = ContinuousClock.now + .milliseconds(300)
            while ContinuousClock.now < probeDeadline {
                if subscriber.lock.withLock({ subscriber.probeSeen }) { return subscriber }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        subscriber.stop()
        throw BrokerHarnessError("mosquitto_sub on 127.0.0.1:\(port) not subscribed within \(timeout)")
    }

    deinit { stop() }

    /// Messages received so far (probes excluded), in arrival order.
    public var messages: [BrokerMessage] { lock.withLock { received } }

    /// Waits until at least `count` messages (on `topic`, when given) arrived, or `timeout`.
    /// Returns those messages (possibly fewer on timeout).
    public func waitForMessages(count: Int, topic: String? = nil,
                                timeout: Duration = .seconds(5)) async -> [BrokerMessage] {
        let deadline = ContinuousClock.now + timeout
        while true {
            let matching = messages.filter { topic == nil || $0.topic == topic }
            if matching.count >= count || ContinuousClock.now >= deadline { return matching }
            try? await Task.sleep(for: .milliseconds(10))
        }
    }

    /// Waits until a message with `payload` arrives on `topic`; returns it, or nil on timeout.
    public func waitForMessage(topic: String, payload: String,
                               timeout: Duration = .seconds(5)) async -> BrokerMessage? {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let found = messages.first(where: { $0.topic == topic && $0.payload == payload }) { return found }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return nil
    }

    /// Stops `mosquitto_sub` (SIGTERM, then SIGKILL).
    public func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(2)
        while process.isRunning && Date() < deadline { usleep(10_000) }
        if process.isRunning { kill(pid, SIGKILL) }
    }

    /// Publishes one message with `mosquitto_pub` (QoS 1) and waits for it to exit.
    public static func publish(port: Int, topic: String, payload: String, retain: Bool = false,
                               timeout: Duration = .seconds(5)) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: pubExecutable)
        process.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-t", topic, "-m", payload]
            + (retain ? ["-r"] : [])
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        if await MosquittoBroker.waitForExit(process, timeout: timeout) { return }
        kill(process.processIdentifier, SIGKILL)
        throw BrokerHarnessError("mosquitto_pub to 127.0.0.1:\(port) \(topic) did not finish within \(timeout)")
    }

    // MARK: Private

    private func launch() throws {
        process.executableURL = URL(fileURLWithPath: Self.subExecutable)
        var arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-F", "%r %t %p",
                         "-t", probeTopic]
        for topic in topics { arguments += ["-t", topic] }
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        pipe.fileHandleForReading.readabilityHandler = { [weak self] handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            self?.consume(Array(data))
        }
        try process.run()
    }

    private func consume(_ bytes: [UInt8]) {
        lock.withLock {
            buffer += bytes
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                let parts = line.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
                guard parts.count >= 2 else { continue }
                let message = BrokerMessage(topic: String(parts[1]),
                                            payload: parts.count > 2 ? String(parts[2]) : "",
                                            retained: parts[0] == "1")
                if message.topic == probeTopic {
                    probeSeen = true
                } else {
                    received.append(message)
                }
            }
        }
    }
}
