/// The one error type of the Hardware module: a code to match on and a message that names the chip
/// and line offset, the device path and ioctl, the sysfs file, or the profile file and line at fault.
public struct HardwareError: Error, Sendable, Hashable, CustomStringConvertible {
    public enum Code: String, Sendable, Hashable {
        /// The device node, chip or sysfs directory does not exist (`/dev/gpiochip0`, `/dev/video0`,
        /// `/sys/class/pwm/pwmchip2`).
        case notFound
        /// The GPIO line or camera is held by another process (`EBUSY`).
        case busy
        /// The process may not open or write it (missing `gpio`/`video` group or udev rule).
        case permissionDenied
        /// The device does not offer what the profile asks for (no streaming, no such pixel
        /// format or size, line offset beyond the chip).
        case unsupported
        /// The device went away or failed mid-stream (`ENODEV`, `EIO`): unplugged camera.
        case deviceLost
        /// A wait on the hardware ran out (no echo, no frame).
        case timeout
        /// A frame or reading was unusable (empty or truncated buffer, decoder failure).
        case badData
        /// Any other failed system call.
        case systemCall
        /// A board profile is malformed or inconsistent.
        case profile
        /// A requested value is outside the calibrated range (servo angle).
        case outOfRange
    }

    public var code: Code
    public var message: String
    /// `errno` of the failed call, when there was one.
    public var errno: Int32?

    public init(_ code: Code, _ message: String, errno: Int32? = nil) {
        self.code = code
        self.message = message
        self.errno = errno
    }

    public var description: String { "\(code.rawValue): \(message)" }
}
