#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Text and error-code classification shared by the adapters' syscall helpers.
enum Errno {
    /// `strerror(code)` as a Swift string.
    static func text(_ code: Int32) -> String {
        guard let cString = strerror(code) else { return "errno \(code)" }
        return String(cString: cString)
    }

    /// The `HardwareError.Code` a failed call's errno maps to.
    static func code(for value: Int32) -> HardwareError.Code {
        switch value {
        case ENOENT, ENXIO: .notFound
        case EBUSY: .busy
        case EACCES, EPERM: .permissionDenied
        case ENODEV, EIO: .deviceLost
        case ETIMEDOUT, EAGAIN: .timeout
        case EINVAL, ENOTTY, EOPNOTSUPP: .unsupported
        default: .systemCall
        }
    }

    /// An error for call `call` on `subject` (device, chip:offset or file) that failed with `value`.
    static func error(_ call: String, _ subject: String, _ value: Int32) -> HardwareError {
        HardwareError(code(for: value), "\(subject): \(call) failed: \(text(value)) (errno \(value))", errno: value)
    }
}
