#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// File access for sysfs drivers, injectable so tests run against a fake tree (or log writes).
public protocol SysfsIO: Sendable {
    /// Writes `value` (no newline) to `path` in one `write(2)`, as sysfs attributes expect.
    /// - Throws: `HardwareError` naming the file (`.notFound`, `.permissionDenied`, `.busy`,
    ///   `.unsupported` for `EINVAL`: the driver refused the value).
    func write(_ value: String, to path: String) throws(HardwareError)
    /// Reads a small attribute file, trimmed of whitespace.
    func read(_ path: String) throws(HardwareError) -> String
    /// Whether `path` exists (file, directory or symlink).
    func exists(_ path: String) -> Bool
    /// Whether the process may write `path` (`access(W_OK)`).
    func isWritable(_ path: String) -> Bool
    /// Names in directory `path` (empty if it cannot be read).
    func list(_ path: String) -> [String]
    /// Target of symlink `path`, if it is one.
    func linkTarget(_ path: String) -> String?
}

/// The real file system through POSIX calls. Sysfs writes do not block for long; no special
/// permission beyond the file's mode (the `gpio` group on Raspberry Pi OS owns `/sys/class/pwm`).
public struct PosixSysfs: SysfsIO {
    public init() {}

    public func write(_ value: String, to path: String) throws(HardwareError) {
        let fd = try Self.call("open", path) { open(path, O_WRONLY | O_TRUNC | O_CLOEXEC) }
        defer { _ = close(fd) }
        let bytes = Array(value.utf8)
        let written = try Self.call("write '\(value)'", path) { bytes.withUnsafeBytes { Int32(Glibc.write(fd, $0.baseAddress, $0.count)) } }
        guard Int(written) == bytes.count else {
            throw HardwareError(.systemCall, "\(path): short write of '\(value)' (\(written) of \(bytes.count) bytes)")
        }
    }

    public func read(_ path: String) throws(HardwareError) -> String {
        let fd = try Self.call("open", path) { open(path, O_RDONLY | O_CLOEXEC) }
        defer { _ = close(fd) }
        var buffer = [UInt8](repeating: 0, count: 256)
        let count = try Self.call("read", path) { buffer.withUnsafeMutableBytes { Int32(Glibc.read(fd, $0.baseAddress, $0.count)) } }
        return String(decoding: buffer[0..<Int(count)], as: UTF8.self).trimmingCharacters(in: " \n\t")
    }

    public func exists(_ path: String) -> Bool {
        var info = stat()
        return lstat(path, &info) == 0
    }

    public func isWritable(_ path: String) -> Bool { access(path, W_OK) == 0 }

    public func list(_ path: String) -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    public func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink(path, &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The sysfs adapter's one syscall helper: retries `EINTR`, throws with errno, call and file.
    private static func call(_ name: String, _ path: String, _ body: () -> Int32) throws(HardwareError) -> Int32 {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw Errno.error(name, path, code)
        }
    }
}

private extension String {
    func trimmingCharacters(in set: String) -> String {
        let drop = Set(set)
        var slice = Substring(self)
        while let first = slice.first, drop.contains(first) { slice.removeFirst() }
        while let last = slice.last, drop.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
