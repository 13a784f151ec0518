// The fused requantisation epilogue shared by every int8 GEMM variant, so their outputs
// are bit-identical. Each step is one IEEE fp32 operation (no FMA contraction), in the
// order documented in sb_int8.h.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "sb_q8_internal.h"
#include "sb_u8_quant.h"
#include <math.h>

// Round half to even for |v| <= 2^22: adding and subtracting 1.5 * 2^23 leaves the nearest
// integer (ties to even) in the default rounding mode. The clamp to +-1024 first keeps the
// trick in range and is wider than any int8 / uint8 output.
static inline int32_t round_even_clamped(float v) {
    v = fminf(fmaxf(v, -1024.0f), 1024.0f);
    return (int32_t)((v + 12582912.0f) - 12582912.0f);
}

void sb_q8_store_tile(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                      int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                      const sb_q8_epilogue *ep, void *c, int32_t ldc) {
    const int32_t type = ep->out_type;
    const int32_t lo = type == SB_Q8_OUT_U8 ? 0 : -128, hi = type == SB_Q8_OUT_U8 ? 255 : 127;
    for (int32_t r = r0; r < r1; r++) {
        const int32_t m = m_tile + r;
        const int32_t *t = tile + (size_t)r * nr;
        const int32_t add = corr * rowsum[r];
        const size_t at = (size_t)m * ldc + n;
        if (type == SB_Q8_OUT_I32) {
            int32_t *o = (int32_t *)c + at;
            for (int32_t j = 0; j < cols; j++) o[j] = t[j] + add;
            continue;
        }
        const float s = ep->scale[m], bias = ep->bias ? ep->bias[m] : 0.0f;
        float v[SB_Q8_MAX_TILE];
        for (int32_t j = 0; j < cols; j++) v[j] = (float)(t[j] + add) * s;
        if (ep->bias)
            for (int32_t j = 0; j < cols; j++) v[j] = v[j] + bias;
        if (ep->residual) {
            const uint8_t *res = ep->residual + (size_t)m * ep->ld_residual + n;
            const float rs = ep->residual_scale;
            const int32_t rz = ep->residual_zp;
            for (int32_t j = 0; j < cols; j++) v[j] = v[j] + (float)(res[j] - rz) * rs;
        }
        if (ep->relu)
            for (int32_t j = 0; j < cols; j++) v[j] = v[j] < 0.0f ? 0.0f : v[j];
        if (type == SB_Q8_OUT_F32) {
            float *o = (float *)c + at;
            for (int32_t j = 0; j < cols; j++) o[j] = v[j];
        } else {
            const int32_t zp = ep->out_zp;
            int8_t *o8 = (int8_t *)c + at;
            uint8_t *u8 = (uint8_t *)c + at;
            for (int32_t j = 0; j < cols; j++) {
                int32_t q = round_even_clamped(v[j]) + zp;
                q = q < lo ? lo : q > hi ? hi : q;
                if (type == SB_Q8_OUT_U8) u8[j] = (uint8_t)q; else o8[j] = (int8_t)q;
            }
        }
    }
}

void sb_q8_store_pair(const sb_q8_pair_tiles *t, int32_t nr, int32_t m_tile, int32_t r0, int32_t r1,
                      int32_t n, int32_t cols, uint8_t *c, int32_t ldc) {
    for (int32_t r = r0; r < r1; r++) {
        const int32_t m = m_tile + r;
        float sum[SB_Q8_MAX_TILE];
        for (int32_t i = 0; i < 2; i++) {
            const int32_t *row = t->tile[i] + (size_t)r * nr;
            const int32_t add = t->corr[i] * t->rowsum[i][r];
            const float s = t->ep[i]->scale[m];
            const float *bias = t->ep[i]->bias;
            for (int32_t j = 0; j < cols; j++) {
                float v = (float)(row[j] + add) * s;
                if (bias) v = v + bias[m];
                sum[j] = i == 0 ? v : sum[j] + v;
            }
        }
        uint8_t *out = c + (size_t)m * ldc + n;
        const float fzp = (float)t->out_zp;
        for (int32_t j = 0; j < cols; j++) out[j] = sb_quantize_u8_one(sum[j], t->out_scale, fzp, t->relu);
    }
}
