import BinCore
import Foundation

/// Trigger edges at random times: a Poisson process of `rate` edges per second, repeatable for a
/// seed. Runs until cancelled, or until `limit` edges were sent.
public struct RandomTriggerSource: TriggerSource {
    public let rate: Double
    public let seed: UInt64
    public let kind: TriggerKind
    public let limit: Int?
    private let clock: ClockSleep

    /// - Throws: `SimulationError.invalidArgument` unless `rate` is positive and finite.
    public init(rate: Double, seed: UInt64, kind: TriggerKind = .lidOpened, limit: Int? = nil,
                clock: any Clock<Duration>) throws(SimulationError) {
        guard rate > 0, rate.isFinite else {
            throw SimulationError(.invalidArgument, "trigger rate must be a positive number per second, got \(rate)")
        }
        self.rate = rate
        self.seed = seed
        self.kind = kind
        self.limit = limit
        self.clock = ClockSleep(clock)
    }

    /// The gaps between edges this source will wait, in order (for tests and logs).
    public func gaps(count: Int) -> [Duration] {
        var rng = SeededGenerator(seed: seed)
        return (0..<count).map { _ in Self.gap(rate: rate, using: &rng) }
    }

    static func gap(rate: Double, using rng: inout SeededGenerator) -> Duration {
        let u = Double.random(in: Double.ulpOfOne..<1, using: &rng)
        return .nanoseconds(Int64((-Foundation.log(u) / rate * 1e9).rounded()))
    }

    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self)
        let (rate, seed, kind, limit, clock) = (self.rate, self.seed, self.kind, self.limit, self.clock)
        let task = Task {
            var rng = SeededGenerator(seed: seed)
            var sent = 0
            while limit.map({ sent < $0 }) ?? true {
                do { try await clock.sleep(Self.gap(rate: rate, using: &rng)) } catch { break }
                sent += 1
                continuation.yield(TriggerEvent(kind: kind, kernelTimestamp: clock.now(), source: "random#\(sent)"))
            }
            continuation.finish()
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }
}
