import BinCore
import Logging

/// The servo flap on a sysfs PWM channel (hardware PWM: no jitter from CPU load).
///
/// The first move exports the channel and waits (bounded) for udev to make its files writable,
/// then writes `period`, `duty_cycle` (in the order `PWMWritePlan` gives) and `enable`. A move
/// optionally ramps in steps, then waits out the servo's travel time. At the rest angles named by
/// `releaseAt` (the home position by default) it then drops the pulse (`duty_cycle` 0) so an idle
/// servo does not buzz; at compartment angles it keeps holding so the flap carries the item.
/// Needs write access to the chip's `export` and the channel files (`gpio` group on Raspberry Pi OS).
public actor SysfsPWMFlap<C: Clock>: Flap where C.Duration == Duration {
    public struct Configuration: Sendable, Hashable {
        /// Sysfs PWM class directory.
        public var root: String
        public var chip: Int
        public var channel: Int
        public var calibration: ServoCalibration
        /// Ramp steps per move (0 or 1: jump straight to the target).
        public var rampSteps: Int
        /// Extra wait after the computed travel time, for the horn to stop wobbling.
        public var settle: Duration
        /// Angles after which the pulse is released (duty 0) once settled.
        public var releaseAt: Set<Double>
        /// Home (safe) angle, used by `shutdown()`.
        public var homeDegrees: Double
        /// How long to wait for udev to hand over the exported channel's files.
        public var exportTimeout: Duration

        public init(root: String = "/sys/class/pwm", chip: Int, channel: Int,
                    calibration: ServoCalibration = ServoCalibration(), rampSteps: Int = 0,
                    settle: Duration = .milliseconds(100), releaseAt: Set<Double>? = nil, homeDegrees: Double,
                    exportTimeout: Duration = .seconds(2)) {
            self.root = root
            self.chip = chip
            self.channel = channel
            self.calibration = calibration
            self.rampSteps = rampSteps
            self.settle = settle
            self.releaseAt = releaseAt ?? [homeDegrees]
            self.homeDegrees = homeDegrees
            self.exportTimeout = exportTimeout
        }
    }

    public let configuration: Configuration
    private let pwm: SysfsPWMChannel
    private let clock: C
    private let logger: Logger
    private var prepared = false
    private var period: Int64 = 0
    private var duty: Int64 = 0
    private var enabled = false
    /// Last commanded angle (`nil` until the first move).
    public private(set) var angle: Double?

    /// - Parameters:
    ///   - io: file access (default the real file system); tests pass a recording fake.
    ///   - clock: sleeps for ramp steps, travel and the export wait.
    public init(_ configuration: Configuration, io: any SysfsIO = PosixSysfs(), clock: C,
                logger: Logger = Logger(label: "smartbin.flap")) {
        self.configuration = configuration
        self.pwm = SysfsPWMChannel(root: configuration.root, chip: configuration.chip,
                                   channel: configuration.channel, io: io)
        self.clock = clock
        self.logger = logger
    }

    /// Moves to `degrees` and returns when the servo has had time to get there.
    /// - Throws: `HardwareError.outOfRange` for an angle outside the calibration, or the sysfs
    ///   error naming the file (missing chip, permission, refused value).
    public func move(toDegrees degrees: Double) async throws {
        let calibration = configuration.calibration
        _ = try calibration.pulse(forDegrees: degrees)
        try await prepare()
        let from = angle
        let steps = calibration.ramp(from: from, to: degrees, steps: configuration.rampSteps)
        let stepTime = calibration.travelTime(from: from, to: degrees) / steps.count
        for (index, step) in steps.enumerated() {
            try apply(duty: ServoCalibration.nanoseconds(try calibration.pulse(forDegrees: step)))
            if !enabled {
                try pwm.write("enable", 1)
                enabled = true
            }
            angle = step
            if index < steps.count - 1 { try await clock.sleep(for: stepTime) }
        }
        try await clock.sleep(for: stepTime + configuration.settle)
        if configuration.releaseAt.contains(degrees) { try apply(duty: 0) }
    }

    /// Stops driving the servo: duty 0 and `enable` 0. Errors are logged, not thrown.
    public func release() async {
        guard prepared else { return }
        do {
            try apply(duty: 0)
            if enabled {
                try pwm.write("enable", 0)
                enabled = false
            }
        } catch {
            logger.error("could not release the servo", metadata: ["error": "\(error)"])
        }
    }

    /// Safe stop: home, then release. Errors are logged.
    public func shutdown() async {
        do {
            try await move(toDegrees: configuration.homeDegrees)
        } catch {
            logger.error("could not home the flap on shutdown", metadata: ["error": "\(error)"])
        }
        await release()
    }

    /// Exports the channel, waits for its files to become writable, reads back its state and sets
    /// the period.
    private func prepare() async throws {
        guard !prepared else { return }
        try pwm.export()
        let deadline = clock.now.advanced(by: configuration.exportTimeout)
        while true {
            let failure: HardwareError
            do throws(HardwareError) {
                try readState()
                break
            } catch {
                failure = error
            }
            guard failure.code == .notFound || failure.code == .permissionDenied else { throw failure }
            guard clock.now < deadline else {
                throw HardwareError(failure.code, "\(pwm.channelPath) not usable \(configuration.exportTimeout) after export: \(failure.message) — check the udev rule / gpio group (board/README.md)", errno: failure.errno)
            }
            try await clock.sleep(for: .milliseconds(20))
        }
        let target = ServoCalibration.nanoseconds(configuration.calibration.period)
        try apply(period: target, duty: min(duty, target))
        prepared = true
    }

    /// Reads back period, duty and enable, and checks write access (udev may still be fixing the
    /// modes just after export).
    private func readState() throws(HardwareError) {
        period = try pwm.read("period")
        duty = try pwm.read("duty_cycle")
        enabled = try pwm.read("enable") != 0
        for name in ["period", "duty_cycle", "enable"] where !pwm.io.isWritable(pwm.attribute(name)) {
            throw HardwareError(.permissionDenied, "\(pwm.attribute(name)) is not writable")
        }
    }

    private func apply(duty newDuty: Int64) throws(HardwareError) {
        try apply(period: period, duty: newDuty)
    }

    private func apply(period newPeriod: Int64, duty newDuty: Int64) throws(HardwareError) {
        for (attribute, value) in PWMWritePlan.writes(currentPeriod: period, currentDuty: duty,
                                                      period: newPeriod, duty: newDuty) {
            try pwm.write(attribute.rawValue, value)
            switch attribute {
            case .period: period = value
            case .dutyCycle: duty = value
            }
        }
    }
}

extension SysfsPWMFlap where C == ContinuousClock {
    /// A flap on the real clock and file system.
    public init(_ configuration: Configuration, logger: Logger = Logger(label: "smartbin.flap")) {
        self.init(configuration, io: PosixSysfs(), clock: ContinuousClock(), logger: logger)
    }
}
