// Two int8 convolutions added before one requantisation (a ResNet block whose shortcut is a
// projection: relu(conv3(x2) + proj(x0)) quantised once, the projection's output never rounded).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_q8_conv.h"

#ifdef __cplusplus
extern "C" {
#endif

/// output = quantize_u8(act(conv_a(input_a) + conv_b(input_b)), out_scale, out_zp): both
/// convolutions' GEMMs (sb_q8_gemm) write fp32 in real units — each plan's epilogue must be
/// SB_Q8_OUT_F32 with scale[m] = w_scale[m] * in_scale, bias[m] real (or NULL), no residual, no
/// relu — they are added in fp32 (a + b, one rounding), `relu` applies max(., 0) and the sum is
/// quantised as sb_quantize_u8 (round half to even of v / out_scale, + out_zp, clamped to
/// [0, 255]). Both must have the same output shape (M x N). The work is split over the pool's
/// threads by output columns (by rows when N is small) and done in column bands, so neither
/// fp32 result exists whole: each thread uses `sb_u8_pair_band_floats(a, b)` floats of `bands`.
/// `scratch` holds the unfolds: K_a * N bytes if a->unfold, then K_b * N if b->unfold.
/// `workspaces` as for sb_q8_conv2d. Returns SB_Q8_OK or the GEMM's error code.
int32_t sb_u8_conv_pair(const sb_q8_conv_plan *a, const uint8_t *input_a,
                        const sb_q8_conv_plan *b, const uint8_t *input_b,
                        float out_scale, int32_t out_zp, int32_t relu, uint8_t *output,
                        uint8_t *scratch, float *bands, void *workspaces, size_t workspace_size,
                        sb_pool *pool);
/// Floats of `bands` one thread of sb_u8_conv_pair needs.
size_t sb_u8_pair_band_floats(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b);
/// Bytes of `scratch` sb_u8_conv_pair needs.
size_t sb_u8_pair_scratch_bytes(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b);

/// Reference twin: both convolutions by sb_q8_conv2d_ref into whole fp32 results (`fa`, `fb`:
/// M * N floats each; `acc` M * N int32; `scratch` the larger unfold), then the same add and
/// quantisation element by element. `weights_a`/`weights_b` are the unpacked int8 weights.
void sb_u8_conv_pair_ref(const sb_q8_conv_plan *a, const int8_t *weights_a, const uint8_t *input_a,
                         const sb_q8_conv_plan *b, const int8_t *weights_b, const uint8_t *input_b,
                         float out_scale, int32_t out_zp, int32_t relu, uint8_t *output,
                         uint8_t *scratch, int32_t *acc, float *fa, float *fb);

#ifdef __cplusplus
}
#endif
