#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Whole-file reads and writes with POSIX calls: retries `EINTR`, and every failure becomes an
/// `ImagingError` naming the path, the call and `errno`'s text. Blocks the calling thread.
enum FileIO {
    /// Largest file `readAll` accepts (1 GiB): image and tensor files are far smaller.
    static let maximumSize = 1 << 30

    /// The contents of the file at `path`.
    static func readAll(_ path: String) throws(ImagingError) -> [UInt8] {
        let fd = try retrying(path, "open") { open(path, O_RDONLY | O_CLOEXEC) }
        defer { _ = close(fd) }
        var status = stat()
        _ = try retrying(path, "fstat") { fstat(fd, &status) }
        let size = Int(status.st_size)
        guard size <= maximumSize else {
            throw ImagingError(.io, source: path, message: "file is \(size) bytes; the limit is \(maximumSize)")
        }
        var bytes = [UInt8](repeating: 0, count: size)
        var done = 0
        while done < size {
            let n = try retrying(path, "read") {
                bytes.withUnsafeMutableBytes { raw in read(fd, raw.baseAddress! + done, size - done) }
            }
            if n == 0 { break }  // the file shrank while we read it
            done += n
        }
        return done == size ? bytes : Array(bytes.prefix(done))
    }

    /// Replaces the file at `path` with `bytes` (mode 0644 when created).
    static func write(_ bytes: [UInt8], to path: String) throws(ImagingError) {
        let fd = try retrying(path, "open") { open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644) }
        var done = 0
        while done < bytes.count {
            let n: Int
            do {
                n = try retrying(path, "write") {
                    bytes.withUnsafeBytes { raw in posixWrite(fd, raw.baseAddress! + done, bytes.count - done) }
                }
            } catch {
                _ = close(fd)
                throw error
            }
            done += n
        }
        // close is not retried: on Linux the descriptor is released even when it reports EINTR.
        if close(fd) != 0 {
            let code = errno
            throw ImagingError(.io, source: path, message: "close failed: \(String(cString: strerror(code))) (errno \(code))")
        }
    }

    /// Runs a POSIX call until it does not fail with `EINTR`; other failures throw.
    private static func retrying<T: BinaryInteger>(_ path: String, _ call: String,
                                                   _ body: () -> T) throws(ImagingError) -> T {
        while true {
            let result = body()
            if result >= 0 { return result }
            let code = errno
            if code == EINTR { continue }
            throw ImagingError(.io, source: path, message: "\(call) failed: \(String(cString: strerror(code))) (errno \(code))")
        }
    }
}

/// `write(2)`, reachable from inside `FileIO` whose own `write` would shadow it.
private func posixWrite(_ fd: Int32, _ buffer: UnsafeRawPointer, _ count: Int) -> Int {
    write(fd, buffer, count)
}
