// Private: one element of sb_quantize_u8, shared by it and the int8 pair epilogue so both
// round the same way.
#pragma once
#include <stdint.h>

/// clamp(round_half_to_even(x / scale) + zp, 0, 255), with max(x, 0) first if `relu`. Adding
/// and subtracting 1.5 * 2^23 rounds half to even for |v| < 2^22 (default rounding mode), which
/// vectorises where nearbyintf does not; v is clamped first so that holds.
static inline uint8_t sb_quantize_u8_one(float x, float scale, float fzp, int32_t relu) {
    const float magic = 12582912.0f;
    if (relu) x = x < 0.0f ? 0.0f : x;
    float v = x / scale;
    v = v < -512.0f ? -512.0f : (v > 512.0f ? 512.0f : v);
    float q = (v + magic) - magic + fzp;
    q = q < 0.0f ? 0.0f : (q > 255.0f ? 255.0f : q);
    return (uint8_t)(int32_t)q;
}
