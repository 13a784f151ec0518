// Private to the convolution files: AVX-512 forms of their inner loops (sb_conv_avx512.c),
// each bit-identical to the portable loop it replaces, and the run-time check that picks them.
#pragma once
#include <stddef.h>
#include <stdint.h>

/// 1 when the running x86-64 CPU (and OS) has AVX-512 F; 0 elsewhere.
int32_t sb_conv_have_avx512(void);
/// 1 when it also has AVX-512 BW.
int32_t sb_conv_have_avx512bw(void);

#if defined(__x86_64__)
/// dst[i] = quantize(act(src[i] + bias)) for i < count: the fp32 convolution epilogue
/// (sb_epilogue_block without residual) followed by sb_quantize_u8 (relu 0), fused.
void sb_bias_act_quantize_u8_avx512(const float *src, uint8_t *dst, size_t count, float bias, int32_t relu,
                                    float scale, int32_t zp);
/// out[ox] = max(buf[2 ox], buf[2 ox + 1], buf[2 ox + 2]) for ox in [0, count) (reads
/// buf[0 .. 2 count + 2]): the row pass of the 3-wide stride-2 uint8 max pool.
void sb_max3_stride2_u8_avx512(const uint8_t *buf, uint8_t *out, int32_t count);
/// The same for fp32, each max `v > best ? v : best` in the order buf[2 ox], + 1, + 2; reads
/// buf[0 .. 2 count + 33] (unmasked loads; only `count` outputs are stored).
void sb_max3_stride2_f32_avx512(const float *buf, float *out, int32_t count);
/// out[ox] = in[2 * ox] for ox in [0, count): the stride-2 gather of sb_im2col.
void sb_gather_stride2_f32_avx512(const float *in, float *out, int32_t count);
/// lane[t] += (float)row[j + t] * x[j + t] for j = 0, 16, .. < k16 (k16 a multiple of 16), each
/// step one fp32 multiply then one add, as sb_dense_s8_f32's portable loop.
void sb_dense_s8_lanes_avx512(const int8_t *row, const float *x, int32_t k16, float lane[16]);
/// The same lane sums for four consecutive rows (row stride `k`) at once, each row in its own
/// accumulator (so each row's bits are unchanged); prefetches the next four rows into L2.
void sb_dense_s8_lanes4_avx512(const int8_t *rows, int32_t k, const float *x, int32_t k16, float lanes[4][16]);
#endif
