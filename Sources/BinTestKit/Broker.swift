import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Failures of the broker test harness (mosquitto not installed, did not start in time…).
public struct BrokerHarnessError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { "broker harness: \(message)" }
}

/// A real `mosquitto` broker for tests, on a free loopback port, in the foreground as a child
/// process, with its config and log in a temporary directory.
///
/// Every wait is bounded. `stop()` sends SIGTERM by PID and SIGKILL after a bound; `restart()`
/// comes back on the same port. Only ever listens on 127.0.0.1; no persistence.
public final class MosquittoBroker: @unchecked Sendable {
    public static let executable = "/usr/sbin/mosquitto"
    public let host = "127.0.0.1"
    public let port: Int
    /// Temporary directory holding `mosquitto.conf` and `mosquitto.log`.
    public let directory: URL
    private let lock = NSLock()
    private var process: BrokerChildProcess?
    private var extraEnvironment: [String: String] = [:]

    /// Variables added to the broker's environment from the next `start()` on (e.g.
    /// `OPENSSL_CONF` to limit the TLS versions it accepts).
    public var environment: [String: String] {
        get { lock.withLock { extraEnvironment } }
        set { lock.withLock { extraEnvironment = newValue } }
    }

    /// True when `/usr/sbin/mosquitto` exists (tests can skip when it does not).
    public static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }

    /// Prepares a broker on `port` (a free one when nil) without starting it.
    /// - Parameter persistence: keep sessions and queued QoS 1 messages across `restart()`
    ///   (saved to the temporary directory on SIGTERM).
    public init(port: Int? = nil, persistence: Bool = false) throws {
        self.port = try port ?? Self.freeLoopbackPort()
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("smartbin-broker-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        var config = """
            listener \(self.port) 127.0.0.1
            allow_anonymous true
            persistence \(persistence ? "true" : "false")
            persistence_location \(directory.path)/
            log_dest stderr
            log_type error
            log_type warning
            log_type notice
            log_type information
            connection_messages true

            """
        // Run as root, mosquitto 2 drops to the `mosquitto` user unless told otherwise.
        if getuid() == 0 { config += "user root\n" }
        try config.write(to: configURL, atomically: true, encoding: .utf8)
    }

    /// Creates and starts a broker on a free port.
    public static func start(persistence: Bool = false,
                             timeout: Duration = .seconds(20)) async throws -> MosquittoBroker {
        let broker = try MosquittoBroker(persistence: persistence)
        try await broker.start(timeout: timeout)
        return broker
    }

    deinit {
        lock.withLock { process = nil }  // the child's deinit kills and reaps it
        try? FileManager.default.removeItem(at: directory)
    }

    public var configURL: URL { directory.appendingPathComponent("mosquitto.conf") }
    public var logURL: URL { directory.appendingPathComponent("mosquitto.log") }

    /// The broker's log so far (for failure messages).
    public var log: String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    public var isRunning: Bool { lock.withLock { process?.isRunning ?? false } }

    /// PID of the running broker, if any.
    public var pid: Int32? { lock.withLock { process.map { $0.pid } } }

    /// Starts `mosquitto -c conf` and waits until the port accepts connections.
    /// - Throws: when the binary is missing, exits early or the port is not open in `timeout`.
    public func start(timeout: Duration = .seconds(20)) async throws {
        guard Self.isInstalled else { throw BrokerHarnessError("\(Self.executable) not installed") }
        if isRunning { return }
        if !FileManager.default.fileExists(atPath: logURL.path),
           !FileManager.default.createFile(atPath: logURL.path, contents: nil) {
            throw BrokerHarnessError("cannot create \(logURL.path)")
        }
        let process = try BrokerChildProcess(executable: Self.executable, arguments: ["-c", configURL.path],
                                             outputPath: logURL.path, environment: environment)
        lock.withLock { self.process = process }

        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if !process.isRunning {
                throw BrokerHarnessError("mosquitto on 127.0.0.1:\(port) exited (wait status \(process.status ?? -1)); log:\n\(log)")
            }
            // The port answering is not enough: another process's broker may hold it (the port
            // was free when chosen; a test run beside this one can take it before mosquitto
            // binds, and then ours exits while theirs answers). Ours must say it listens.
            if Self.canConnect(port: port), log.contains("listen socket on port \(port).") { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        await stop()
        throw BrokerHarnessError("mosquitto did not open 127.0.0.1:\(port) within \(timeout) (its log needs "
            + "log_type information for the 'Opening ipv4 listen socket' line); log:\n\(log)")
    }

    /// Stops the broker by PID: SIGTERM, then SIGKILL when it is still running after `timeout`.
    public func stop(timeout: Duration = .seconds(3)) async {
        guard let process = lock.withLock({ self.process }) else { return }
        await process.stop(timeout: timeout)
        lock.withLock { self.process = nil }
    }

    /// Stops and starts again on the same port.
    public func restart(timeout: Duration = .seconds(20)) async throws {
        await stop()
        try await start(timeout: timeout)
    }

    // MARK: Helpers

    /// A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0, read it back).
    public static func freeLoopbackPort() throws -> Int {
        // Tests run in parallel and brokers are stopped and restarted on their port: never hand
        // out a port twice in one process, or a restarting broker could find its port taken.
        for _ in 0..<100 {
            let port = try kernelChosenPort()
            let fresh = handedOut.withLock { ports in ports.insert(port).inserted }
            if fresh { return port }
        }
        throw BrokerHarnessError("no unused loopback port found in 100 tries")
    }

    private static let handedOut = NSLockedSet()

    private static func kernelChosenPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw BrokerHarnessError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw BrokerHarnessError("bind 127.0.0.1:0: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw BrokerHarnessError("getsockname: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// True when something accepts TCP connections on 127.0.0.1:`port`.
    public static func canConnect(port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        let rc = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return rc == 0
    }

    private static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        return address
    }
}

/// A set of ports behind a lock, shared by every broker of the test process.
final class NSLockedSet: @unchecked Sendable {
    private let lock = NSLock()
    private var ports: Set<Int> = []

    func withLock<T>(_ body: (inout Set<Int>) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&ports)
    }
}
