import BinCore
import Logging
import Synchronization

/// A flap that only logs: each move is reported with target angle, travel and clock time, and
/// takes `travelPerDegree` × distance on the injected clock, like a real servo.
public final class LoggingFlap: Flap {
    private let logger: Logger
    private let clock: ClockSleep
    private let travelPerDegree: Duration
    private let position: Mutex<Double>

    /// - Parameters:
    ///   - homeDegrees: where the simulated flap starts.
    ///   - travelPerDegree: simulated servo speed (a hobby servo takes ~2ms per degree).
    public init(logger: Logger = Logger(label: "smartbin.flap"), clock: any Clock<Duration>,
                homeDegrees: Double = 0, travelPerDegree: Duration = .milliseconds(2)) {
        self.logger = logger
        self.clock = ClockSleep(clock)
        self.travelPerDegree = travelPerDegree
        self.position = Mutex(homeDegrees)
    }

    /// The angle the flap is at (or last headed for).
    public var degrees: Double { position.withLock { $0 } }

    public func move(toDegrees target: Double) async throws {
        let from = position.withLock { $0 }
        let travel = travelPerDegree * abs(target - from)
        logger.info("flap \(from)° → \(target)° (\(travel.shortDescription)) at t=\(clock.now().shortDescription)")
        try await clock.sleep(travel)
        position.withLock { $0 = target }
    }

    public func release() async {
        logger.info("flap released at \(degrees)° at t=\(clock.now().shortDescription)")
    }
}
