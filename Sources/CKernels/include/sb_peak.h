#ifndef SB_PEAK_H
#define SB_PEAK_H

#ifdef __cplusplus
extern "C" {
#endif

/// This core's arithmetic peak, measured: a loop of independent multiply-adds in the widest
/// vector instructions the CPU has (fp32 FMA: AVX-512, AVX2+FMA, NEON or scalar; int8: AVX-512
/// VNNI, AVX-VNNI, NEON sdot), run for about `seconds` on the calling thread. Results are in
/// G operations per second, a multiply-add counting as two. Returns the fastest of several
/// short bursts, so a busy machine reads low rather than high.
double sb_peak_fp32_gflops(double seconds);
/// The int8 multiply-add peak (G int8 ops/s, a multiply-add counting two), or 0 when the CPU has
/// no int8 dot-product instruction (the AVX2 and NEON smlal paths have no single-instruction peak).
double sb_peak_int8_gops(double seconds);
/// The instruction family `sb_peak_fp32_gflops` / `sb_peak_int8_gops` measure ("avx512", "avx2",
/// "neon", "scalar"; "avx512vnni", "avxvnni", "sdot", "none").
const char *sb_peak_fp32_isa(void);
const char *sb_peak_int8_isa(void);

#ifdef __cplusplus
}
#endif

#endif
