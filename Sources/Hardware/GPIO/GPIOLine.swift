import CGPIOD
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

// The only file that imports CGPIOD (libgpiod v1.6). Everything above it (trigger source,
// ultrasonic ranger, doctor) sees Swift types only.

/// One requested GPIO line and the chip it belongs to (libgpiod v1), released in `deinit`.
///
/// Needs read/write access to `/dev/gpiochipN`: be in the `gpio` group (Raspberry Pi OS) or
/// install the udev rule in `board/README.md`. Not `Sendable`: it lives on the one thread that
/// waits on it.
final class GPIOLine {
    /// `chip:offset` as logs and errors name it, e.g. `pinctrl-bcm2711:17`.
    let name: String
    let chipDescription: String
    let offset: UInt32
    private let chip: OpaquePointer
    private let line: OpaquePointer
    private var requested = false

    /// Opens `chip` and looks up line `offset` without requesting it.
    /// - Parameters:
    ///   - chip: `gpiochip0`, `/dev/gpiochip0`, a number, or a chip label such as `pinctrl-rp1`
    ///     (`gpiod_chip_open_lookup`).
    ///   - offset: the line's offset on that chip (BCM GPIO number on a Pi's 40-pin header).
    /// - Throws: `HardwareError.notFound` naming the chip and offset (`gpiochip0:17: …`) when the
    ///   chip does not exist, `.permissionDenied` when `/dev/gpiochipN` is not accessible,
    ///   `.unsupported` when the chip has fewer lines than `offset + 1`.
    init(chip: String, offset: UInt32) throws(HardwareError) {
        self.chipDescription = chip
        self.offset = offset
        self.name = "\(chip):\(offset)"
        guard let handle = try GPIOD.call("gpiod_chip_open_lookup", subject: name, { gpiod_chip_open_lookup(chip) }) else {
            preconditionFailure("gpiod call helper returned nil without throwing")
        }
        let lines = gpiod_chip_num_lines(handle)
        guard offset < lines else {
            gpiod_chip_close(handle)
            throw HardwareError(.unsupported, "\(name): gpio chip '\(chip)' has \(lines) lines; offset \(offset) does not exist")
        }
        guard let line = gpiod_chip_get_line(handle, offset) else {
            let code = errno
            gpiod_chip_close(handle)
            throw Errno.error("gpiod_chip_get_line", name, code)
        }
        self.chip = handle
        self.line = line
    }

    deinit {
        if requested { gpiod_line_release(line) }
        gpiod_chip_close(chip)
    }

    /// Requests both-edge events with consumer `consumer` (`smartbin`).
    /// - Throws: `HardwareError.busy` naming the chip, offset and current consumer when another
    ///   process holds the line; `.unsupported` when the kernel rejects the bias flags (< 5.5).
    func requestBothEdges(consumer: String, activeLow: Bool, bias: GPIOBias) throws(HardwareError) {
        let flags = Self.flags(activeLow: activeLow, bias: bias)
        try request("gpiod_line_request_both_edges_events_flags") {
            gpiod_line_request_both_edges_events_flags(line, consumer, flags)
        }
    }

    /// Requests the line as an output driven to `initial`.
    /// - Throws: `HardwareError.busy` as above.
    func requestOutput(consumer: String, initial: Bool) throws(HardwareError) {
        try request("gpiod_line_request_output") { gpiod_line_request_output(line, consumer, initial ? 1 : 0) }
    }

    /// Drives a requested output line. Does not block.
    func set(_ value: Bool) throws(HardwareError) {
        _ = try GPIOD.call("gpiod_line_set_value", subject: name) { gpiod_line_set_value(line, value ? 1 : 0) }
    }

    /// Reads the line's current logical level.
    func value() throws(HardwareError) -> Bool {
        try GPIOD.call("gpiod_line_get_value", subject: name) { gpiod_line_get_value(line) } == 1
    }

    /// Waits up to `timeout` for edges and returns those queued (empty on timeout). Blocks the
    /// calling thread for at most `timeout`.
    func waitEdges(timeout: Duration) throws(HardwareError) -> [GPIOEdge] {
        let (seconds, attoseconds) = timeout.components
        var ts = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        let ready = try GPIOD.call("gpiod_line_event_wait", subject: name) { gpiod_line_event_wait(line, &ts) }
        guard ready == 1 else { return [] }
        var events = [gpiod_line_event](repeating: gpiod_line_event(), count: 16)
        let count = try events.withUnsafeMutableBufferPointer { (buffer) throws(HardwareError) -> Int32 in
            try GPIOD.call("gpiod_line_event_read_multiple", subject: name) {
                gpiod_line_event_read_multiple(line, buffer.baseAddress, UInt32(buffer.count))
            }
        }
        return events.prefix(Int(count)).map { event in
            let time = Duration.seconds(Int64(event.ts.tv_sec)) + .nanoseconds(Int64(event.ts.tv_nsec))
            return GPIOEdge(event.event_type == Int32(GPIOD_LINE_EVENT_RISING_EDGE) ? .rising : .falling, at: time)
        }
    }

    /// The process currently holding this line (re-read from the kernel), or `nil` when free.
    func currentConsumer() -> String? {
        guard gpiod_line_update(line) == 0, gpiod_line_is_used(line) else { return nil }
        guard let consumer = gpiod_line_consumer(line) else { return "(unnamed consumer)" }
        return String(cString: consumer)
    }

    private func request(_ call: String, _ body: () -> Int32) throws(HardwareError) {
        do {
            _ = try GPIOD.call(call, subject: name, body)
            requested = true
        } catch where error.code == .busy {
            let holder = currentConsumer().map { " (held by '\($0)')" } ?? ""
            throw HardwareError(.busy, "\(name): line is busy\(holder): \(call) failed with EBUSY; stop the other user or pick another line in the board profile", errno: EBUSY)
        }
    }

    private static func flags(activeLow: Bool, bias: GPIOBias) -> Int32 {
        var flags: Int32 = 0
        if activeLow { flags |= Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) }
        switch bias {
        case .asIs: break
        case .disabled: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE)
        case .pullUp: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP)
        case .pullDown: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN)
        }
        return flags
    }
}

/// What the doctor learns about a chip without requesting anything.
struct GPIOChipSummary: Sendable, Hashable {
    var name: String
    var label: String
    var lineCount: Int
    /// Offsets asked about → current consumer (`nil` when free, absent when out of range).
    var consumers: [UInt32: String?]

    /// Opens `chip` read-only-ish (no line request) and reports its lines' users.
    /// - Throws: `HardwareError` naming the chip when it cannot be opened.
    static func probe(chip: String, offsets: [UInt32]) throws(HardwareError) -> GPIOChipSummary {
        guard let handle = try GPIOD.call("gpiod_chip_open_lookup", subject: "gpio chip '\(chip)'", { gpiod_chip_open_lookup(chip) }) else {
            preconditionFailure("gpiod call helper returned nil without throwing")
        }
        defer { gpiod_chip_close(handle) }
        let count = gpiod_chip_num_lines(handle)
        var consumers: [UInt32: String?] = [:]
        for offset in offsets where offset < count {
            guard let line = gpiod_chip_get_line(handle, offset) else { continue }
            if gpiod_line_is_used(line) {
                consumers[offset] = gpiod_line_consumer(line).map { String(cString: $0) } ?? "(unnamed consumer)"
            } else {
                consumers[offset] = .some(nil)
            }
        }
        return GPIOChipSummary(name: String(cString: gpiod_chip_name(handle)),
                               label: String(cString: gpiod_chip_label(handle)),
                               lineCount: Int(count), consumers: consumers)
    }
}

/// The GPIO adapter's one syscall helper: retries `EINTR`, throws with errno and the call's name.
private enum GPIOD {
    static func call(_ name: String, subject: String, _ body: () -> Int32) throws(HardwareError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw Errno.error(name, subject, code)
        }
    }

    static func call<T>(_ name: String, subject: String, _ body: () -> T?) throws(HardwareError) -> T? {
        while true {
            errno = 0
            if let result = body() { return result }
            let code = errno
            if code == EINTR { continue }
            throw Errno.error(name, subject, code == 0 ? ENOENT : code)
        }
    }
}
