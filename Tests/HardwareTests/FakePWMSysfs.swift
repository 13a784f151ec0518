import Foundation
import Synchronization
@testable import Hardware

/// A sysfs PWM tree in a temp dir that behaves like the kernel where it matters: writing `export`
/// creates `pwmN/` (period, duty_cycle, enable at 0) whose files stay unwritable for the first
/// `udevDelayChecks` permission checks; a duty above the period (or a period below the duty) is
/// refused with `EINVAL`. Every successful write is logged as `file=value`.
final class FakePWMSysfs: SysfsIO {
    let root: String
    let udevDelayChecks: Int
    private let real = PosixSysfs()
    private let state = Mutex<(log: [String], checksLeft: Int)>(([], 0))

    init(root: String, chips: [Int: String] = [0: "fe20c000.pwm"], npwm: Int = 2, udevDelayChecks: Int = 0) throws {
        self.root = root
        self.udevDelayChecks = udevDelayChecks
        for (chip, device) in chips {
            let chipPath = "\(root)/pwmchip\(chip)"
            try FileManager.default.createDirectory(atPath: chipPath, withIntermediateDirectories: true)
            try "".write(toFile: "\(chipPath)/export", atomically: false, encoding: .utf8)
            try "\(npwm)\n".write(toFile: "\(chipPath)/npwm", atomically: false, encoding: .utf8)
            try FileManager.default.createSymbolicLink(atPath: "\(chipPath)/device", withDestinationPath: "../../../\(device)")
        }
    }

    var writes: [String] { state.withLock { $0.log } }

    /// Writes relative to the root, e.g. `pwmchip0/pwm0/duty_cycle=1500000`.
    var relativeWrites: [String] { writes.map { String($0.dropFirst(root.count + 1)) } }

    func write(_ value: String, to path: String) throws(HardwareError) {
        let name = (path as NSString).lastPathComponent
        let directory = (path as NSString).deletingLastPathComponent
        if name == "duty_cycle", let period = Int64((try? real.read("\(directory)/period")) ?? ""), let duty = Int64(value), duty > period {
            throw HardwareError(.unsupported, "\(path): write '\(value)' failed: Invalid argument (errno 22)", errno: 22)
        }
        if name == "period", let duty = Int64((try? real.read("\(directory)/duty_cycle")) ?? ""), let period = Int64(value), period < duty {
            throw HardwareError(.unsupported, "\(path): write '\(value)' failed: Invalid argument (errno 22)", errno: 22)
        }
        try real.write(value, to: path)
        state.withLock { $0.log.append("\(path)=\(value)") }
        if name == "export", let channel = Int(value) {
            let channelPath = "\(directory)/pwm\(channel)"
            try? FileManager.default.createDirectory(atPath: channelPath, withIntermediateDirectories: true)
            for file in ["period", "duty_cycle", "enable"] {
                try? "0\n".write(toFile: "\(channelPath)/\(file)", atomically: false, encoding: .utf8)
            }
            state.withLock { $0.checksLeft = udevDelayChecks }
        }
    }

    func read(_ path: String) throws(HardwareError) -> String { try real.read(path) }
    func exists(_ path: String) -> Bool { real.exists(path) }
    func list(_ path: String) -> [String] { real.list(path) }
    func linkTarget(_ path: String) -> String? { real.linkTarget(path) }

    func isWritable(_ path: String) -> Bool {
        let blocked = state.withLock { state -> Bool in
            guard state.checksLeft > 0, path.contains("/pwm"), !path.hasSuffix("export") else { return false }
            state.checksLeft -= 1
            return true
        }
        return !blocked && real.isWritable(path)
    }
}

/// A clock whose sleeps return at once but advance `now` (so travel and ramp times are visible).
final class InstantClock: Clock, @unchecked Sendable {
    typealias Duration = Swift.Duration
    struct Instant: InstantProtocol {
        var offset: Swift.Duration
        func advanced(by duration: Swift.Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Swift.Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }
    private let current = Mutex(Instant(offset: .zero))
    private let sleeps = Mutex<[Swift.Duration]>([])
    var now: Instant { current.withLock { $0 } }
    var minimumResolution: Swift.Duration { .nanoseconds(1) }
    var slept: [Swift.Duration] { sleeps.withLock { $0 } }

    func sleep(until deadline: Instant, tolerance: Swift.Duration?) async throws {
        current.withLock { now in
            sleeps.withLock { $0.append(deadline.offset - now.offset) }
            if deadline > now { now = deadline }
        }
    }
}
