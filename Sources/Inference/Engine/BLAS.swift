import COpenBLAS
import CKernels
#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// The engine's window onto OpenBLAS: the only file that imports `COpenBLAS`.
///
/// Debian's OpenBLAS 0.3.21 is built with `DYNAMIC_ARCH` and picks its kernels when the library
/// loads. On CPUs newer than it knows (e.g. AMD Zen 4, Cortex-A76) it falls back to generic
/// kernels (`Prescott` on x86-64: about a third of the speed). `BLASRuntime` detects that and
/// chooses the right kernels: OpenBLAS reads `OPENBLAS_CORETYPE` only at load time, so the
/// process re-executes itself once with it set (see `correctCoreIfNeeded(arguments:)`).
public enum BLASRuntime {
    /// Environment variable that marks a process already restarted with a corrected core.
    static let restartedMarker = "SMARTBIN_BLAS_CORE_CHECKED"

    /// The kernel family OpenBLAS chose at load time, e.g. `SkylakeX`, `Haswell`, `Prescott`.
    public static var coreName: String {
        guard let name = openblas_get_corename() else { return "unknown" }
        return String(cString: name).trimmingCharacters(in: .whitespaces)
    }

    /// OpenBLAS's build description (version, DYNAMIC_ARCH, threading).
    public static var configuration: String {
        guard let config = openblas_get_config() else { return "unknown" }
        return String(cString: config).trimmingCharacters(in: .whitespaces)
    }

    /// Threads OpenBLAS uses for one GEMM.
    public static var threads: Int {
        get { Int(openblas_get_num_threads()) }
        set { openblas_set_num_threads(Int32(max(1, newValue))) }
    }

    /// The OpenBLAS core that fits this CPU best, or nil when OpenBLAS's own choice can stand.
    public static func preferredCore() -> String? {
        #if arch(x86_64)
        let f = sb_cpu_detect()
        if f.avx512f != 0 && f.avx512bw != 0 && f.avx512vl != 0 && f.avx512dq != 0 { return "SkylakeX" }
        if f.avx2 != 0 && f.fma != 0 { return "Haswell" }
        return nil
        #elseif arch(arm64)
        // /proc/cpuinfo "CPU part": 0xd03 Cortex-A53 (Zero 2 W), 0xd08 Cortex-A72 (Pi 4),
        // 0xd0b Cortex-A76 (Pi 5; OpenBLAS 0.3.21 has no A76 target, Neoverse N1 is its sibling).
        guard let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8) else { return nil }
        let parts = info.split(separator: "\n").filter { $0.hasPrefix("CPU part") }
            .compactMap { $0.split(separator: ":").last?.trimmingCharacters(in: .whitespaces) }
        switch parts.first {
        case "0xd03": return "CortexA53"
        case "0xd08": return "CortexA72"
        case "0xd0b", "0xd0c": return "NeoverseN1"
        default: return nil
        }
        #else
        return nil
        #endif
    }

    /// Rough ordering of x86-64 and arm64 kernel families by speed, for "is the chosen core worse?".
    static func rank(_ core: String) -> Int {
        switch core.lowercased() {
        case "skylakex", "cooperlake", "sapphirerapids": return 4
        case "haswell", "zen", "neoversen1", "neoversev1", "neoversen2": return 3
        case "sandybridge", "cortexa72", "cortexa73", "cortexa76": return 2
        case "cortexa53", "cortexa55", "cortexa57": return 1
        default: return 0
        }
    }

    /// Whether OpenBLAS chose a weaker core than the CPU supports.
    public static var isMisdetected: Bool {
        guard let preferred = preferredCore() else { return false }
        return rank(coreName) < rank(preferred)
    }

    /// Product setting that overrides the automatic choice: a core name (e.g. `Haswell`) to force,
    /// or `keep` to leave OpenBLAS's own choice (including any `OPENBLAS_CORETYPE`) alone.
    public static let overrideVariable = "SMARTBIN_BLAS_CORE"

    /// Makes OpenBLAS run the kernels this CPU supports. OpenBLAS picks its kernels once, when
    /// the library loads, from its CPU detection or `OPENBLAS_CORETYPE`; when that choice is
    /// weaker than the CPU (a misdetected new CPU, or a stale `OPENBLAS_CORETYPE` inherited from
    /// a shell), this re-executes the current program once with `OPENBLAS_CORETYPE` set right.
    /// `SMARTBIN_BLAS_CORE=<core>` forces a core; `SMARTBIN_BLAS_CORE=keep` disables the check.
    /// Returns (and the caller carries on) when nothing needs fixing or the restart fails.
    /// - Parameter arguments: the process's arguments, `argv[0]` first.
    public static func correctCoreIfNeeded(arguments: [String]) {
        let environment = ProcessInfo.processInfo.environment
        guard environment[restartedMarker] == nil else { return }
        let wanted: String
        switch environment[overrideVariable] {
        case "keep"?: return
        case let forced? where !forced.isEmpty && forced != "auto":
            guard forced.lowercased() != coreName.lowercased() else { return }
            wanted = forced
        default:
            guard isMisdetected, let preferred = preferredCore() else { return }
            wanted = preferred
        }
        let before = environment["OPENBLAS_CORETYPE"].map { "\(coreName) (OPENBLAS_CORETYPE=\($0))" } ?? coreName
        setenv("OPENBLAS_CORETYPE", wanted, 1)
        setenv(restartedMarker, before, 1)
        var cArguments: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) }
        cArguments.append(nil)
        execv("/proc/self/exe", &cArguments)
        // Only reached if exec failed: run on with the kernels already loaded.
        for pointer in cArguments { free(pointer) }
    }

    /// The core OpenBLAS would have used had it not been corrected (nil if never corrected).
    public static var detectedBeforeCorrection: String? {
        ProcessInfo.processInfo.environment[restartedMarker]
    }
}

/// Thin, typed wrappers over the two BLAS calls the engine makes.
enum BLAS {
    /// C[m x n] = A[m x k] * B[k x n] (+ C if `accumulate`), all row-major and dense.
    @inline(__always)
    static func gemm(m: Int, n: Int, k: Int, a: UnsafePointer<Float>, b: UnsafePointer<Float>,
                     c: UnsafeMutablePointer<Float>, accumulate: Bool = false) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(n), Int32(k),
                    1, a, Int32(k), b, Int32(n), accumulate ? 1 : 0, c, Int32(n))
    }

    /// The single-threaded GEMM the C convolution driver calls on each thread's share.
    static let kernel: sb_gemm_fn = { m, n, k, a, lda, b, ldb, c, ldc in
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, n, k, 1, a, lda, b, ldb, 0, c, ldc)
    }

    /// The single-threaded GEMV `sb_gemv_parallel` calls on each block of rows.
    static let gemvKernel: sb_gemv_fn = { m, n, a, lda, x, y in
        cblas_sgemv(CblasRowMajor, CblasNoTrans, m, n, 1, a, lda, x, 1, 0, y, 1)
    }

    /// y[m] = A[m x n] * x[n], row-major.
    @inline(__always)
    static func gemv(m: Int, n: Int, a: UnsafePointer<Float>, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>) {
        cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(n), 1, a, Int32(n), x, 1, 0, y, 1)
    }
}
