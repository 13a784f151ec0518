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
/// topic until the subscriber prints one. `mosquitto_sub` writes to a file in a temporary
/// directory that is parsed on each read. Payloads must be single-line text (ours are compact
/// JSON or words).
public final class BrokerSubscriber: @unchecked Sendable {
    public static let subExecutable = "/usr/bin/mosquitto_sub"
    public static let pubExecutable = "/usr/bin/mosquitto_pub"

    public let port: Int
    public let topics: [String]
    private let clientID: String?
    private let probeTopic = "smartbin-test/probe/\(UUID().uuidString)"
    private let outputPath: String
    private var process: BrokerChildProcess?

    private init(port: Int, topics: [String], clientID: String?) {
        self.port = port
        self.topics = topics
        self.clientID = clientID
        outputPath = FileManager.default.temporaryDirectory
            .appendingPathComponent("smartbin-sub-\(UUID().uuidString).txt").path
    }

    /// Subscribes to `topics` on 127.0.0.1:`port` and waits until the subscription is live.
    /// - Parameter persistentClientID: when set, connects with this client id and clean session
    ///   off, so the broker queues QoS 1 messages for it while it is away.
    /// - Throws: when `mosquitto_sub` cannot start or no probe arrives within `timeout`.
    public static func start(port: Int, topics: [String], persistentClientID: String? = nil,
                             timeout: Duration = .seconds(15)) async throws -> BrokerSubscriber {
        let subscriber = BrokerSubscriber(port: port, topics: topics, clientID: persistentClientID)
        var arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-F", "%r %t %p",
                         "-t", subscriber.probeTopic]
        for topic in topics { arguments += ["-t", topic] }
        if let persistentClientID { arguments += ["-i", persistentClientID, "-c"] }
        subscriber.process = try BrokerChildProcess(executable: subExecutable, arguments: arguments,
                                                    outputPath: subscriber.outputPath)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            try? await BrokerSubscriber.publish(port: port, topic: subscriber.probeTopic, payload: "probe",
                                                timeout: .seconds(2))
            let probeDeadline = ContinuousClock.now + .milliseconds(300)
            while ContinuousClock.now < probeDeadline {
                if subscriber.lines().contains(where: { $0.topic == subscriber.probeTopic }) {
                    return subscriber
                }
                try await Task.sleep(for: .milliseconds(10))
            }
        }
        await subscriber.stop()
        throw BrokerHarnessError("mosquitto_sub on 127.0.0.1:\(port) not subscribed within \(timeout)")
    }

    deinit {
        process = nil  // killed and reaped by its deinit
        try? FileManager.default.removeItem(atPath: outputPath)
    }

    /// Messages received so far (probes excluded), in arrival order.
    public var messages: [BrokerMessage] { lines().filter { $0.topic != probeTopic } }

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

    /// Stops `mosquitto_sub` (SIGTERM, then SIGKILL after a second).
    public func stop() async {
        await process?.stop(timeout: .seconds(1))
    }

    /// Publishes one message with `mosquitto_pub` (QoS 1) and waits for it to exit.
    public static func publish(port: Int, topic: String, payload: String, retain: Bool = false,
                               timeout: Duration = .seconds(5)) async throws {
        let process = try BrokerChildProcess(
            executable: pubExecutable,
            arguments: ["-h", "127.0.0.1", "-p", "\(port)", "-q", "1", "-t", topic, "-m", payload]
                + (retain ? ["-r"] : []))
        if await process.waitForExit(timeout: timeout) { return }
        process.signal(SIGKILL)
        throw BrokerHarnessError("mosquitto_pub to 127.0.0.1:\(port) \(topic) did not finish within \(timeout)")
    }

    /// Complete lines of the output file, parsed.
    private func lines() -> [BrokerMessage] {
        guard let data = FileManager.default.contents(atPath: outputPath) else { return [] }
        var result: [BrokerMessage] = []
        for line in data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).dropLast() {
            let text = String(decoding: line, as: UTF8.self)
            let parts = text.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count >= 2 else { continue }
            result.append(BrokerMessage(topic: String(parts[1]),
                                        payload: parts.count > 2 ? String(parts[2]) : "",
                                        retained: parts[0] == "1"))
        }
        return result
    }
}
