import BinCore
import Logging

/// An HC-SR04 ultrasonic sensor in front of the chute, reporting `.proximity` when an item comes
/// within `ProximityDetector.thresholdCentimetres`.
///
/// Wiring: trigger on an output line, echo on an input line — through a divider, the HC-SR04's echo
/// is 5 V and the Pi's GPIO is not 5 V tolerant. Both lines are requested in `init` (`HCSR04`).
/// `events()` pings on its own thread: a 10 µs trigger pulse, the echo's both edges with kernel timestamps,
/// `pingsPerReading` pings 60 ms apart, median, detector. Needs `/dev/gpiochipN` access (`gpio`).
public final class UltrasonicTrigger: TriggerSource {
    public struct Configuration: Sendable, Hashable {
        /// Chip name, path, number or label.
        public var chip: String
        /// Trigger (output) line offset.
        public var triggerOffset: UInt32
        /// Echo (input) line offset.
        public var echoOffset: UInt32
        public var ranging: UltrasonicRanging
        public var detector: ProximityDetector
        /// Pings per reading (median of N); 1 disables the median.
        public var pingsPerReading: Int
        /// Pause between pings (≥ 60 ms per the datasheet, so old echoes die out).
        public var pingInterval: Duration
        public var consumer: String

        public init(chip: String, triggerOffset: UInt32, echoOffset: UInt32,
                    ranging: UltrasonicRanging = UltrasonicRanging(),
                    detector: ProximityDetector = ProximityDetector(thresholdCentimetres: 20),
                    pingsPerReading: Int = 5, pingInterval: Duration = .milliseconds(60),
                    consumer: String = "smartbin") {
            self.chip = chip
            self.triggerOffset = triggerOffset
            self.echoOffset = echoOffset
            self.ranging = ranging
            self.detector = detector
            self.pingsPerReading = max(1, pingsPerReading)
            self.pingInterval = pingInterval
            self.consumer = consumer
        }

        public var source: String { "\(chip):\(triggerOffset)/\(echoOffset)" }
    }

    public let configuration: Configuration
    private let logger: Logger

    /// Checks both lines can be requested (and releases them; the ping thread requests its own).
    /// - Throws: `HardwareError` naming chip and offset (missing chip, busy line, no permission).
    public init(_ configuration: Configuration, logger: Logger = Logger(label: "smartbin.ultrasonic")) throws(HardwareError) {
        self.configuration = configuration
        self.logger = logger
        _ = try Self.open(configuration)
    }

    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self, bufferingPolicy: .bufferingNewest(16))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let configuration = self.configuration
        let logger = self.logger
        BlockingThread.start(name: "ultrasonic \(configuration.source)") {
            do {
                let sensor = try Self.open(configuration)
                var detector = configuration.detector
                while !stop.isSet {
                    var readings: [UltrasonicRanging.Reading] = []
                    for _ in 0..<configuration.pingsPerReading where !stop.isSet {
                        let ping = try sensor.ping(echoTimeout: configuration.ranging.echoTimeout)
                        readings.append(ping.reading(configuration.ranging))
                        MonotonicClock.sleep(configuration.pingInterval)
                    }
                    let reading = configuration.ranging.median(of: readings)
                    if detector.update(reading) {
                        continuation.yield(TriggerEvent(kind: .proximity, kernelTimestamp: MonotonicClock.now(),
                                                        source: configuration.source))
                    }
                }
            } catch {
                logger.error("ultrasonic trigger stopped", metadata: ["lines": "\(configuration.source)", "error": "\(error)"])
            }
            continuation.finish()
        }
        return stream
    }

    private static func open(_ configuration: Configuration) throws(HardwareError) -> HCSR04 {
        try HCSR04(chip: configuration.chip, triggerOffset: configuration.triggerOffset,
                   echoOffset: configuration.echoOffset, consumer: configuration.consumer)
    }
}
