// SmartBin int16 convolution for a network's first layer: the fp32 image in, uint8 out.
//
// Why: the first convolution stays out of int8 for fidelity (an int8 image and int8 weights
// there cost the worst calibration photo about 1 % of cosine), but in fp32 it is 12 % of an
// int8 pass. AVX-512 VNNI's vpdpwssd multiplies int16 pairs at twice the rate of fp32 FMA, and
// 12-bit codes keep its error near 2^-12 of each range, far under the uint8 output's rounding.
//
// Numbers (one call):
//   image    sa = max|x| / 4095 over the whole input (1 when that is 0 or not finite);
//            xq = clamp(round_half_to_even(x / sa), -4095, 4095) (NaN -> -4095)
//   weights  per output channel ws[m] = max|w[m][.]| / 2047 (1 for an all-zero row);
//            wq = clamp(round_half_to_even(w / ws[m]), -2047, 2047)
//   acc[m][p] = sum of wq * xq over the window (zero outside the image), exact in int32
//            because C * k_h * k_w <= 256 (256 * 4095 * 2047 < 2^31)
//   v = (float)acc * (sa * ws[m]); v = v + bias[m]; then sb_quantize_u8 of v (ReLU first if
//            set) with the output's scale and zero point.
// The fast path and the reference twin do these same IEEE operations in this order, so their
// outputs are equal bit for bit.
//
// Layout. The codes live in padded planes [C][rows][row_len] int16, zero around the image, so
// that for a stride-2 row of output pixels the two horizontally adjacent taps (kx, kx + 1) of
// 16 consecutive outputs are one 64-byte load (dword j holds input columns 2 (ox0 + j) + kx and
// + 1). The reduction runs over such tap pairs of one (c, ky); an odd k_w gets a zero weight for
// its last pair's second tap. Weights are packed per block of 8 output channels:
// [M / 8][C][k_h][pairs][8][2].
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_kernels.h"
#include "sb_parallel.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Largest C * k_h * k_w the int32 accumulator holds exactly, and the largest M.
#define SB_S16_MAX_TAPS 256
#define SB_S16_MAX_CHANNELS 4096

/// A first-layer convolution prepared at load time.
typedef struct sb_s16_conv_plan {
    sb_window window;
    int32_t out_channels;
    int32_t relu;
    const int16_t *weights;       ///< sb_s16_pack_weights output
    const float *weight_scale;    ///< [out_channels] ws
    const float *bias;            ///< [out_channels] fp32, or NULL
} sb_s16_conv_plan;

/// 1 when window `g` with `out_channels` outputs fits this scheme (stride_w 2, C * k_h * k_w <=
/// SB_S16_MAX_TAPS, out_channels <= SB_S16_MAX_CHANNELS); with `fast` also when the running CPU
/// has AVX-512 VNNI (where it pays; elsewhere the fp32 convolution is as fast).
int32_t sb_s16_conv_supported(const sb_window *g, int32_t out_channels, int32_t fast);
/// Quantises fp32 weights [m][k] (row-major) to int16 codes `wq` [m][k] and scales `ws` [m].
void sb_s16_quantize_weights(const float *w, int32_t m, int32_t k, int16_t *wq, float *ws);
/// int16 elements of the packed weights of window `g` with `m` output channels.
size_t sb_s16_packed_count(const sb_window *g, int32_t m);
/// Packs codes `wq` [m][C * k_h * k_w] (order c, ky, kx) into `dst` (sb_s16_packed_count).
void sb_s16_pack_weights(const int16_t *wq, const sb_window *g, int32_t m, int16_t *dst);
/// Bytes of the padded int16 planes the convolution of `g` writes its image codes into.
size_t sb_s16_planes_bytes(const sb_window *g);

/// The convolution: `input` fp32 [C, in_h, in_w] -> `output` uint8 [M, out_h, out_w] with scale
/// `out_scale` and zero point `out_zp`. `planes` (sb_s16_planes_bytes, 64-byte aligned) is
/// overwritten. Output rows are cut into chunks over the pool's threads; the output does not
/// depend on the pool. Uses vpdpwssd when the CPU has it, else a portable loop (same bits).
void sb_s16_conv_u8(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                    float out_scale, int32_t out_zp, sb_pool *pool);
/// sb_s16_conv_u8 with the portable loop whatever the CPU (for tests of that path).
void sb_s16_conv_u8_portable(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                             float out_scale, int32_t out_zp, sb_pool *pool);
/// The reference twin: direct loops over the unpacked codes `wq` [m][C * k_h * k_w].
void sb_s16_conv_u8_ref(const sb_window *g, int32_t m, const int16_t *wq, const float *ws, const float *bias,
                        int32_t relu, const float *input, float out_scale, int32_t out_zp, uint8_t *output);

#ifdef __cplusplus
}
#endif
