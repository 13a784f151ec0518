// SmartBin int8 GEMM for the quantised engine: C = requant(A x (B - zp)).
//
// Problem (one convolution as a GEMM, batch 1, NCHW planes):
//   A [M x K]  int8 weights, row-major with row stride `lda`; M = output channels,
//              K = Cin*kh*kw in im2col row order. Symmetric per output channel: the real
//              weight is w_scale[m] * A[m][k]; any int8 value (-128 too) is accepted.
//   B [K x N]  uint8 activations, row-major with row stride `ldb`; N = output pixels. The
//              real value is in_scale * (B[k][n] - b_zero_point). (An int8 tensor can be
//              passed as uint8 by flipping the sign bit, b ^ 0x80, with zero point zp + 128.)
//   acc[m][n] = sum_k A[m][k] * (B[k][n] - b_zero_point), exactly, in int32. Exact for
//              K <= 65536 (|acc| <= 128 * 255 * K < 2^31). Every kernel variant produces
//              the same acc bit for bit; it is what SB_Q8_OUT_I32 stores.
//   C [M x N]  written with row stride `ldc` (elements) through the epilogue below.
//
// Why uint8 activations: x86's vpdpbusd multiplies unsigned bytes by signed bytes, so u8
// activations x s8 weights is its native form and the zero point costs one multiply-add
// per output (acc = A.B - zp * rowsum(A), row sums computed at pack time). On aarch64 the
// packer flips B to int8 for sdot and adds (128 - zp) * rowsum(A) back; the int16 variants
// (AVX2 vpmaddwd, NEON smlal) subtract the zero point while packing B.
//
// Epilogue (one shared scalar function for every variant, no FMA contraction, so outputs
// are bit-identical across variants; each step is one IEEE fp32 operation in this order):
//   v = (float)acc * scale[m]                        -- rounded to fp32
//   v = v + bias[m]                                  -- if bias != NULL
//   v = v + (float)(res[m][n] - residual_zp) * residual_scale   -- if residual != NULL
//   v = max(v, 0)                                    -- if relu
//   U8/S8: q = round_half_to_even(v) + out_zp, clamped to [0,255] / [-128,127]
//   F32:   stores v (out_zp ignored)
//   I32:   stores acc (scale, bias, residual, relu ignored)
// For U8/S8 the caller folds the output quantisation into the constants:
//   scale[m] = w_scale[m] * in_scale / out_scale, bias[m] = bias_fp[m] / out_scale,
//   residual_scale = res_scale / out_scale (residual is a u8 tensor with zero point residual_zp).
// For F32 use real units: scale[m] = w_scale[m] * in_scale, bias[m] = bias_fp[m].
//
// Calling sequence (no allocation anywhere):
//   kernel = sb_q8_select_kernel();                                // once at load
//   size   = sb_q8_packed_weights_size(kernel, M, K);              // once per layer
//   sb_q8_pack_weights(kernel, A, M, K, lda, buf, size);            // buf 64-byte aligned
//   wsize  = sb_q8_workspace_size(kernel, K);                      // per thread, max over layers
//   sb_q8_gemm(buf, B, ldb, zp, m0, m1, n0, n1, &epilogue, C, ldc, ws, wsize);  // per call
// Threads: split [0, M) x [0, N) into disjoint rectangles, one sb_q8_gemm call each with
// its own workspace. Any bounds work; m0 a multiple of sb_q8_block_m(kernel) and n0 of
// sb_q8_block_n(kernel) wastes no work. Splitting N suits early layers (N = 12544), M late ones.
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Kernel variants; each lives in its own file (sb_q8_<name>.c).
typedef enum sb_q8_kernel {
    SB_Q8_KERNEL_REF = 0,        ///< portable scalar, the packed-path twin of the reference
    SB_Q8_KERNEL_AVX2 = 1,       ///< x86-64 AVX2, vpmaddwd on int16 (exact)
    SB_Q8_KERNEL_AVX512VNNI = 2, ///< x86-64 AVX-512 VNNI, 512-bit vpdpbusd
    SB_Q8_KERNEL_AVXVNNI = 3,    ///< x86-64 AVX-VNNI, 256-bit vpdpbusd (VEX)
    SB_Q8_KERNEL_NEON = 4,       ///< aarch64 NEON smlal on int16 (Cortex-A72, Pi 4)
    SB_Q8_KERNEL_DOTPROD = 5,    ///< aarch64 FEAT_DotProd sdot (Cortex-A76, Pi 5)
    SB_Q8_KERNEL_COUNT = 6
} sb_q8_kernel;

/// Error codes (negative); functions returning int32_t return 0 or a kernel id on success.
enum {
    SB_Q8_OK = 0,
    SB_Q8_E_UNSUPPORTED = -1,    ///< variant not compiled for this architecture or CPU lacks it
    SB_Q8_E_UNKNOWN = -2,        ///< unknown variant name (e.g. in SMARTBIN_Q8_KERNEL)
    SB_Q8_E_ARGUMENT = -3,       ///< bad shape, range, stride, NULL or misaligned pointer
    SB_Q8_E_BUFFER = -4,         ///< caller's buffer or workspace is too small
    SB_Q8_E_PACKED = -5          ///< packed weights are corrupt or for another variant
};

/// Output element type of the epilogue.
typedef enum sb_q8_out {
    SB_Q8_OUT_U8 = 0, SB_Q8_OUT_S8 = 1, SB_Q8_OUT_F32 = 2, SB_Q8_OUT_I32 = 3
} sb_q8_out;

/// Per-call requantisation constants (see the contract at the top of this file).
typedef struct sb_q8_epilogue {
    const float *scale;          ///< [M] multiplier of acc; required unless OUT_I32
    const float *bias;           ///< [M] added after scaling, or NULL
    const uint8_t *residual;     ///< [M x ld_residual] u8 tensor added, or NULL
    int32_t ld_residual;         ///< row stride of residual, elements
    float residual_scale;        ///< multiplier of (residual - residual_zp)
    int32_t residual_zp;
    int32_t out_zp;              ///< output zero point (U8: 0..255, S8: -128..127)
    int32_t relu;                ///< non-zero: max(v, 0) before rounding
    int32_t out_type;            ///< sb_q8_out
} sb_q8_epilogue;

/// Name of a variant ("ref", "avx2", "avx512vnni", "avxvnni", "neon", "dotprod"), or NULL.
const char *sb_q8_kernel_name(int32_t kernel);
/// Variant id of a name, or SB_Q8_E_UNKNOWN.
int32_t sb_q8_kernel_from_name(const char *name);
/// 1 when the variant is compiled for this architecture and the running CPU supports it.
int32_t sb_q8_kernel_available(int32_t kernel);
/// The fastest available variant on this CPU, ignoring the environment.
int32_t sb_q8_best_kernel(void);
/// The variant to use: SMARTBIN_Q8_KERNEL if set (and not "" or "auto"), else the best.
/// Returns SB_Q8_E_UNKNOWN / SB_Q8_E_UNSUPPORTED when the variable names a bad variant.
int32_t sb_q8_select_kernel(void);
/// Row blocking (MR) and column blocking (NR) of a variant, or SB_Q8_E_UNSUPPORTED.
int32_t sb_q8_block_m(int32_t kernel);
int32_t sb_q8_block_n(int32_t kernel);

/// Bytes needed for the packed weights of an M x K matrix for `kernel`, 0 on bad arguments.
size_t sb_q8_packed_weights_size(int32_t kernel, int32_t m, int32_t k);
/// Packs A [m x k] (row stride lda) with its row sums into `dst` (64-byte aligned,
/// `dst_size` >= sb_q8_packed_weights_size). Returns SB_Q8_OK or an error code. The
/// packed form records the variant; sb_q8_gemm refuses it if that variant is unavailable.
int32_t sb_q8_pack_weights(int32_t kernel, const int8_t *a, int32_t m, int32_t k, int32_t lda,
                           void *dst, size_t dst_size);
/// Bytes of per-thread workspace sb_q8_gemm needs for reduction length k, 0 on bad arguments.
size_t sb_q8_workspace_size(int32_t kernel, int32_t k);

/// C[m0:m1, n0:n1] = epilogue(A[m0:m1, :] x (B[:, n0:n1] - b_zero_point)).
/// `packed_a` from sb_q8_pack_weights; `b` is [K x ldb] uint8; `c` is [M x ldc] of
/// ep->out_type (row m at c + m*ldc elements, column n at + n); `workspace` 64-byte aligned.
/// Thread-safe for disjoint output ranges with separate workspaces. Returns SB_Q8_OK or an
/// error code (nothing is written on error).
int32_t sb_q8_gemm(const void *packed_a, const uint8_t *b, int32_t ldb, int32_t b_zero_point,
                   int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                   const sb_q8_epilogue *ep, void *c, int32_t ldc,
                   void *workspace, size_t workspace_size);

/// Variant id the weights in `packed_a` were packed for, or SB_Q8_E_PACKED.
int32_t sb_q8_packed_kernel(const void *packed_a);

struct sb_window;
/// 1 when sb_q8_gemm_conv can run convolution window `g` with `kernel`'s packed weights,
/// packing B straight from the input planes (no unfold buffer); 0 otherwise.
int32_t sb_q8_conv_implicit(int32_t kernel, const struct sb_window *g);
/// sb_q8_gemm with B = the uint8 unfold of `input` [channels, in_h, in_w] by `g` (rows
/// c*k_h*k_w + ky*k_w + kx, columns the output pixels, `b_zero_point` outside the input, as
/// sb_im2col_u8 with that padding value), read while packing. SB_Q8_E_UNSUPPORTED unless
/// sb_q8_conv_implicit(kernel, g); the weights' K must be channels*k_h*k_w.
int32_t sb_q8_gemm_conv(const void *packed_a, const uint8_t *input, const struct sb_window *g,
                        int32_t b_zero_point, int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                        const sb_q8_epilogue *ep, void *c, int32_t ldc,
                        void *workspace, size_t workspace_size);

/// 1 when sb_q8_gemm_conv_c4 can run window `g` (stride 1 or 2) with `kernel`'s packed weights; 0
/// otherwise (other variants and strides use sb_q8_gemm_conv or an explicit unfold).
int32_t sb_q8_conv_c4_supported(int32_t kernel, const struct sb_window *g);
/// sb_q8_gemm_conv with the input given as padded c4 planes (`sb_u8_to_c4`, sb_q8_conv.h) and
/// the weights packed from `sb_q8_reorder_c4`'s K order (K = sb_q8_c4_reduction(g)): the same
/// products, with B's k groups read as one dword per column. SB_Q8_E_UNSUPPORTED unless
/// sb_q8_conv_c4_supported(kernel, g).
int32_t sb_q8_gemm_conv_c4(const void *packed_a, const uint8_t *input_c4, const struct sb_window *g,
                           int32_t b_zero_point, int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                           const sb_q8_epilogue *ep, void *c, int32_t ldc,
                           void *workspace, size_t workspace_size);

/// One operand of sb_q8_gemm_pair: packed weights [M x K] times a uint8 B, either the matrix
/// `b` [K x ldb] or, when `b` is NULL, the unfold of the convolution `input` by `window` read
/// while packing (as sb_q8_gemm_conv). `epilogue` holds the operand's SB_Q8_OUT_F32 constants
/// in real units (scale[m], bias[m] or NULL); its residual must be NULL and relu 0.
typedef struct sb_q8_operand {
    const void *packed;
    const uint8_t *b;
    int32_t ldb;
    const uint8_t *input;
    const struct sb_window *window;
    int32_t zero_point;
    const sb_q8_epilogue *epilogue;
} sb_q8_operand;

/// Bytes of workspace one sb_q8_gemm_pair call needs (64-byte aligned).
size_t sb_q8_pair_workspace_size(int32_t kernel, int32_t k1, int32_t k2);

/// Two GEMMs with one output: for each (m, n) in [m0, m1) x [n0, n1), x and y each give the F32
/// epilogue's value (float)acc * scale[m] (+ bias[m]); c[m][n] = the uint8 quantisation of
/// x + y exactly as sb_quantize_u8 (max(., 0) first if `relu`, then round half to even of
/// v / out_scale, + out_zp, clamped to [0, 255]). Both weights must be packed for the same
/// variant with the same M. Tile by tile: both micro-kernels run on the same output tile and
/// one fused epilogue stores it, so neither fp32 result is ever written out. The bits equal
/// the two F32 GEMMs added and quantised separately. Returns SB_Q8_OK or an error code.
int32_t sb_q8_gemm_pair(const sb_q8_operand *x, const sb_q8_operand *y, float out_scale, int32_t out_zp,
                        int32_t relu, int32_t m0, int32_t m1, int32_t n0, int32_t n1, uint8_t *c,
                        int32_t ldc, void *workspace, size_t workspace_size);

/// Reference twin: the obvious triple loop for acc (int32 [m x n], row stride n) ...
void sb_q8_gemm_acc_ref(const int8_t *a, int32_t m, int32_t k, int32_t lda,
                        const uint8_t *b, int32_t n, int32_t ldb, int32_t b_zero_point,
                        int32_t *acc);
/// ... and the epilogue applied to it, element by element, into c [m x ldc].
void sb_q8_epilogue_ref(const int32_t *acc, int32_t m, int32_t n,
                        const sb_q8_epilogue *ep, void *c, int32_t ldc);

#ifdef __cplusplus
}
#endif
