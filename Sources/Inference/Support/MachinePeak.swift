import CKernels

/// This core's arithmetic peak, measured: what `smartbin bench` sets a forward pass's rate
/// against ("% of peak"). A loop of independent multiply-adds in the widest instruction family
/// the CPU has (`Sources/CKernels/sb_peak.c`).
public struct MachinePeak: Sendable, Equatable {
    /// Operations per second on one core, in billions (a multiply-add counts two).
    public var perCoreGigaOps: Double
    /// The instruction family measured: `avx512`, `avx2`, `neon` or `scalar` for fp32 FMAs;
    /// `avx512vnni`, `avxvnni` or `sdot` for int8 dot products.
    public var isa: String
    /// True when `perCoreGigaOps` is the int8 dot-product peak, false for the fp32 FMA peak.
    public var isInt8: Bool

    /// Measures the peak on the calling thread; blocks for about `seconds` (up to twice that when
    /// an int8 peak is asked for and the CPU has none, as the fp32 one is measured after).
    /// - Parameters:
    ///   - int8: measure the int8 dot-product peak where the CPU has such an instruction (the
    ///     rate an int8 pass is set against); otherwise, or without one, the fp32 FMA peak.
    ///   - seconds: how long each measuring loop runs.
    public static func measure(int8: Bool, seconds: Double = 0.2) -> MachinePeak {
        if int8 {
            let rate = sb_peak_int8_gops(seconds)
            if rate > 0 { return MachinePeak(perCoreGigaOps: rate, isa: String(cString: sb_peak_int8_isa()), isInt8: true) }
        }
        return MachinePeak(perCoreGigaOps: sb_peak_fp32_gflops(seconds), isa: String(cString: sb_peak_fp32_isa()), isInt8: false)
    }
}
