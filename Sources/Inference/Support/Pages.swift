#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Dropping memory pages the process will not read again, to keep peak RSS down while weights
/// are repacked at load.
enum Pages {
    /// Drops the resident pages wholly inside [pointer, pointer + count) with
    /// `madvise(MADV_DONTNEED)`: pages of a file mapping are read from the file again if touched
    /// later; pages of anonymous memory read as zeros. Partly covered pages at either end stay.
    /// Only for memory nothing reads again unless it accepts that (a mapped file's pages, or
    /// a buffer about to be freed).
    static func release(_ pointer: UnsafeRawPointer, _ count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: pointer) + page - 1) / page * page
        let end = (Int(bitPattern: pointer) + count) / page * page
        guard end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, MADV_DONTNEED)
    }
}
