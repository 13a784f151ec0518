import BinCore
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

/// A manual clock on which every sleep of exactly `lost` never ends (until cancelled): a timer
/// the controller armed that never fires, which is how a stuck cycle looks from outside.
struct TimerLosingClock: Clock {
    typealias Instant = ManualClock.Instant
    let base: ManualClock
    let lost: Duration
    var now: Instant { base.now }
    var minimumResolution: Duration { .zero }

    func sleep(until deadline: Instant, tolerance: Duration? = nil) async throws {
        if base.now.duration(to: deadline) == lost {
            try await Task.sleep(for: .seconds(86_400))  // ends only by cancellation
        } else {
            try await base.sleep(until: deadline, tolerance: tolerance)
        }
    }
}

/// A bin (fakes on a manual clock) whose controller beats a heartbeat, and the systemd notifier
/// pinging a test socket on the same clock, so a test can watch which seconds get a WATCHDOG=1.
struct WatchdogRig {
    let clock = ManualClock()
    let socket: NotifySocket
    let triggers = FakeTriggerSource()
    let frames = FakeFrameSource()
    let classifier = ScriptedClassifier(labels: TestBins.trashnetLabels)
    let logs = LogCapture()
    let controller: BinController
    let notifier: SystemdNotifyService

    /// - Parameter lostTimer: sleeps of this length on the controller's clock never end.
    init(lostTimer: Duration? = nil) throws {
        socket = try NotifySocket(abstract: true)
        let heartbeat = Heartbeat(clock: clock, interval: .seconds(1), staleAfter: .seconds(3))
        let clock = self.clock
        let controllerClock: any Clock<Duration> = lostTimer.map { TimerLosingClock(base: clock, lost: $0) } ?? clock
        controller = try BinController(
            config: TestBins.config, labels: TestBins.trashnetMap, identity: .init(binID: "bin-wd", firmware: "test"),
            triggers: triggers, frames: frames, classifier: classifier, flap: RecordingFlap(), sink: RecordingEventSink(),
            clock: controllerClock, heartbeat: heartbeat, wallClock: { 1_700_000_000 }, logger: logs.logger())
        notifier = SystemdNotifyService(notifier: SystemdNotifier(socketPath: socket.name), pingInterval: .seconds(1),
                                        heartbeat: heartbeat, clock: clock, logger: logs.logger())
    }

    /// Moves the clock `seconds` forward in 250 ms steps, each once the heartbeat and notifier
    /// tasks sleep again; returns how many WATCHDOG=1 pings each second brought.
    func drive(seconds: Int) async -> [Int] {
        var pings: [Int] = []
        for _ in 0..<seconds {
            for _ in 0..<4 {
                await clock.waitForSleepers(2)
                try? await Task.sleep(for: .milliseconds(5))
                clock.advance(by: .milliseconds(250))
            }
            await clock.waitForSleepers(2)
            pings.append(socket.receive(timeout: .milliseconds(60)) { _ in false }.filter { $0 == "WATCHDOG=1" }.count)
        }
        return pings
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

    /// An idle bin keeps its watchdog fed: the controller's loop beats the heartbeat through its
    /// actor every second and every ping interval has a WATCHDOG=1.
    @Test(.timeLimit(.minutes(1))) func idleControllerKeepsTheWatchdogFed() async throws {
        let rig = try WatchdogRig()
        let bin = Task { await rig.controller.run() }
        let notify = Task { try await rig.notifier.run() }
        #expect(rig.socket.receive(timeout: .seconds(5)) { $0.count >= 2 } == ["READY=1", "WATCHDOG=1"])
        let pings = await rig.drive(seconds: 10)
        #expect(pings.reduce(0, +) >= 9 && pings.suffix(4).reduce(0, +) >= 3, "pings per second: \(pings)")
        #expect(!rig.logs.lines.contains { $0.level >= .error }, "\(rig.logs.text)")
        notify.cancel()
        bin.cancel()
        await bin.value
        _ = await notify.result
    }

    /// A long but legitimate cycle (a classification that hangs until its 5 s timeout, then the
    /// fault and its 1 s back-off) never starves the watchdog: each wait is within its own
    /// timeout, so the heartbeat stays fresh.
    @Test(.timeLimit(.minutes(1))) func slowCycleWithinItsTimeoutsKeepsTheWatchdogFed() async throws {
        let rig = try WatchdogRig()
        rig.frames.enqueue(origin: "slow")
        rig.classifier.set("slow", .hang)
        let bin = Task { await rig.controller.run() }
        let notify = Task { try await rig.notifier.run() }
        _ = rig.socket.receive(timeout: .seconds(5)) { $0.count >= 2 }
        rig.triggers.send(.lidOpened)
        #expect(await eventually { await rig.controller.snapshot.state == .triggered })
        let pings = await rig.drive(seconds: 12)
        #expect(rig.logs.lines.contains { $0.message.contains("classification timed out after 5s") }, "\(rig.logs.text)")
        #expect(await rig.controller.snapshot.state == .idle)
        #expect(pings.reduce(0, +) >= 11 && !zip(pings, pings.dropFirst()).contains { $0 == 0 && $1 == 0 }, "pings per second: \(pings)")
        #expect(!rig.logs.lines.contains { $0.message.hasPrefix("no progress") || $0.message.contains("withholding") }, "\(rig.logs.text)")
        notify.cancel()
        bin.cancel()
        await bin.value
        _ = await notify.result
    }

    /// A stuck cycle stops the pings: the camera hangs and the capture timeout never fires (its
    /// timer is lost), so the bin sits in `capturing` past its deadline. The heartbeat task still
    /// runs but no longer beats; once the last beat is older than `staleAfter` the notifier
    /// withholds WATCHDOG=1 (systemd would restart the service) and says so once.
    @Test(.timeLimit(.minutes(1))) func stuckCycleStopsTheWatchdogPings() async throws {
        let rig = try WatchdogRig(lostTimer: TestBins.config.timeouts.capture)
        rig.frames.enqueue(.hang)
        let bin = Task { await rig.controller.run() }
        let notify = Task { try await rig.notifier.run() }
        _ = rig.socket.receive(timeout: .seconds(5)) { $0.count >= 2 }
        rig.triggers.send(.lidOpened)
        #expect(await eventually { await rig.controller.snapshot.state == .triggered })
        let pings = await rig.drive(seconds: 16)
        // Capture starts at ~0.5 s and is due at ~2.5 s; past 3 s of grace (~5.5 s) the beats
        // stop, and the last one (~5 s) is stale (> 3 s old) from ~9 s on.
        #expect(await rig.controller.snapshot.state == .capturing)
        #expect(pings.prefix(6).reduce(0, +) >= 5, "pings per second: \(pings)")
        #expect(pings.suffix(4) == [0, 0, 0, 0], "pings per second: \(pings)")
        let stuck = rig.logs.lines.filter { $0.message.hasPrefix("no progress: capturing is") }
        let withheld = rig.logs.lines.filter { $0.message.contains("withholding WATCHDOG=1") }
        #expect(stuck.count == 1 && withheld.count == 1, "\(rig.logs.text)")
        print("watchdog: pings per second while stuck in capturing: \(pings)")
        notify.cancel()
        bin.cancel()
        await bin.value
        _ = await notify.result
    }
}
