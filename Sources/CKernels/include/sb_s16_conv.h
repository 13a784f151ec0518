// SmartBin int16 convolution of an image's bytes, for a network's first layer: fp32 image in,
// uint8 out.
//
// Why: the first convolution reads an image the preprocessing built from bytes, so channel c of
// every value is levels[c][byte] for one of 256 known levels. The convolution can then run on
// the bytes themselves, exactly, with vpdpwssd (int16 pairs, twice the multiply rate of fp32 FMA
// per instruction) and 15-bit weights: the only rounding before the uint8 output's own is the
// weights', about 2^-16 of each output channel's largest. An input that is not such an image
// (a value off its channel's levels, NaN) is refused, and the caller runs the fp32 convolution.
//
// Numbers (all in double at plan time, then cast to float once):
//   ladder   a[c] = (levels[c][255] - levels[c][0]) / 255, z[c] = -levels[c][0] / a[c]: byte v
//            of channel c stands for a[c] (v - z[c]) (levels[c][v] within fp32 rounding). Every
//            level must lie within a[c] / 64 of that line.
//   weights  u = w[m][c, ky, kx] * a[c]; ws[m] = max|u| / 32767 (1 for an all-zero row);
//            wq = round_half_even(u / ws[m]), in [-32767, 32767]
//   acc      sum of wq * byte over the taps inside the image (exact in int32:
//            SB_S16_MAX_TAPS * 32767 * 255 < 2^31)
//   offset   per output pixel: (bias[m] - ws[m] * sum over the taps inside the image of
//            wq * z[c]) / out_scale. So the result is the convolution of the exact image with
//            the rounded weights ws * wq / a[c], the rounding applied to centred values as in a
//            convolution of the normalised image. Pixels whose windows cover the same taps share
//            one offset (a class of rows times a class of columns).
//   output   v = (float)acc * s[m] + offset, s[m] = ws[m] / out_scale; v = max(v, 0) if relu;
//            v clamped to [-1024, 1024]; q = round_half_even(v) + zp, clamped to [0, 255].
// The fast path, the portable path and the reference twin do these same float operations in
// this order (two roundings, no fused multiply-add), so their outputs are equal bit for bit.
//
// Layout. The bytes live as int16 in padded planes [C][rows][row_len], zero around the image
// (a zero byte adds nothing to acc; the offsets count only taps inside the image), so that for
// a stride-2 row of output pixels the two horizontally adjacent taps (kx, kx + 1) of 16
// consecutive outputs are one 64-byte load (dword j holds input columns 2 (ox0 + j) + kx and
// + 1). An odd k_w gets a zero weight for its last pair's second tap.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_kernels.h"
#include "sb_parallel.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Largest C * k_h * k_w the int32 accumulator holds exactly, and the largest out_channels.
#define SB_S16_MAX_TAPS 256
#define SB_S16_MAX_CHANNELS 4096

/// A first-layer convolution prepared at load time (opaque; sb_s16_conv_create).
typedef struct sb_s16_conv_plan sb_s16_conv_plan;

/// 1 when window `g` with `out_channels` outputs fits this scheme (stride_w 2, C * k_h * k_w <=
/// SB_S16_MAX_TAPS, out_channels <= SB_S16_MAX_CHANNELS); with `fast` also when the running CPU
/// has AVX-512 VNNI (where it pays; elsewhere the fp32 convolution is as fast).
int32_t sb_s16_conv_supported(const sb_window *g, int32_t out_channels, int32_t fast);

/// Prepares the convolution of window `g`: `weights` fp32 [out_channels][C * k_h * k_w] (order
/// c, ky, kx), `bias` [out_channels] or NULL, `levels` [C][256] (the fp32 value byte v takes in
/// channel c), the output's scale and zero point, ReLU if `relu`. NULL when the window is not
/// supported (sb_s16_conv_supported with fast 0), a scale is not positive and finite, a weight or
/// bias is not finite, or a channel's levels are not an evenly spaced ladder (see the header).
sb_s16_conv_plan *sb_s16_conv_create(const sb_window *g, int32_t out_channels, const float *weights,
                                     const float *bias, const float *levels, float out_scale, int32_t out_zp,
                                     int32_t relu);
void sb_s16_conv_destroy(sb_s16_conv_plan *plan);

/// Bytes of the padded int16 planes the convolution of `g` writes the image's bytes into.
size_t sb_s16_planes_bytes(const sb_window *g);

/// The convolution: `input` fp32 [C, in_h, in_w] -> `output` uint8 [M, out_h, out_w]. Returns 1
/// when every input value is one of its channel's levels and the output was written; 0 (output
/// untouched) otherwise. `planes` (sb_s16_planes_bytes, 64-byte aligned) is overwritten. Rows
/// are cut into chunks over the pool's threads; the output does not depend on the pool. Uses
/// vpdpwssd where the CPU has it, else a portable loop (same bits).
int32_t sb_s16_conv_u8(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                       sb_pool *pool);
/// sb_s16_conv_u8 with the portable loops whatever the CPU (for tests of that path).
int32_t sb_s16_conv_u8_portable(const sb_s16_conv_plan *plan, const float *input, int16_t *planes,
                                uint8_t *output, sb_pool *pool);
/// The reference twin: direct loops over each output pixel's window, its offset summed there
/// (no classes, no packing, no planes). Same arguments as sb_s16_conv_create plus the image;
/// returns what sb_s16_conv_u8 returns (-1 when sb_s16_conv_create would return NULL).
int32_t sb_s16_conv_u8_ref(const sb_window *g, int32_t out_channels, const float *weights, const float *bias,
                           const float *levels, float out_scale, int32_t out_zp, int32_t relu, const float *input,
                           uint8_t *output);

#ifdef __cplusplus
}
#endif
