import BinCore
import Logging

/// The HC-SR04s above the compartments, reporting each compartment's level (`FillSensor`).
///
/// One thread polls every sensor in turn (`FillSensorPoller`): per sensor, a burst of `pings`
/// pings 60 ms apart every `pollInterval`; the median distance becomes a level through the
/// sensor's `FillGauge`. A sensor that does not answer (no echo, out of range) or whose lines
/// cannot be requested is logged with its compartment and lines and tried again at its next poll;
/// it never stops the bin or the other sensors. Wiring as for the proximity sensor: trigger on an
/// output line, echo through a 5 V → 3.3 V divider. Needs `/dev/gpiochipN` access (`gpio`).
public final class UltrasonicFillSensors: FillSensor {
    /// One compartment's sensor.
    public struct Configuration: Sendable, Hashable {
        public var compartment: String
        /// Chip name, path, number or label.
        public var chip: String
        /// Trigger (output) line offset.
        public var triggerOffset: UInt32
        /// Echo (input) line offset.
        public var echoOffset: UInt32
        /// Empty and full distances, cm, and the timing maths.
        public var gauge: FillGauge
        /// Pings per reading (median of N).
        public var pings: Int
        /// Pause after each ping (≥ 60 ms per the datasheet, so old echoes die out).
        public var pingInterval: Duration
        /// Time between two readings of this sensor.
        public var pollInterval: Duration
        public var consumer: String

        public init(compartment: String, chip: String, triggerOffset: UInt32, echoOffset: UInt32,
                    gauge: FillGauge, pings: Int = 5, pingInterval: Duration = .milliseconds(60),
                    pollInterval: Duration = .seconds(30), consumer: String = "smartbin") {
            self.compartment = compartment
            self.chip = chip
            self.triggerOffset = triggerOffset
            self.echoOffset = echoOffset
            self.gauge = gauge
            self.pings = max(1, pings)
            self.pingInterval = pingInterval
            self.pollInterval = pollInterval
            self.consumer = consumer
        }

        /// `chip:trigger/echo`, the `source` of its observations.
        public var lines: String { "\(chip):\(triggerOffset)/\(echoOffset)" }
    }

    public let sensors: [Configuration]
    private let logger: Logger
    private let openPinger: @Sendable (Configuration) throws(HardwareError) -> any EchoPinger
    private let now: @Sendable () -> Duration
    private let sleep: @Sendable (Duration) -> Void

    /// Does not touch the hardware: the polling thread requests each sensor's lines.
    /// - Parameters:
    ///   - openPinger: requests a sensor's lines (default: the GPIO `HCSR04`; tests pass
    ///     recorded echo timings).
    ///   - now, sleep: the polling thread's clock (default `CLOCK_MONOTONIC` and `nanosleep`).
    public init(_ sensors: [Configuration], logger: Logger = Logger(label: "smartbin.fill"),
                openPinger: (@Sendable (Configuration) throws(HardwareError) -> any EchoPinger)? = nil,
                now: (@Sendable () -> Duration)? = nil, sleep: (@Sendable (Duration) -> Void)? = nil) {
        self.sensors = sensors
        self.logger = logger
        // (An `if let` rather than `??`: Swift 6.3's SILGen crashes on `??` with a typed-throws closure.)
        if let openPinger {
            self.openPinger = openPinger
        } else {
            self.openPinger = Self.openHCSR04
        }
        self.now = now ?? { MonotonicClock.now() }
        self.sleep = sleep ?? { MonotonicClock.sleep($0) }
    }

    /// Starts polling on its own thread; every sensor is read at once, then at its interval.
    /// Cancelling the consumer stops the thread within 100 ms (after a burst in progress) and
    /// releases the lines.
    public func observations() -> AsyncStream<FillObservation> {
        let (stream, continuation) = AsyncStream.makeStream(of: FillObservation.self, bufferingPolicy: .bufferingNewest(64))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let (sensors, logger, openPinger, now, sleep) = (self.sensors, self.logger, self.openPinger, self.now, self.sleep)
        BlockingThread.start(name: "fill sensors") {
            var poller = FillSensorPoller(sensors, start: now()) { configuration throws(HardwareError) in
                try openPinger(configuration)
            }
            while !stop.isSet, let due = poller.nextDue {
                let wait = due - now()
                if wait > .zero {
                    sleep(min(wait, .milliseconds(100)))
                    continue
                }
                let report = poller.poll(now: now(), pause: sleep)
                for (sensor, line) in report.logs { Self.log(line, sensor, logger) }
                for observation in report.observations { continuation.yield(observation) }
            }
            continuation.finish()
        }
        return stream
    }

    /// Requests the sensor's GPIO lines.
    @Sendable private static func openHCSR04(_ configuration: Configuration) throws(HardwareError) -> any EchoPinger {
        try HCSR04(chip: configuration.chip, triggerOffset: configuration.triggerOffset,
                   echoOffset: configuration.echoOffset, consumer: configuration.consumer)
    }

    private static func log(_ line: FillSensorChannel.LogLine, _ sensor: Configuration, _ logger: Logger) {
        let level: Logger.Level = switch line.severity {
        case .debug: .debug
        case .notice: .notice
        case .warning: .warning
        case .error: .error
        }
        logger.log(level: level, "\(line.message)", metadata: ["compartment": "\(sensor.compartment)", "lines": "\(sensor.lines)"])
    }
}
