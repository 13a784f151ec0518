// SmartBin int8 convolution path: uint8 activation kernels around the int8 GEMM (sb_int8.h).
//
// Activations are uint8 NCHW planes (batch 1) with one (scale, zero point) per tensor: the real
// value of q is scale * (q - zp). Every fast kernel here has a plain reference twin (`*_ref`,
// in sb_u8_conv_ref.c) that the tests compare with on seeded random shapes, exactly.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_kernels.h"
#include "sb_parallel.h"
#include "sb_int8.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Unfolds uint8 `src` [channels, in_h, in_w] into columns `dst` [channels*k_h*k_w, out_h*out_w]
/// (row c*k_h*k_w + ky*k_w + kx), writing `pad_value` (the input's zero point, i.e. real 0)
/// outside the input. A 1x1 strided window is the strided gather of a subsampling conv.
void sb_im2col_u8(const uint8_t *src, uint8_t *dst, const sb_window *g, uint8_t pad_value);
void sb_im2col_u8_ref(const uint8_t *src, uint8_t *dst, const sb_window *g, uint8_t pad_value);

/// Max pooling of uint8 planes; padded positions never win (as ONNX MaxPool). Quantisation is
/// monotonic, so the output has the input's scale and zero point.
void sb_maxpool_u8(const uint8_t *src, uint8_t *dst, const sb_window *g);
void sb_maxpool_u8_ref(const uint8_t *src, uint8_t *dst, const sb_window *g);

/// q = clamp(round_half_to_even(src / scale) + zp, 0, 255), as ONNX QuantizeLinear; with
/// `relu` non-zero src is first replaced by max(src, 0).
void sb_quantize_u8(const float *src, uint8_t *dst, size_t count, float scale, int32_t zp, int32_t relu);
void sb_quantize_u8_ref(const float *src, uint8_t *dst, size_t count, float scale, int32_t zp, int32_t relu);

/// dst[c] = scale * (mean of plane c of `src` - zp), in fp32 (the classifier head's input).
void sb_global_avgpool_u8(const uint8_t *src, float *dst, int32_t channels, int32_t plane,
                          float scale, int32_t zp);
void sb_global_avgpool_u8_ref(const uint8_t *src, float *dst, int32_t channels, int32_t plane,
                              float scale, int32_t zp);

/// Copies `src` [channels, in_h, in_w] into `dst` with a border of `value` (uint8).
void sb_pad_u8(const uint8_t *src, uint8_t *dst, int32_t channels, int32_t in_h, int32_t in_w,
               int32_t top, int32_t left, int32_t bottom, int32_t right, uint8_t value);

/// An int8 convolution prepared at load time.
typedef struct sb_q8_conv_plan {
    sb_window window;
    int32_t out_channels;     ///< GEMM M
    int32_t unfold;           ///< non-zero: u8 im2col (or strided gather) into scratch first
    int32_t input_zp;         ///< zero point of the input (and the unfold's padding value)
    const void *packed;       ///< sb_q8_pack_weights output for [out_channels, channels*k_h*k_w]
    sb_q8_epilogue epilogue;  ///< scale/bias/out_zp/relu/out_type; residual set per call
    int32_t block_m, block_n; ///< the kernel's MR and NR (thread splits align to them)
    /// Non-zero: `packed` holds the weights in c4 K order (sb_q8_reorder_c4) and the input is
    /// first copied into padded c4 planes in `scratch` (sb_q8_conv_c4_supported must hold).
    int32_t c4;
} sb_q8_conv_plan;

/// Bytes of the padded c4 planes of window `g`'s input: ceil(C/4) * (in_h + pad_top +
/// pad_bottom) * (in_w + pad_left + pad_right) * 4.
size_t sb_q8_c4_input_bytes(const sb_window *g);
/// K of the c4 weight order: ceil(C/4) * 4 * k_h * k_w (missing channels have zero weights).
int32_t sb_q8_c4_reduction(const sb_window *g);
/// Reorders int8 weights [m][C*k_h*k_w] (K order c, ky, kx) into [m][sb_q8_c4_reduction(g)]
/// in c4 order: k = ((c/4) * k_h*k_w + ky*k_w + kx) * 4 + c % 4, zero for channels past C.
void sb_q8_reorder_c4(const int8_t *weights, int32_t m, const sb_window *g, int8_t *dst);
/// Copies channel groups [c4_0, c4_1) of uint8 `src` [C, in_h, in_w] into padded c4 planes
/// `dst` ([ceil(C/4)][in_h + pads][in_w + pads][4]: channel 4*c4 + i of a pixel at byte i),
/// with `zero_point` in the border and in channels past C.
void sb_u8_to_c4(const uint8_t *src, const sb_window *g, uint8_t zero_point, int32_t c4_0, int32_t c4_1,
                 uint8_t *dst);

/// One int8 convolution: output = epilogue(W x (unfold(input) - zp), residual). `residual`
/// (uint8, same shape as the output, scale/zp in the plan's epilogue) may be NULL. `scratch`
/// holds K*N bytes when `unfold` is set and the kernel cannot pack the window from the input
/// (sb_q8_conv_implicit false), or the c4 planes (sb_q8_c4_input_bytes) when `c4` is set;
/// unused otherwise, may then be NULL; `workspaces` holds one
/// `workspace_size` block (64-byte aligned) per pool thread. The unfold is cut into chunks of
/// channels, the GEMM into chunks of output columns (each packs only its own columns) or, when
/// the image is small, of output rows; the pool's threads claim the chunks. The output is the
/// same, bit for bit, for any pool.
/// Returns SB_Q8_OK or the GEMM's error code.
int32_t sb_q8_conv2d(const sb_q8_conv_plan *plan, const uint8_t *input, const uint8_t *residual,
                     void *output, uint8_t *scratch, void *workspaces, size_t workspace_size,
                     sb_pool *pool);

/// The same convolution computed by the reference twins only (im2col_ref, gemm_acc_ref,
/// epilogue_ref); `acc` holds M*N int32. For tests.
void sb_q8_conv2d_ref(const sb_q8_conv_plan *plan, const int8_t *weights, const uint8_t *input,
                      const uint8_t *residual, void *output, uint8_t *scratch, int32_t *acc);

/// An fp32 convolution whose output is quantised to uint8 (scale, zp; `plan`'s bias and ReLU
/// applied first), computed in bands of `band_rows` output rows: per band im2col, `gemm`, the
/// epilogue and sb_quantize_u8, so the fp32 unfold and output never exist whole. The pool's
/// threads claim runs of whole bands; each thread uses its own `sb_conv2d_f32_u8_scratch`
/// floats of `scratch`.
void sb_conv2d_f32_u8(const sb_conv_plan *plan, const float *input, uint8_t *output, float scale,
                      int32_t zp, int32_t band_rows, float *scratch, sb_pool *pool, sb_gemm_fn gemm);
/// Floats of scratch one thread of sb_conv2d_f32_u8 needs.
size_t sb_conv2d_f32_u8_scratch(const sb_conv_plan *plan, int32_t band_rows);

/// Dense layer with int8 weights and fp32 input: y[r] = act(scale[r] * sum_k w[r][k] * x[k] + bias[r])
/// (`bias` may be NULL; `relu` non-zero applies max(., 0)). `w` is [m x k] row-major. The fast
/// form sums in 16 interleaved fp32 lanes, the reference in order: equal within fp32 rounding.
void sb_dense_s8_f32(const int8_t *w, const float *scale, const float *bias, const float *x, float *y,
                     int32_t m, int32_t k, int32_t relu);
void sb_dense_s8_f32_ref(const int8_t *w, const float *scale, const float *bias, const float *x, float *y,
                         int32_t m, int32_t k, int32_t relu);

/// sb_dense_s8_f32 with the rows split over the pool's threads (the same bits for any pool).
void sb_dense_s8_f32_parallel(const int8_t *w, const float *scale, const float *bias, const float *x, float *y,
                              int32_t m, int32_t k, int32_t relu, sb_pool *pool);

/// Testing: 0 makes the packers take their pre-VBMI paths (as on AVX-512 CPUs without VBMI), 1
/// (the default) lets them use VBMI where the CPU has it. Either way the bytes are the same.
void sb_q8_allow_vbmi(int32_t allowed);

/// Max pooling of uint8 planes in chunks of channels over the pool's threads.
void sb_maxpool_u8_parallel(const uint8_t *src, uint8_t *dst, const sb_window *g, sb_pool *pool);

#ifdef __cplusplus
}
#endif
