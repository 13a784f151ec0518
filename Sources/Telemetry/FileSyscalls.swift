#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The outbox's one syscall helper: retries `EINTR`, throws with the call's name, the file and
/// `errno`'s text. Every POSIX call in the outbox goes through here; no return value is ignored.
enum FileSyscalls {
    @discardableResult
    static func call<T: BinaryInteger>(_ name: String, _ path: String,
                                       _ body: () -> T) throws(TelemetryError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw TelemetryError(.outboxIO, "\(name) \(path): \(String(cString: strerror(code))) (errno \(code))")
        }
    }

    /// Opens `path` with `flags` (and mode 0644 when creating).
    static func openFile(_ path: String, _ flags: Int32) throws(TelemetryError) -> Int32 {
        try call("open", path) { open(path, flags | O_CLOEXEC, 0o644) }
    }

    /// Writes all of `bytes` at `offset`.
    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, _ path: String) throws(TelemetryError) {
        var done = 0
        while done < bytes.count {
            let n = try call("pwrite", path) {
                bytes.withUnsafeBytes { raw in
                    pwrite(fd, raw.baseAddress! + done, raw.count - done, off_t(offset + done))
                }
            }
            if n == 0 { throw TelemetryError(.outboxIO, "pwrite \(path): wrote 0 bytes at offset \(offset + done)") }
            done += n
        }
    }

    /// Reads a whole file into memory.
    static func readAll(_ path: String) throws(TelemetryError) -> [UInt8] {
        let fd = try openFile(path, O_RDONLY)
        defer { _ = close(fd) }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = try call("read", path) {
                chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            }
            if n == 0 { return result }
            result.append(contentsOf: chunk[0..<n])
        }
    }

    static func sync(_ fd: Int32, _ path: String) throws(TelemetryError) {
        try call("fsync", path) { fsync(fd) }
    }

    static func truncate(_ fd: Int32, to length: Int, _ path: String) throws(TelemetryError) {
        try call("ftruncate", path) { ftruncate(fd, off_t(length)) }
    }

    /// fsyncs a directory so that a create or rename inside it survives a power cut.
    static func fsyncDirectory(_ path: String) throws(TelemetryError) {
        let fd = try openFile(path, O_RDONLY | O_DIRECTORY)
        defer { _ = close(fd) }
        try sync(fd, path)
    }

    static func renameFile(_ from: String, _ to: String) throws(TelemetryError) {
        try call("rename", "\(from) -> \(to)") { rename(from, to) }
    }

    static func exists(_ path: String) -> Bool {
        var info = stat()
        return stat(path, &info) == 0
    }

    /// Creates `path` and any missing parents (mode 0755), fsyncing each parent it changed.
    static func makeDirectories(_ path: String) throws(TelemetryError) {
        if exists(path) { return }
        let parent = parentDirectory(of: path)
        if parent != path { try makeDirectories(parent) }
        let rc = mkdir(path, 0o755)
        if rc != 0 && errno != EEXIST {
            throw TelemetryError(.outboxIO, "mkdir \(path): \(String(cString: strerror(errno))) (errno \(errno))")
        }
        try fsyncDirectory(parent)
    }

    static func parentDirectory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }
}
