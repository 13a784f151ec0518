// Two int8 convolutions added before one requantisation (a ResNet block whose shortcut is a
// projection: relu(conv3(x2) + proj(x0)) quantised once, the projection's output never rounded).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_q8_conv.h"

#ifdef __cplusplus
extern "C" {
#endif

/// output = quantize_u8(act(conv_a(input_a) + conv_b(input_b)), out_scale, out_zp): each
/// plan's epilogue must be SB_Q8_OUT_F32 in real units (scale[m] = w_scale[m] * in_scale,
/// bias[m] real or NULL, no residual, no relu); the two values are added in fp32 (a + b, one
/// rounding), `relu` applies max(., 0) and the sum is quantised as sb_quantize_u8 (round half
/// to even of v / out_scale, + out_zp, clamped to [0, 255]). Both must have the same output
/// shape (M x N). Computed by sb_q8_gemm_pair: both micro-kernels on each output tile and one
/// fused epilogue, so neither fp32 result exists anywhere. Split over the pool's threads in
/// chunks of output columns (of rows when N is small). `scratch` holds the unfolds the kernel
/// cannot pack straight from the inputs (`sb_u8_pair_scratch_bytes`; may be NULL when that is
/// 0); `workspaces` one `workspace_size` block (64-byte aligned, at least
/// `sb_u8_pair_workspace_size(a, b)`) per pool thread. Returns SB_Q8_OK or an error code.
int32_t sb_u8_conv_pair(const sb_q8_conv_plan *a, const uint8_t *input_a,
                        const sb_q8_conv_plan *b, const uint8_t *input_b,
                        float out_scale, int32_t out_zp, int32_t relu, uint8_t *output,
                        uint8_t *scratch, void *workspaces, size_t workspace_size, sb_pool *pool);
/// Bytes of each thread's workspace sb_u8_conv_pair needs.
size_t sb_u8_pair_workspace_size(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b);
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
