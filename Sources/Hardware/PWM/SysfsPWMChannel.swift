/// One channel of a sysfs PWM chip (`<root>/pwmchipN/pwmM/`): export, period/duty, enable.
///
/// Needs write access to `<root>/pwmchipN/export` and, after export, to the channel's files
/// (Raspberry Pi OS's udev rules give them to the `gpio` group a moment after export).
public struct SysfsPWMChannel: Sendable {
    /// Sysfs PWM class directory (default `/sys/class/pwm`; a temp dir in tests).
    public var root: String
    public var chip: Int
    public var channel: Int
    public var io: any SysfsIO

    public init(root: String = "/sys/class/pwm", chip: Int, channel: Int, io: any SysfsIO = PosixSysfs()) {
        self.root = root
        self.chip = chip
        self.channel = channel
        self.io = io
    }

    public var chipPath: String { "\(root)/pwmchip\(chip)" }
    public var channelPath: String { "\(chipPath)/pwm\(channel)" }
    func attribute(_ name: String) -> String { "\(channelPath)/\(name)" }

    /// Finds the chip number whose `device` link ends in `deviceName` (e.g. `1f00098000.pwm` on a
    /// Pi 5), since the kernel numbers PWM chips in probe order (pwmchip2 on Pi 5 with 6.6,
    /// pwmchip0 with 6.12). Returns `nil` when no chip matches.
    public static func resolveChip(root: String = "/sys/class/pwm", deviceName: String,
                                   io: any SysfsIO = PosixSysfs()) -> Int? {
        for name in io.list(root) where name.hasPrefix("pwmchip") {
            guard let target = io.linkTarget("\(root)/\(name)/device"),
                  target.split(separator: "/").last.map(String.init) == deviceName else { continue }
            return Int(name.dropFirst("pwmchip".count))
        }
        return nil
    }

    /// Whether `pwmM/` exists.
    public var isExported: Bool { io.exists(channelPath) }

    /// Writes the channel number to `export` unless the channel directory already exists.
    /// - Throws: `HardwareError.notFound` naming `pwmchipN` when the chip is absent (overlay not
    ///   loaded), or the write's error naming the `export` file.
    public func export() throws(HardwareError) {
        guard io.exists(chipPath) else {
            throw HardwareError(.notFound, "\(chipPath) does not exist: PWM overlay not loaded or wrong chip number (see board/README.md)")
        }
        guard !isExported else { return }
        do {
            try io.write(String(channel), to: "\(chipPath)/export")
        } catch where error.code == .busy && isExported {
            // Exported between our check and the write (another start of ours): fine.
        }
    }

    /// Reads an integer attribute (`period`, `duty_cycle`, `enable`).
    public func read(_ name: String) throws(HardwareError) -> Int64 {
        let text = try io.read(attribute(name))
        guard let value = Int64(text) else {
            throw HardwareError(.badData, "\(attribute(name)): expected an integer, read '\(text)'")
        }
        return value
    }

    /// Writes an integer attribute.
    public func write(_ name: String, _ value: Int64) throws(HardwareError) {
        try io.write(String(value), to: attribute(name))
    }
}
