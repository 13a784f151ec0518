import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal `sd_notify(3)`: sends state datagrams ("READY=1", "WATCHDOG=1", "STOPPING=1") to
/// the Unix datagram socket systemd names in `$NOTIFY_SOCKET`, without linking libsystemd.
///
/// A socket name starting with `@` is in Linux's abstract namespace (the `@` becomes a NUL byte
/// and the address length excludes any trailing NUL), as `sd_notify` does. Sending never blocks
/// (`MSG_DONTWAIT`) and never throws: like `sd_notify`, a failure is returned, not fatal.
public struct SystemdNotifier: Sendable {
    /// The socket name exactly as `$NOTIFY_SOCKET` gave it.
    public let socketPath: String

    /// The notifier for `$NOTIFY_SOCKET`, or nil when the service manager did not set one
    /// (started by hand, or `Type=` is not `notify`).
    public init?(environment: [String: String] = ProcessInfo.processInfo.environment) {
        guard let path = environment["NOTIFY_SOCKET"], path.hasPrefix("/") || path.hasPrefix("@"),
              path.utf8.count > 1 else { return nil }
        socketPath = path
    }

    public init(socketPath: String) { self.socketPath = socketPath }

    /// Half the watchdog interval systemd expects pings at (`$WATCHDOG_USEC`, honoured only when
    /// `$WATCHDOG_PID` is absent or this process), or nil when the watchdog is off.
    public static func watchdogPingInterval(environment: [String: String] = ProcessInfo.processInfo.environment) -> Duration? {
        guard let text = environment["WATCHDOG_USEC"], let usec = UInt64(text), usec > 0 else { return nil }
        if let pid = environment["WATCHDOG_PID"], Int32(pid) != getpid() { return nil }
        return .microseconds(Int64(usec / 2))
    }

    /// Sends one datagram, e.g. `"READY=1"` or `"STATUS=…"`.
    /// - Returns: whether the datagram was sent (errors are reported, not thrown).
    @discardableResult
    public func send(_ state: String) -> Result<Void, AppError> {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var name = Array(socketPath.utf8)
        let abstract = name.first == UInt8(ascii: "@")
        if abstract { name[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        // A filesystem path needs room for its terminating NUL; an abstract name does not.
        guard name.count + (abstract ? 0 : 1) <= capacity else {
            return .failure(AppError("NOTIFY_SOCKET '\(socketPath)' is longer than a Unix socket address"))
        }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            raw.copyBytes(from: name)
        }
        let length = socklen_t(MemoryLayout<sockaddr_un>.offset(of: \.sun_path)! + name.count + (abstract ? 0 : 1))
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return .failure(AppError("sd_notify: socket(AF_UNIX): \(String(cString: strerror(errno)))")) }
        defer { close(fd) }
        let bytes = Array(state.utf8)
        #if os(Linux)
        let flags = Int32(MSG_DONTWAIT) | Int32(MSG_NOSIGNAL)
        #else
        let flags = Int32(MSG_DONTWAIT)
        #endif
        var sent: Int
        repeat {
            sent = bytes.withUnsafeBytes { payload in
                withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        sendto(fd, payload.baseAddress, payload.count, flags, $0, length)
                    }
                }
            }
        } while sent < 0 && errno == EINTR
        guard sent == bytes.count else {
            return .failure(AppError("sd_notify: sendto \(socketPath): \(String(cString: strerror(errno)))"))
        }
        return .success(())
    }
}
