// Plain reference twins of the int8 GEMM (the obvious loops) and the portable scalar
// variant that runs the packed path. Written for obviousness, not speed.
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif
#include "sb_q8_internal.h"
#include <math.h>

void sb_q8_gemm_acc_ref(const int8_t *a, int32_t m, int32_t k, int32_t lda,
                        const uint8_t *b, int32_t n, int32_t ldb, int32_t b_zero_point,
                        int32_t *acc) {
    for (int32_t i = 0; i < m; i++)
        for (int32_t j = 0; j < n; j++) {
            int32_t s = 0;
            for (int32_t p = 0; p < k; p++)
                s += (int32_t)a[(size_t)i * lda + p] * ((int32_t)b[(size_t)p * ldb + j] - b_zero_point);
            acc[(size_t)i * n + j] = s;
        }
}

void sb_q8_epilogue_ref(const int32_t *acc, int32_t m, int32_t n,
                        const sb_q8_epilogue *ep, void *c, int32_t ldc) {
    for (int32_t i = 0; i < m; i++)
        for (int32_t j = 0; j < n; j++) {
            const int32_t x = acc[(size_t)i * n + j];
            const size_t at = (size_t)i * ldc + j;
            if (ep->out_type == SB_Q8_OUT_I32) { ((int32_t *)c)[at] = x; continue; }
            float v = (float)x * ep->scale[i];
            if (ep->bias) v = v + ep->bias[i];
            if (ep->residual) {
                int32_t r = ep->residual[(size_t)i * ep->ld_residual + j] - ep->residual_zp;
                v = v + (float)r * ep->residual_scale;
            }
            if (ep->relu && v < 0.0f) v = 0.0f;
            if (ep->out_type == SB_Q8_OUT_F32) { ((float *)c)[at] = v; continue; }
            float q = nearbyintf(v) + (float)ep->out_zp;   // ties to even (default mode)
            int32_t lo = ep->out_type == SB_Q8_OUT_U8 ? 0 : -128;
            int32_t hi = ep->out_type == SB_Q8_OUT_U8 ? 255 : 127;
            int32_t y = q < (float)lo ? lo : q > (float)hi ? hi : (int32_t)q;
            if (ep->out_type == SB_Q8_OUT_U8) ((uint8_t *)c)[at] = (uint8_t)y;
            else ((int8_t *)c)[at] = (int8_t)y;
        }
}

// The scalar variant: packed A [K/4][MR][4] int8, packed B [K/4][NR][4] uint8.
enum { REF_MR = 4, REF_NR = 8 };

static void ukernel_ref(int32_t kgroups, const void *a, const void *b, int32_t *tile) {
    const int8_t *pa = a;
    const uint8_t *pb = b;
    for (int32_t i = 0; i < REF_MR * REF_NR; i++) tile[i] = 0;
    for (int32_t g = 0; g < kgroups; g++, pa += REF_MR * 4, pb += REF_NR * 4)
        for (int32_t r = 0; r < REF_MR; r++)
            for (int32_t j = 0; j < REF_NR; j++)
                for (int32_t t = 0; t < 4; t++)
                    tile[r * REF_NR + j] += (int32_t)pa[r * 4 + t] * (int32_t)pb[j * 4 + t];
}

const sb_q8_variant sb_q8_variant_ref = {
    .format = { .mr = REF_MR, .nr = REF_NR, .kg = 4, .a_bytes = 1, .b_mode = SB_Q8_B_U8 },
    .ukernel = ukernel_ref,
};
