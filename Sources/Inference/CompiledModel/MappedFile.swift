import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A whole file mapped read-only (`mmap`, `MAP_PRIVATE`): the owner of the mapping, unmapped
/// in `deinit`. Pages are read from the page cache on first touch; `release` drops pages again.
final class MappedFile {
    let base: UnsafeRawPointer
    let size: Int
    let path: String

    /// Maps `path`. Blocks on the `open` and `mmap` calls only (no page is read here).
    /// - Throws: `InferenceError(.fileUnreadable)` with the call and errno.
    init(path: String) throws(InferenceError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw InferenceError(.fileUnreadable, "\(path): open failed: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw InferenceError(.fileUnreadable, "\(path): fstat failed: \(String(cString: strerror(errno)))") }
        size = Int(st.st_size)
        guard size > 0 else { throw InferenceError(.malformedModel, "\(path): the file is empty (truncated at offset 0, in the header)") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw InferenceError(.fileUnreadable, "\(path): mmap failed: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }

    /// Drops the resident pages wholly inside [pointer, pointer + count) (they are read again
    /// from the file if touched later). Keeps peak RSS down after weights are packed.
    func release(_ pointer: UnsafeRawPointer, _ count: Int) {
        Pages.release(pointer, count)
    }
}
