import CKernels
import Foundation
import Inference
import Testing

/// The measured multiply-add peak `smartbin bench` divides by: it picks the widest instruction
/// family this CPU has and reads a plausible rate (not a timing assertion: any positive, finite
/// rate below a physical ceiling passes; what matters is that the loop was not folded away).
@Suite struct PeakTests {
    static var cpuFlags: Set<Substring> {
        let info = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = info.split(separator: "\n").first { $0.hasPrefix("flags") || $0.hasPrefix("Features") } ?? ""
        return Set(line.split(separator: " "))
    }

    @Test func fp32PeakUsesTheWidestFMA() {
        let isa = String(cString: sb_peak_fp32_isa())
        let flags = Self.cpuFlags
        #if arch(x86_64)
        let expected = flags.contains("avx512f") ? "avx512" : (flags.contains("avx2") && flags.contains("fma") ? "avx2" : "scalar")
        #elseif arch(arm64)
        let expected = "neon"
        #else
        let expected = "scalar"
        #endif
        #expect(isa == expected)
        let rate = sb_peak_fp32_gflops(0.02)
        // A folded loop reads as thousands of T ops/s; no core does 10 TFLOP/s of fp32.
        #expect(rate.isFinite && rate > 0.01 && rate < 10_000, "fp32 peak \(rate) GFLOP/s")
    }

    @Test func int8PeakOnlyWithADotProductInstruction() {
        let isa = String(cString: sb_peak_int8_isa())
        let flags = Self.cpuFlags
        let rate = sb_peak_int8_gops(0.02)
        #if arch(x86_64)
        let expected = flags.contains("avx512_vnni") && flags.contains("avx512f") ? "avx512vnni"
            : (flags.contains("avx_vnni") ? "avxvnni" : "none")
        #expect(isa == expected)
        #endif
        if isa == "none" {
            #expect(rate == 0)
        } else {
            #expect(rate.isFinite && rate > 0.01 && rate < 40_000, "int8 peak \(rate) G ops/s")
            // One dot-product instruction does 4x (sdot, VNNI per lane) the multiply-adds of an
            // fp32 FMA of the same width: the int8 peak is never below the fp32 one.
            #expect(rate > sb_peak_fp32_gflops(0.02) * 0.5)
        }
    }

    /// `MachinePeak`, the engine's public face of the two loops: int8 where the CPU has a
    /// dot-product instruction, the fp32 FMA peak otherwise.
    @Test func machinePeakMeasuresTheFamilyThePassRunsOn() {
        let fp32 = MachinePeak.measure(int8: false, seconds: 0.02)
        #expect(!fp32.isInt8 && fp32.isa == String(cString: sb_peak_fp32_isa()))
        #expect(fp32.perCoreGigaOps.isFinite && fp32.perCoreGigaOps > 0.01 && fp32.perCoreGigaOps < 10_000)
        let int8 = MachinePeak.measure(int8: true, seconds: 0.02)
        if String(cString: sb_peak_int8_isa()) == "none" {
            #expect(!int8.isInt8 && int8.isa == fp32.isa)
        } else {
            #expect(int8.isInt8 && int8.isa == String(cString: sb_peak_int8_isa()))
            #expect(int8.perCoreGigaOps > fp32.perCoreGigaOps * 0.5)
        }
    }
}
