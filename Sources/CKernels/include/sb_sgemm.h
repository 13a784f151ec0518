// SmartBin fp32 GEMM for the convolutions (x86-64: AVX-512 and AVX2 micro-kernels, plus a plain C
// one; aarch64 keeps OpenBLAS).
//
// C [M x N] = A [M x K] * B [K x N], row-major, where A is a convolution's weights (M = output
// channels) and B its input (N = output pixels). Unlike a BLAS sgemm:
//   - A is packed once, at load, into the micro-kernel's layout (`sb_sgemm_pack_a`): row blocks
//     of MR rows, each [K][MR] (rows past M zero), so every call streams it as it is;
//   - the micro-kernel holds MR output channels x NR pixels, vectorised along the channels, so
//     N needs no padding (ResNet50's N = 49, 196, 784, ... are all multiples of NR = 14 or 7 and
//     any other remainder runs a narrower instantiation of the same kernel);
//   - B comes straight from the convolution's input: panels of NR columns, [K][NR], packed per
//     call from the input planes with the im2col folded in (no im2col buffer), or read in place
//     for a 1x1 stride-1 convolution;
//   - the epilogue (bias, residual, ReLU) is fused into the tile's store, which transposes the
//     tile back into C's row-major layout.
// Variants are chosen at run time by CPU features; each computes the same sums in a different
// order (fp32 rounding differs; the tests bound the relative error against a double reference).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_kernels.h"
#include "sb_parallel.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel variants; each lives in its own file (sb_sgemm.c for ref, sb_sgemm_<name>.c).
typedef enum sb_sgemm_kernel {
    SB_SGEMM_KERNEL_REF = 0,     ///< plain C (MR 8, NR 8)
    SB_SGEMM_KERNEL_AVX2 = 1,    ///< x86-64 AVX2 + FMA (MR 16, NR 6)
    SB_SGEMM_KERNEL_AVX512 = 2,  ///< x86-64 AVX-512 F/VL/BW/DQ (MR 32, NR 14)
    SB_SGEMM_KERNEL_COUNT = 3
} sb_sgemm_kernel;

/// "ref", "avx2", "avx512"; NULL for an unknown kernel.
const char *sb_sgemm_kernel_name(int32_t kernel);
/// The kernel named `name`, or -1.
int32_t sb_sgemm_kernel_from_name(const char *name);
/// Non-zero when this build has the kernel and this CPU (and OS) can run it.
int32_t sb_sgemm_kernel_available(int32_t kernel);
/// The fastest available kernel (AVX-512, then AVX2, then ref).
int32_t sb_sgemm_best_kernel(void);
/// Row block MR and column panel NR of a kernel (0 for an unknown one).
int32_t sb_sgemm_block_m(int32_t kernel);
int32_t sb_sgemm_block_n(int32_t kernel);

/// Floats of `sb_sgemm_pack_a`'s output for an M x K matrix: ceil(M / MR) * MR * K.
size_t sb_sgemm_packed_floats(int32_t kernel, int32_t m, int32_t k);
/// Packs row-major `a` [m x k] (leading dimension `lda`) into `dst` (64-byte aligned,
/// `sb_sgemm_packed_floats` floats): row block b at dst + b*MR*K, [K][MR].
void sb_sgemm_pack_a(int32_t kernel, const float *a, int32_t m, int32_t k, int32_t lda, float *dst);

/// Single-threaded C = act(A * B + bias[row] + residual) with `packed_a` from sb_sgemm_pack_a
/// and B read in place (row-major, leading dimension `ldb`). `bias` and `residual` (C's
/// layout, leading dimension `ldc`) may be NULL.
void sb_sgemm(int32_t kernel, int32_t m, int32_t n, int32_t k, const float *packed_a,
              const float *b, int32_t ldb, float *c, int32_t ldc,
              const float *bias, const float *residual, int32_t relu);

/// A convolution prepared at load time for the GEMM above.
typedef struct sb_sgemm_conv_plan {
    sb_window window;
    int32_t out_channels;    ///< GEMM M
    int32_t relu;
    int32_t kernel;          ///< SB_SGEMM_KERNEL_*
    const float *weights;    ///< sb_sgemm_pack_a of [out_channels, channels * k_h * k_w]
    const float *bias;       ///< [out_channels] or NULL
} sb_sgemm_conv_plan;

/// Floats of scratch `sb_sgemm_conv2d` needs: the packed B, K * ceil(N / NR) * NR (0 when a
/// 1x1 stride-1 unpadded convolution reads its input in place).
size_t sb_sgemm_conv_scratch_floats(const sb_sgemm_conv_plan *plan);

/// Runs one convolution: output = act(W * unfold(input) + bias + residual); `residual` (the
/// output's layout) may be NULL, `scratch` (64-byte aligned) holds sb_sgemm_conv_scratch_floats.
/// The pool's threads claim B's panels to pack, then work items of row blocks or of panels.
void sb_sgemm_conv2d(const sb_sgemm_conv_plan *plan, const float *input, const float *residual,
                     float *output, float *scratch, sb_pool *pool);

/// Packs the columns [j0, j0 + cols) of unfold(`src`) (the im2col matrix of `g`, never built)
/// into `dst` [K][nr] (cols <= nr; columns past `cols` are left unwritten). Exposed for tests.
void sb_sgemm_pack_window(int32_t kernel, const float *src, const sb_window *g, int32_t j0, int32_t cols,
                          float *dst);

#ifdef __cplusplus
}
#endif
