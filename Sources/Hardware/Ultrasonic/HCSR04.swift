/// An HC-SR04 on two GPIO lines, requested for as long as this object lives: the trigger as an
/// output, the echo (through a 5 V → 3.3 V divider) for both-edge events with kernel timestamps.
///
/// The one place that drives the sensor; the proximity trigger and the fill sensors both ping
/// through it and read the edges with `UltrasonicRanging`. Needs `/dev/gpiochipN` access
/// (`gpio` group). Not `Sendable`: it lives on the thread that pings it.
final class HCSR04: EchoPinger {
    let lines: String
    private let trigger: GPIOLine
    private let echo: GPIOLine

    /// Requests both lines (consumer `consumer`).
    /// - Throws: `HardwareError` naming chip and offset (missing chip, busy line, no permission).
    init(chip: String, triggerOffset: UInt32, echoOffset: UInt32, consumer: String) throws(HardwareError) {
        lines = "\(chip):\(triggerOffset)/\(echoOffset)"
        trigger = try GPIOLine(chip: chip, offset: triggerOffset)
        try trigger.requestOutput(consumer: consumer, initial: false)
        echo = try GPIOLine(chip: chip, offset: echoOffset)
        try echo.requestBothEdges(consumer: consumer, activeLow: false, bias: .asIs)
    }

    /// One ping: a 10 µs trigger pulse, then the echo's edges until a complete pulse or
    /// `echoTimeout`. Blocks the calling thread for at most `echoTimeout`.
    func ping(echoTimeout: Duration) throws(HardwareError) -> EchoPing {
        _ = try echo.waitEdges(timeout: .zero)  // drop edges left over from an earlier ping
        try trigger.set(true)
        MonotonicClock.sleep(.microseconds(10))
        try trigger.set(false)
        let sent = MonotonicClock.now()
        let deadline = sent + echoTimeout
        let ranging = UltrasonicRanging(echoTimeout: echoTimeout)
        var edges: [GPIOEdge] = []
        while true {
            let now = MonotonicClock.now()
            guard now < deadline else { break }
            edges += try echo.waitEdges(timeout: deadline - now)
            if ranging.echoWidth(in: edges, trigger: nil) != nil { break }
        }
        // The echo starts ~0.5 ms after the trigger; edges timestamped before `sent` minus a
        // margin are stale. The kernel timestamps both, so scheduling delay does not skew width.
        return EchoPing(edges: edges, trigger: sent - .milliseconds(1))
    }
}
