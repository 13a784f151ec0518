import BinCore
import Logging
import Synchronization

/// A lid switch or IR break-beam on one GPIO line, reporting debounced edges as trigger events.
///
/// The line is requested (both-edge events, consumer `smartbin`) in `init`, so a missing chip or a
/// busy line fails at start-up with a message naming chip and offset. `events()` waits on its own
/// thread in 100 ms slices, so cancelling the consumer stops it within 100 ms and releases the line.
/// Needs read/write access to `/dev/gpiochipN` (`gpio` group).
public final class GPIOTriggerSource: TriggerSource {
    /// How the line is wired and what its edges mean.
    public struct Configuration: Sendable, Hashable {
        /// Chip name, path, number or label (`gpiochip0`, `/dev/gpiochip0`, `pinctrl-rp1`).
        public var chip: String
        /// Line offset on the chip (the BCM GPIO number on a Pi header).
        public var offset: UInt32
        /// The line is active when electrically low (switch or sensor pulling to ground); the
        /// kernel then reports logical edges, so `rising` means "became active".
        public var activeLow: Bool
        /// Pull resistor to request.
        public var bias: GPIOBias
        /// Event for a (logical) rising edge, `nil` to ignore such edges.
        public var rising: TriggerKind?
        /// Event for a (logical) falling edge, `nil` to ignore.
        public var falling: TriggerKind?
        /// Contact-bounce filter on the kernel timestamps (see `EdgeDebouncer`).
        public var debounce: Duration
        /// Consumer label the kernel shows for the line (`gpioinfo`).
        public var consumer: String

        public init(chip: String, offset: UInt32, activeLow: Bool = false, bias: GPIOBias = .asIs,
                    rising: TriggerKind?, falling: TriggerKind?, debounce: Duration = .milliseconds(20),
                    consumer: String = "smartbin") {
            self.chip = chip
            self.offset = offset
            self.activeLow = activeLow
            self.bias = bias
            self.rising = rising
            self.falling = falling
            self.debounce = debounce
            self.consumer = consumer
        }

        /// `chip:offset`, the `source` of the events.
        public var source: String { "\(chip):\(offset)" }

        /// The trigger an accepted edge stands for, if any.
        public func kind(for edge: GPIOEdge) -> TriggerKind? {
            edge.kind == .rising ? rising : falling
        }
    }

    public let configuration: Configuration
    private let logger: Logger
    /// The line requested in `init`, handed to the first `events()` call's thread.
    private let requested: Mutex<GPIOLine?>

    /// Opens the chip and requests the line for both-edge events.
    /// - Throws: `HardwareError.notFound` (no such chip, e.g. `/dev/gpiochip0` missing),
    ///   `.busy` (line held by another process, named), `.permissionDenied` (not in `gpio`),
    ///   `.unsupported` (offset beyond the chip, or bias flags on a kernel older than 5.5).
    public init(_ configuration: Configuration, logger: Logger = Logger(label: "smartbin.gpio")) throws(HardwareError) {
        self.configuration = configuration
        self.logger = logger
        let line = try Self.open(configuration)
        self.requested = Mutex(line)
    }

    /// Starts watching the line. Each call after the first re-requests the line (the previous
    /// stream must have ended). The stream finishes if the line fails (logged as an error).
    public func events() -> AsyncStream<TriggerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: TriggerEvent.self,
                                                            bufferingPolicy: .bufferingNewest(64))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let held = requested.withLock { line -> GPIOLine? in
            let taken = line
            line = nil
            return taken
        }
        let configuration = self.configuration
        let logger = self.logger
        BlockingThread.start(name: "gpio \(configuration.source)") {
            do {
                let line = try held ?? Self.open(configuration)
                let initial = try? line.value()
                var debouncer = EdgeDebouncer(window: configuration.debounce, initialLevel: initial)
                let emit = { (edge: GPIOEdge) in
                    guard let kind = configuration.kind(for: edge) else { return }
                    continuation.yield(TriggerEvent(kind: kind, kernelTimestamp: edge.timestamp,
                                                    source: configuration.source))
                }
                while !stop.isSet {
                    let edges = try line.waitEdges(timeout: .milliseconds(100))
                    if edges.isEmpty {
                        if let settled = debouncer.settle(at: MonotonicClock.now()) { emit(settled) }
                        continue
                    }
                    for edge in edges {
                        if let settled = debouncer.settle(at: edge.timestamp) { emit(settled) }
                        if let accepted = debouncer.feed(edge) { emit(accepted) }
                    }
                }
            } catch {
                logger.error("GPIO trigger stopped", metadata: ["line": "\(configuration.source)", "error": "\(error)"])
            }
            continuation.finish()
        }
        return stream
    }

    private static func open(_ configuration: Configuration) throws(HardwareError) -> GPIOLine {
        let line = try GPIOLine(chip: configuration.chip, offset: configuration.offset)
        try line.requestBothEdges(consumer: configuration.consumer, activeLow: configuration.activeLow,
                                  bias: configuration.bias)
        return line
    }
}
