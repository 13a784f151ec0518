/// Checks that the board matches its profile — GPIO chip and lines, PWM chip/channel and sysfs
/// permissions, camera presence and formats — and reports findings with fixes. Moves the flap only
/// when asked (`flapTest: true`). The CLI's `doctor` command runs it and appends the app's own
/// checks (broker, model) through `extraChecks`.
///
/// Runs its probes (gpiod chip open, V4L2 `open`/`QUERYCAP`) on the calling task: it is a one-shot
/// command, not part of the running bin. Needs the same permissions as the bin (`gpio`, `video`).
public struct Doctor: Sendable {
    public var profile: BoardProfile
    /// Where device nodes live (`/dev`; a temp dir in tests — GPIO chips are then only listed).
    public var devRoot: String
    /// Sysfs PWM class directory.
    public var pwmRoot: String
    public var io: any SysfsIO
    /// Further checks run after the hardware ones (broker reachability, model checksum…).
    public var extraChecks: [@Sendable () async -> [DoctorFinding]]

    public init(profile: BoardProfile, devRoot: String = "/dev", pwmRoot: String = "/sys/class/pwm",
                io: any SysfsIO = PosixSysfs(), extraChecks: [@Sendable () async -> [DoctorFinding]] = []) {
        self.profile = profile
        self.devRoot = devRoot
        self.pwmRoot = pwmRoot
        self.io = io
        self.extraChecks = extraChecks
    }

    /// Runs every check.
    /// - Parameter flapTest: also move the flap to each compartment and back home.
    public func run(flapTest: Bool = false) async -> [DoctorFinding] {
        var findings = checkGPIO() + checkPWM() + checkCamera()
        if flapTest { findings += await testFlap() }
        for check in extraChecks { findings += await check() }
        return findings
    }

    // MARK: GPIO

    func checkGPIO() -> [DoctorFinding] {
        let chips = io.list(devRoot).filter { $0.hasPrefix("gpiochip") }
        let groupFix = "add the service user to the gpio group (sudo usermod -aG gpio $USER) or install the udev rule in board/README.md"
        guard !chips.isEmpty else {
            return [DoctorFinding(.fail, "gpio", "no \(devRoot)/gpiochip* devices: no GPIO character devices on this machine",
                                  fix: "run on the board named by profile '\(profile.name)', with a kernel that has the GPIO character device")]
        }
        var findings: [DoctorFinding] = []
        for chip in chips where !io.isWritable("\(devRoot)/\(chip)") {
            findings.append(DoctorFinding(.fail, "gpio \(devRoot)/\(chip)", "not readable/writable by this user", fix: groupFix))
        }
        guard devRoot == "/dev" else {
            findings.append(DoctorFinding(.warn, "gpio", "found \(chips.joined(separator: ", ")) under \(devRoot); line checks need /dev"))
            return findings
        }
        let roles = profile.lineRoles
        let summary: GPIOChipSummary
        do {
            summary = try GPIOChipSummary.probe(chip: profile.gpio.chip, offsets: roles.map(\.offset))
        } catch {
            findings.append(DoctorFinding(.fail, "gpio chip '\(profile.gpio.chip)'", error.message,
                                          fix: error.code == .permissionDenied ? groupFix : "check gpio.chip in the profile against `gpiodetect` (have: \(chips.joined(separator: ", ")))"))
            return findings
        }
        findings.append(DoctorFinding(.ok, "gpio chip '\(profile.gpio.chip)'", "\(summary.name) [\(summary.label)], \(summary.lineCount) lines"))
        for (role, offset) in roles {
            let check = "gpio \(role) (\(summary.name):\(offset))"
            guard let consumer = summary.consumers[offset] else {
                findings.append(DoctorFinding(.fail, check, "offset \(offset) is beyond the chip's \(summary.lineCount) lines", fix: "fix gpio offsets in the profile"))
                continue
            }
            switch consumer {
            case nil: findings.append(DoctorFinding(.ok, check, "free"))
            case "smartbin"?: findings.append(DoctorFinding(.warn, check, "held by 'smartbin' — is the bin service running?", fix: "stop the service before the doctor's line checks"))
            case let other?: findings.append(DoctorFinding(.fail, check, "busy: held by '\(other)'", fix: "free the line (stop '\(other)', remove its overlay) or rewire and edit the profile"))
            }
        }
        return findings
    }

    // MARK: PWM

    func checkPWM() -> [DoctorFinding] {
        let overlayFix = profile.configTxt.isEmpty ? "enable a PWM channel for this board"
            : "add to /boot/firmware/config.txt and reboot: \(profile.configTxt.joined(separator: "; "))"
        guard io.exists(pwmRoot) else {
            return [DoctorFinding(.fail, "pwm", "\(pwmRoot) does not exist: kernel without sysfs PWM", fix: overlayFix)]
        }
        let configuration = profile.flapConfiguration(root: pwmRoot, io: io)
        let channel = SysfsPWMChannel(root: pwmRoot, chip: configuration.chip, channel: configuration.channel, io: io)
        var findings: [DoctorFinding] = []
        if let device = profile.pwm.device {
            if SysfsPWMChannel.resolveChip(root: pwmRoot, deviceName: device, io: io) == nil {
                findings.append(DoctorFinding(.warn, "pwm", "no pwmchip belongs to \(device); falling back to pwmchip\(profile.pwm.chip)", fix: overlayFix))
            }
        }
        let check = "pwm \(channel.chipPath)/pwm\(channel.channel)"
        guard io.exists(channel.chipPath) else {
            findings.append(DoctorFinding(.fail, check, "\(channel.chipPath) does not exist (have: \(io.list(pwmRoot).joined(separator: ", ")))", fix: overlayFix))
            return findings
        }
        if let npwm = try? io.read("\(channel.chipPath)/npwm"), let count = Int(npwm), channel.channel >= count {
            findings.append(DoctorFinding(.fail, check, "chip has \(count) channels", fix: "set pwm.channel below \(count)"))
            return findings
        }
        let permissionFix = "add the user to the gpio group / install the udev rule in board/README.md"
        if channel.isExported {
            let blocked = ["period", "duty_cycle", "enable"].filter { !io.isWritable(channel.attribute($0)) }
            findings.append(blocked.isEmpty ? DoctorFinding(.ok, check, "exported and writable")
                            : DoctorFinding(.fail, check, "not writable: \(blocked.joined(separator: ", "))", fix: permissionFix))
        } else if io.isWritable("\(channel.chipPath)/export") {
            findings.append(DoctorFinding(.ok, check, "present; will be exported on first move"))
        } else {
            findings.append(DoctorFinding(.fail, check, "\(channel.chipPath)/export is not writable", fix: permissionFix))
        }
        return findings
    }

    // MARK: Camera

    func checkCamera() -> [DoctorFinding] {
        let path = profile.camera.device
        let check = "camera \(path)"
        guard io.exists(path) else {
            let present = io.list(devRoot).filter { $0.hasPrefix("video") }.map { "\(devRoot)/\($0)" }
            return [DoctorFinding(.fail, check, "\(path) does not exist" + (present.isEmpty ? "; no video devices" : "; have \(present.joined(separator: ", "))"),
                                  fix: "plug in the camera or set camera.device (v4l2-ctl --list-devices)")]
        }
        do {
            let device = try V4L2Device(path: path)
            let caps = device.capabilities
            guard caps.canCapture && caps.canStream else {
                return [DoctorFinding(.fail, check, "'\(caps.card)' (\(caps.driver)) cannot stream video capture", fix: "pick the capture node (v4l2-ctl --list-devices)")]
            }
            let formats = device.pixelFormats()
            let names = formats.map(V4L2PixelFormat.text).joined(separator: ", ")
            guard formats.contains(where: { V4L2PixelFormat(fourcc: $0) == profile.camera.pixelFormat }) else {
                return [DoctorFinding(.fail, check, "'\(caps.card)' offers \(names), not \(profile.camera.pixelFormat.rawValue)", fix: "set camera.pixel_format to one it offers")]
            }
            return [DoctorFinding(.ok, check, "'\(caps.card)' (\(caps.driver)), formats \(names)")]
        } catch {
            let fix = switch error.code {
            case .permissionDenied: "add the user to the video group (sudo usermod -aG video $USER)"
            case .busy: "stop the other program using the camera (or the bin service)"
            default: "check the device with v4l2-ctl -d \(path) --all"
            }
            return [DoctorFinding(.fail, check, error.message, fix: fix)]
        }
    }

    // MARK: Flap

    func testFlap() async -> [DoctorFinding] {
        let flap = SysfsPWMFlap(profile.flapConfiguration(root: pwmRoot, io: io), io: io, clock: ContinuousClock())
        var findings: [DoctorFinding] = []
        for (bin, angle) in profile.servo.angles.sorted(by: { $0.value < $1.value }) + [("home", profile.servo.homeDegrees)] {
            do {
                try await flap.move(toDegrees: angle)
                findings.append(DoctorFinding(.ok, "flap \(bin)", "moved to \(angle)°"))
            } catch {
                findings.append(DoctorFinding(.fail, "flap \(bin)", "could not move to \(angle)°: \(error)"))
                break
            }
        }
        await flap.release()
        return findings
    }
}
