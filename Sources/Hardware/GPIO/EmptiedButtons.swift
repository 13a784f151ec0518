import BinCore
import Logging
import Synchronization

/// The compartments' "emptied" push buttons, one GPIO line each, reporting debounced presses
/// (`FillSensor`); the controller records a press as the compartment's emptying (source `button`).
///
/// Each line is watched on its own thread for both-edge events (consumer `smartbin`), in 100 ms
/// slices, through a `ButtonPressDetector`. A line that cannot be requested (missing chip, busy,
/// no permission) is logged with its compartment and line and requested again every 10 s; it
/// never stops the bin. Cancelling the consumer stops the threads within 100 ms and releases the
/// lines. Needs read/write access to `/dev/gpiochipN` (`gpio` group).
public final class EmptiedButtons: FillSensor {
    /// One compartment's button.
    public struct Configuration: Sendable, Hashable {
        public var compartment: String
        /// Chip name, path, number or label.
        public var chip: String
        public var offset: UInt32
        /// Pressed when electrically low (a button to ground with a pull-up: the default).
        public var activeLow: Bool
        public var bias: GPIOBias
        /// Contact-bounce window on the kernel timestamps.
        public var debounce: Duration
        /// Presses closer than this to the previous one are dropped.
        public var lockout: Duration
        public var consumer: String

        public init(compartment: String, chip: String, offset: UInt32, activeLow: Bool = true,
                    bias: GPIOBias = .pullUp, debounce: Duration = .milliseconds(20),
                    lockout: Duration = .seconds(2), consumer: String = "smartbin") {
            self.compartment = compartment
            self.chip = chip
            self.offset = offset
            self.activeLow = activeLow
            self.bias = bias
            self.debounce = debounce
            self.lockout = lockout
            self.consumer = consumer
        }

        /// `chip:offset`, the `source` of its observations.
        public var line: String { "\(chip):\(offset)" }
    }

    public let buttons: [Configuration]
    private let logger: Logger

    /// Does not touch the hardware: each button's thread requests its line.
    public init(_ buttons: [Configuration], logger: Logger = Logger(label: "smartbin.fill")) {
        self.buttons = buttons
        self.logger = logger
    }

    public func observations() -> AsyncStream<FillObservation> {
        let (stream, continuation) = AsyncStream.makeStream(of: FillObservation.self, bufferingPolicy: .bufferingNewest(64))
        let stop = StopFlag()
        continuation.onTermination = { _ in stop.set() }
        let remaining = Countdown(buttons.count)
        if buttons.isEmpty { continuation.finish() }
        for button in buttons {
            let logger = self.logger
            BlockingThread.start(name: "button \(button.line)") {
                Self.watch(button, stop: stop, logger: logger) { press in
                    continuation.yield(FillObservation(compartment: button.compartment, kind: .buttonPressed,
                                                       source: button.line))
                    logger.info("emptied button pressed", metadata: [
                        "compartment": "\(button.compartment)", "line": "\(button.line)", "at": "\(press)"])
                }
                if remaining.finishOne() { continuation.finish() }
            }
        }
        return stream
    }

    /// Watches one line until `stop`: requests it (again every 10 s after a failure), debounces
    /// its edges and calls `pressed` with each press's kernel timestamp.
    private static func watch(_ button: Configuration, stop: StopFlag, logger: Logger, pressed: (Duration) -> Void) {
        var lastProblem: String?
        while !stop.isSet {
            do {
                let line = try GPIOLine(chip: button.chip, offset: button.offset)
                try line.requestBothEdges(consumer: button.consumer, activeLow: button.activeLow, bias: button.bias)
                if lastProblem != nil {
                    logger.notice("emptied button line available again", metadata: [
                        "compartment": "\(button.compartment)", "line": "\(button.line)"])
                    lastProblem = nil
                }
                var detector = ButtonPressDetector(debounce: button.debounce, lockout: button.lockout,
                                                   initialLevel: try? line.value())
                while !stop.isSet {
                    let edges = try line.waitEdges(timeout: .milliseconds(100))
                    if edges.isEmpty {
                        if let press = detector.settle(at: MonotonicClock.now()) { pressed(press) }
                        continue
                    }
                    for edge in edges {
                        if let press = detector.feed(edge) { pressed(press) }
                    }
                }
            } catch {
                if lastProblem != error.message {
                    lastProblem = error.message
                    logger.error("emptied button unavailable; trying again every 10 s", metadata: [
                        "compartment": "\(button.compartment)", "line": "\(button.line)", "error": "\(error)"])
                }
                for _ in 0..<100 where !stop.isSet { MonotonicClock.sleep(.milliseconds(100)) }
            }
        }
    }
}

/// Counts the button threads down so the last one to end finishes the stream.
private final class Countdown: Sendable {
    private let count: Atomic<Int>

    init(_ count: Int) { self.count = Atomic(count) }

    /// True for the call that brought the count to zero.
    func finishOne() -> Bool { count.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 }
}
