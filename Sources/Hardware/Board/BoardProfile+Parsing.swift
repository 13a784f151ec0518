#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import BinCore

extension BoardProfile {
    /// Reads and parses a profile file.
    /// - Throws: `HardwareError.notFound` naming the file, or `.profile` as `file:line: message`.
    public static func load(path: String) throws(HardwareError) -> BoardProfile {
        try parse(try PosixSysfs().readWhole(path), file: path)
    }

    /// Parses a profile (format in `board/README.md`).
    /// - Parameter file: name used in error messages.
    /// - Throws: `HardwareError.profile` naming `file:line` and the key: syntax errors, wrong
    ///   types, unknown keys, missing required keys, inconsistent values.
    public static func parse(_ text: String, file: String) throws(HardwareError) -> BoardProfile {
        var doc = try ProfileDocument(text: text, file: file)

        let name = try doc.requiredString("board.name")
        let description = try doc.string("board.description") ?? ""
        let configTxt = try doc.strings("board.config_txt") ?? []
        let groups = try doc.strings("board.groups") ?? ["gpio", "video"]

        let chip = try doc.requiredString("gpio.chip")
        let lid = try triggerLine(&doc, "lid", rising: .lidOpened, falling: .lidClosed)
        let beam = try triggerLine(&doc, "beam", rising: .beamBroken, falling: nil)
        var ultrasonic: UltrasonicLines?
        if let trigger = try doc.integer("gpio.ultrasonic_trigger") {
            guard let echo = try doc.integer("gpio.ultrasonic_echo") else {
                throw doc.error(key: "gpio.ultrasonic_trigger", "gpio.ultrasonic_echo is required with it")
            }
            ultrasonic = UltrasonicLines(trigger: UInt32(trigger), echo: UInt32(echo),
                                         thresholdCentimetres: try doc.number("gpio.ultrasonic_threshold_cm") ?? 20,
                                         pings: try doc.integer("gpio.ultrasonic_pings", in: 1...15) ?? 5)
        } else if try doc.integer("gpio.ultrasonic_echo") != nil {
            throw doc.error(key: "gpio.ultrasonic_echo", "gpio.ultrasonic_trigger is required with it")
        }
        let debounce = Duration.milliseconds(try doc.integer("gpio.debounce_ms", in: 0...1000) ?? 20)

        let pwm = PWM(chip: try doc.integer("pwm.chip", in: 0...255) ?? 0,
                      channel: try doc.integer("pwm.channel", in: 0...63) ?? 0,
                      device: try doc.string("pwm.device"))

        let minPulse = try doc.integer("servo.min_pulse_us", in: 100...5000) ?? 500
        let maxPulse = try doc.integer("servo.max_pulse_us", in: 100...5000) ?? 2500
        let periodUs = try doc.integer("servo.period_us", in: 1000...100_000) ?? 20_000
        guard minPulse < maxPulse, maxPulse <= periodUs else {
            throw doc.error(key: "servo.max_pulse_us", "need min_pulse_us < max_pulse_us ≤ period_us (\(minPulse), \(maxPulse), \(periodUs))")
        }
        let minDegrees = try doc.number("servo.min_degrees") ?? 0
        let maxDegrees = try doc.number("servo.max_degrees") ?? 180
        guard minDegrees < maxDegrees else { throw doc.error(key: "servo.max_degrees", "must exceed servo.min_degrees") }
        let calibration = ServoCalibration(
            period: .microseconds(periodUs), minPulse: .microseconds(minPulse), maxPulse: .microseconds(maxPulse),
            minDegrees: minDegrees, maxDegrees: maxDegrees,
            timePer60Degrees: .milliseconds(try doc.integer("servo.ms_per_60_degrees", in: 10...5000) ?? 200))
        guard let home = try doc.number("servo.home_degrees") else { throw doc.error(key: "servo.home_degrees", "missing (required)") }
        var angles: [String: Double] = [:]
        for compartment in doc.keys(in: "servo.angles") {
            let key = "servo.angles.\(compartment)"
            guard let angle = try doc.number(key) else { continue }
            angles[compartment] = angle
        }
        for (key, angle) in [("servo.home_degrees", home)] + angles.map({ ("servo.angles.\($0.key)", $0.value) })
        where !(minDegrees...maxDegrees).contains(angle) {
            throw doc.error(key: key, "\(angle)° is outside servo.min_degrees…servo.max_degrees (\(minDegrees)…\(maxDegrees))")
        }
        guard !angles.isEmpty else { throw HardwareError(.profile, "\(file): [servo.angles] must name at least one compartment") }
        let servo = Servo(calibration: calibration, homeDegrees: home, angles: angles,
                          rampSteps: try doc.integer("servo.ramp_steps", in: 0...100) ?? 0,
                          settle: .milliseconds(try doc.integer("servo.settle_ms", in: 0...5000) ?? 100),
                          releaseAtHome: try doc.bool("servo.release_at_home") ?? true)

        let formatText = try doc.string("camera.pixel_format") ?? "mjpeg"
        guard let pixelFormat = V4L2PixelFormat(rawValue: formatText) else {
            throw doc.error(key: "camera.pixel_format", "'\(formatText)' is not one of mjpeg, yuyv")
        }
        let camera = Camera(device: try doc.string("camera.device") ?? "/dev/video0", pixelFormat: pixelFormat,
                            width: try doc.integer("camera.width", in: 16...8192) ?? 640,
                            height: try doc.integer("camera.height", in: 16...8192) ?? 480,
                            buffers: try doc.integer("camera.buffers", in: 2...4) ?? 3,
                            warmupFrames: try doc.integer("camera.warmup_frames", in: 0...120) ?? 5)
        let fill = try fill(&doc, compartments: Set(angles.keys), debounce: debounce)
        try doc.checkAllUsed()

        let profile = BoardProfile(name: name, description: description, configTxt: configTxt, groups: groups,
                                   gpio: GPIO(chip: chip, lid: lid, beam: beam, ultrasonic: ultrasonic, debounce: debounce),
                                   pwm: pwm, servo: servo, camera: camera, fill: fill)
        var used: [UInt32: String] = [:]
        for (role, offset) in profile.lineRoles {
            if let other = used[offset] { throw HardwareError(.profile, "\(file): gpio line \(offset) is used for both \(other) and \(role)") }
            used[offset] = role
        }
        return profile
    }

    /// Every configured line offset with its role, for duplicate checks and the doctor.
    public var lineRoles: [(role: String, offset: UInt32)] {
        var roles: [(String, UInt32)] = []
        if let lid = gpio.lid { roles.append(("lid", lid.offset)) }
        if let beam = gpio.beam { roles.append(("beam", beam.offset)) }
        if let sonar = gpio.ultrasonic {
            roles.append(("ultrasonic trigger", sonar.trigger))
            roles.append(("ultrasonic echo", sonar.echo))
        }
        for (compartment, sensor) in fill.sensors.sorted(by: { $0.key < $1.key }) {
            roles.append(("fill sensor \(compartment) trigger", sensor.trigger))
            roles.append(("fill sensor \(compartment) echo", sensor.echo))
        }
        for (compartment, button) in fill.buttons.sorted(by: { $0.key < $1.key }) {
            roles.append(("emptied button \(compartment)", button.offset))
        }
        return roles
    }

    /// `[fill.sensors.<compartment>]` and `[fill.buttons.<compartment>]`, each naming a
    /// compartment of `[servo.angles]`.
    private static func fill(_ doc: inout ProfileDocument, compartments: Set<String>,
                             debounce: Duration) throws(HardwareError) -> Fill {
        var fill = Fill()
        for compartment in doc.tables(under: "fill.sensors") {
            let key = "fill.sensors.\(compartment)"
            try requireCompartment(doc, key, compartment, compartments)
            guard let trigger = try doc.integer(key + ".trigger", in: 0...511) else {
                throw doc.error(table: key, "\(key).trigger is required (the HC-SR04's trigger line offset)")
            }
            guard let echo = try doc.integer(key + ".echo", in: 0...511) else {
                throw doc.error(table: key, "\(key).echo is required (the HC-SR04's echo line offset, through a divider)")
            }
            guard let empty = try doc.number(key + ".empty_cm") else {
                throw doc.error(table: key, "\(key).empty_cm is required (sensor to the empty compartment's floor, cm)")
            }
            guard let full = try doc.number(key + ".full_cm") else {
                throw doc.error(table: key, "\(key).full_cm is required (sensor to the contents of a full compartment, cm)")
            }
            let ranging = UltrasonicRanging()
            guard empty <= ranging.maximumCentimetres else {
                throw doc.error(key: key + ".empty_cm", "\(empty) cm is beyond the HC-SR04's \(Int(ranging.maximumCentimetres)) cm range")
            }
            guard full >= ranging.minimumCentimetres else {
                throw doc.error(key: key + ".full_cm", "\(full) cm is inside the HC-SR04's \(Int(ranging.minimumCentimetres)) cm blind zone")
            }
            guard full < empty else {
                throw doc.error(key: key + ".full_cm", "\(full) cm must be less than \(key).empty_cm (\(empty) cm): the sensor looks down, so fuller is closer")
            }
            fill.sensors[compartment] = FillSensorLines(
                trigger: UInt32(trigger), echo: UInt32(echo), emptyCentimetres: empty, fullCentimetres: full,
                pings: try doc.integer(key + ".pings", in: 1...15) ?? 5,
                pollInterval: .seconds(try doc.integer(key + ".poll_s", in: 1...86_400) ?? 30))
        }
        for compartment in doc.tables(under: "fill.buttons") {
            let key = "fill.buttons.\(compartment)"
            try requireCompartment(doc, key, compartment, compartments)
            guard let offset = try doc.integer(key + ".line", in: 0...511) else {
                throw doc.error(table: key, "\(key).line is required (the button's line offset)")
            }
            let biasText = try doc.string(key + ".bias") ?? GPIOBias.pullUp.rawValue
            guard let bias = GPIOBias(rawValue: biasText) else {
                throw doc.error(key: key + ".bias", "'\(biasText)' is not one of \(GPIOBias.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            fill.buttons[compartment] = ButtonLine(
                offset: UInt32(offset), activeLow: try doc.bool(key + ".active_low") ?? true, bias: bias,
                debounce: try doc.integer(key + ".debounce_ms", in: 0...1000).map { .milliseconds($0) } ?? debounce)
        }
        return fill
    }

    private static func requireCompartment(_ doc: ProfileDocument, _ key: String, _ compartment: String,
                                           _ compartments: Set<String>) throws(HardwareError) {
        guard compartments.contains(compartment) else {
            throw doc.error(table: key, "[\(key)]: no compartment '\(compartment)' in [servo.angles] (have: \(compartments.sorted().joined(separator: ", ")))")
        }
    }

    private static func triggerLine(_ doc: inout ProfileDocument, _ role: String, rising: TriggerKind?,
                                    falling: TriggerKind?) throws(HardwareError) -> TriggerLine? {
        guard let offset = try doc.integer("gpio.\(role)", in: 0...511) else {
            for suffix in ["active_low", "bias", "rising", "falling"] where doc.entries["gpio.\(role)_\(suffix)"] != nil {
                throw doc.error(key: "gpio.\(role)_\(suffix)", "set without gpio.\(role)")
            }
            return nil
        }
        let biasText = try doc.string("gpio.\(role)_bias") ?? "as-is"
        guard let bias = GPIOBias(rawValue: biasText) else {
            throw doc.error(key: "gpio.\(role)_bias", "'\(biasText)' is not one of \(GPIOBias.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return TriggerLine(offset: UInt32(offset), activeLow: try doc.bool("gpio.\(role)_active_low") ?? false, bias: bias,
                           rising: try edgeKind(&doc, "gpio.\(role)_rising", default: rising),
                           falling: try edgeKind(&doc, "gpio.\(role)_falling", default: falling))
    }

    private static func edgeKind(_ doc: inout ProfileDocument, _ key: String, default value: TriggerKind?) throws(HardwareError) -> TriggerKind? {
        guard let text = try doc.string(key) else { return value }
        if text == "none" { return nil }
        guard let kind = TriggerKind(rawValue: text) else {
            throw doc.error(key: key, "'\(text)' is not one of none, \(TriggerKind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return kind
    }
}

extension PosixSysfs {
    /// Reads a whole (small, text) file.
    func readWhole(_ path: String) throws(HardwareError) -> String {
        guard let file = fopen(path, "r") else { throw Errno.error("open", path, errno) }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            bytes += chunk[0..<count]
            if count < chunk.count {
                if ferror(file) != 0 { throw Errno.error("read", path, errno) }
                break
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
