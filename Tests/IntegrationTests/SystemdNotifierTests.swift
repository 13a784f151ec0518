import BinTestKit
import Foundation
import Logging
import ServiceLifecycle
import SmartBinApp
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A Unix datagram socket standing in for systemd's notify socket.
final class NotifySocket: @unchecked Sendable {
    let fd: Int32
    /// What goes into `$NOTIFY_SOCKET`: a path, or `@name` for the abstract namespace.
    let name: String

    init(abstract: Bool) throws {
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw AppError("socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes: [UInt8]
        if abstract {
            name = "@smartbin-test-\(UUID().uuidString.prefix(8))"
            bytes = Array(name.utf8)
            bytes[0] = 0
        } else {
            name = NSTemporaryDirectory() + "sbn-\(UUID().uuidString.prefix(8)).sock"
            bytes = Array(name.utf8) + [0]
        }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + bytes.count - (abstract ? 0 : 1))
        let rc = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        guard rc == 0 else { throw AppError("bind \(name): errno \(errno)") }
        var timeout = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit {
        close(fd)
        if !name.hasPrefix("@") { unlink(name) }
    }

    /// Datagrams received within `timeout`, until `until` returns true for the list so far.
    func receive(timeout: Duration, until done: ([String]) -> Bool) -> [String] {
        var messages: [String] = []
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while ContinuousClock.now < deadline && !done(messages) {
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { messages.append(String(decoding: buffer[0..<count], as: UTF8.self)) }
        }
        return messages
    }
}

@Suite(.serialized) struct SystemdNotifierTests {
    @Test(arguments: [false, true]) func sendsToAPathOrAnAbstractSocket(abstract: Bool) throws {
        let socket = try NotifySocket(abstract: abstract)
        let notifier = try #require(SystemdNotifier(environment: ["NOTIFY_SOCKET": socket.name]))
        #expect(throws: Never.self) { try notifier.send("READY=1").get() }
        #expect(throws: Never.self) { try notifier.send("WATCHDOG=1").get() }
        #expect(socket.receive(timeout: .seconds(2)) { $0.count >= 2 } == ["READY=1", "WATCHDOG=1"])
    }

    @Test func noSocketNoNotifierAndWatchdogIntervalIsHalf() {
        #expect(SystemdNotifier(environment: [:]) == nil)
        #expect(SystemdNotifier(environment: ["NOTIFY_SOCKET": "relative"]) == nil)
        #expect(SystemdNotifier.watchdogPingInterval(environment: ["WATCHDOG_USEC": "30000000"]) == .seconds(15))
        #expect(SystemdNotifier.watchdogPingInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"]) == nil)
        #expect(SystemdNotifier.watchdogPingInterval(environment: ["WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "\(getpid())"]) == .seconds(15))
        #expect(SystemdNotifier.watchdogPingInterval(environment: [:]) == nil)
    }

    @Test func aMissingSocketIsAnErrorNotACrash() {
        let notifier = SystemdNotifier(socketPath: "/nonexistent/notify.sock")
        #expect(throws: AppError.self) { try notifier.send("READY=1").get() }
    }

    /// The real binary under a fake service manager: READY after start-up, WATCHDOG pings at half
    /// WATCHDOG_USEC, STOPPING on SIGTERM.
    @Test(.timeLimit(.minutes(2))) func simulateNotifiesReadyWatchdogAndStopping() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let socket = try NotifySocket(abstract: false)
        let port = try MosquittoBroker.freeLoopbackPort()
        let process = Process()
        process.executableURL = URL(fileURLWithPath: SmartBinChildProcess.binary)
        process.arguments = ["simulate", "--broker", "127.0.0.1:\(port)", "--bin-id", "bin-notify",
                             "--model", try SmartBinChildProcess.model("tiny-v1.5-torch-6.onnx"), "--rate", "1",
                             "--flush-timeout", "1", "--data-dir", directory + "/data"]
        process.currentDirectoryURL = URL(fileURLWithPath: SmartBinChildProcess.packageRoot)
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["NOTIFY_SOCKET": socket.name, "WATCHDOG_USEC": "400000"]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL) } }
        let started = socket.receive(timeout: .seconds(60)) { $0.filter { $0 == "WATCHDOG=1" }.count >= 3 }
        #expect(started.first == "READY=1", "\(started)")
        #expect(started.filter { $0 == "WATCHDOG=1" }.count >= 3, "\(started)")
        kill(process.processIdentifier, SIGTERM)
        let stopping = socket.receive(timeout: .seconds(20)) { $0.contains("STOPPING=1") }
        #expect(stopping.contains("STOPPING=1"), "\(stopping)")
        let deadline = ContinuousClock.now + .seconds(20)
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        #expect(!process.isRunning && process.terminationStatus == 0)
    }
}
