// The fused requantisation epilogue (sb_q8_epilogue.c) in AVX-512, 16 columns per step, for
// the AVX-512 VNNI variant. Every lane performs the scalar epilogue's IEEE fp32 operations in
// the same order (convert, multiply, add bias, add the scaled residual, ReLU, clamp to
// +-1024, round half to even by the 1.5 * 2^23 trick, add the zero point, clamp), with no FMA,
// so its output is bit-identical to the shared scalar function's; the kernel twin tests check it.
//
// For uint8/int8 outputs a shorter sequence gives the same bits: with lo/hi the output range,
// ReLU, the clamp to +-1024, rounding, adding zp and the clamp to [lo, hi] equal one clamp of v
// to [qlo, qhi] = [max(lo - zp, -1024, relu ? 0 : -inf), min(hi - zp, 1024)], rounding half to
// even (vcvtps2dq in round-to-nearest-even) and adding zp, whenever qlo <= qhi (always, for a
// zero point inside the output range): rounding is monotonic and leaves the integer bounds
// fixed, so clamping before or after it is the same, and ReLU's max(v, 0) is a clamp too. v
// is finite here (a finite scale, bias and residual scale); an infinite v clamps the same way.
#include "sb_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

/// Stores q0 (columns 0-15) and q1 (16-31), int32, as 32 bytes saturated to [0, 255]. After the
/// packs, 128-bit lane L holds q0's columns 4L..4L+3 in dword 4L and q1's in dword 4L + 1; the
/// permute puts the 32 bytes in column order.
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline))
static inline void store_u8x32(uint8_t *out, __m512i q0, __m512i q1) {
    const __m512i order = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    const __m512i w = _mm512_packus_epi32(q0, q1);
    const __m512i b = _mm512_permutexvar_epi32(order, _mm512_packus_epi16(w, w));
    _mm256_storeu_si256((__m256i *)out, _mm512_castsi512_si256(b));
}

/// The common case, a uint8 output with zero point 0 (every ReLU output) and a full panel of 32
/// columns, without masks: the clamp to [qlo, qhi] = [0, 255] is min(qhi, v) in float (a NaN
/// stays NaN there, converts to INT_MIN and ends as 0, as max(NaN, qlo) does above) and the
/// saturation of the packs from int32 to uint8 (rounding is monotonic and keeps 0), so the bytes
/// are those of the general path. A bias of NULL adds +0.0, which changes no rounded value.
__attribute__((target("avx512f,avx512bw,avx512vl"), always_inline))
static inline void store_u8_zp0_panel(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                                      int32_t m_tile, int32_t r0, int32_t r1, int32_t n, const sb_q8_epilogue *ep,
                                      uint8_t *c, int32_t ldc, float qhi_f, const int with_residual) {
    const __m512 qhi = _mm512_set1_ps(qhi_f), rs = _mm512_set1_ps(ep->residual_scale);
    const __m512i rz = _mm512_set1_epi32(ep->residual_zp);
    for (int32_t r = r0; r < r1; r++) {
        const int32_t m = m_tile + r;
        const int32_t *t = tile + (size_t)r * nr;
        const __m512i add = _mm512_set1_epi32(corr * rowsum[r]);
        const __m512 s = _mm512_set1_ps(ep->scale[m]);
        const __m512 bias = _mm512_set1_ps(ep->bias ? ep->bias[m] : 0.0f);
        __m512 v0 = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t), add)), s), bias);
        __m512 v1 = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t + 16), add)), s), bias);
        if (with_residual) {
            const uint8_t *res = ep->residual + (size_t)m * ep->ld_residual + n;
            const __m512i x0 = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)res)), rz);
            const __m512i x1 = _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(res + 16))), rz);
            v0 = _mm512_add_ps(v0, _mm512_mul_ps(_mm512_cvtepi32_ps(x0), rs));
            v1 = _mm512_add_ps(v1, _mm512_mul_ps(_mm512_cvtepi32_ps(x1), rs));
        }
        store_u8x32(c + (size_t)m * ldc + n,
                    _mm512_cvt_roundps_epi32(_mm512_min_ps(qhi, v0), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC),
                    _mm512_cvt_roundps_epi32(_mm512_min_ps(qhi, v1), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl")))
void sb_q8_store_tile_avx512(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                             int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                             const sb_q8_epilogue *ep, void *c, int32_t ldc) {
    const int32_t type = ep->out_type;
    const __m512i lo = _mm512_set1_epi32(type == SB_Q8_OUT_U8 ? 0 : -128);
    const __m512i hi = _mm512_set1_epi32(type == SB_Q8_OUT_U8 ? 255 : 127);
    const __m512 magic = _mm512_set1_ps(12582912.0f), zero = _mm512_setzero_ps();
    const __m512 lim_lo = _mm512_set1_ps(-1024.0f), lim_hi = _mm512_set1_ps(1024.0f);
    const __m512 rs = _mm512_set1_ps(ep->residual_scale);
    const __m512i rz = _mm512_set1_epi32(ep->residual_zp), zp = _mm512_set1_epi32(ep->out_zp);
    // Integer outputs: fold ReLU and both clamps into one float clamp to [qlo, qhi] before
    // rounding (see the comment at the top); used when that interval is not empty.
    const int32_t int_out = type == SB_Q8_OUT_U8 || type == SB_Q8_OUT_S8;
    float qlo_f = (float)((type == SB_Q8_OUT_U8 ? 0 : -128) - ep->out_zp);
    float qhi_f = (float)((type == SB_Q8_OUT_U8 ? 255 : 127) - ep->out_zp);
    qlo_f = qlo_f < -1024.0f ? -1024.0f : qlo_f;
    qhi_f = qhi_f > 1024.0f ? 1024.0f : qhi_f;
    if (ep->relu && qlo_f < 0.0f) qlo_f = 0.0f;
    if (type == SB_Q8_OUT_U8 && ep->out_zp == 0 && cols == 32) {
        if (ep->residual) store_u8_zp0_panel(tile, nr, rowsum, corr, m_tile, r0, r1, n, ep, c, ldc, qhi_f, 1);
        else store_u8_zp0_panel(tile, nr, rowsum, corr, m_tile, r0, r1, n, ep, c, ldc, qhi_f, 0);
        return;
    }
    if (int_out && qlo_f <= qhi_f) {
        const __m512 qlo = _mm512_set1_ps(qlo_f), qhi = _mm512_set1_ps(qhi_f);
        for (int32_t r = r0; r < r1; r++) {
            const int32_t m = m_tile + r;
            const int32_t *t = tile + (size_t)r * nr;
            const __m512i add = _mm512_set1_epi32(corr * rowsum[r]);
            const size_t at = (size_t)m * ldc + n;
            const __m512 s = _mm512_set1_ps(ep->scale[m]);
            const __m512 bias = _mm512_set1_ps(ep->bias ? ep->bias[m] : 0.0f);
            const uint8_t *res = ep->residual ? ep->residual + (size_t)m * ep->ld_residual + n : NULL;
            for (int32_t j = 0; j < cols; j += 16) {
                const __mmask16 k = cols - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - j)) - 1);
                __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t + j), add)), s);
                if (ep->bias) v = _mm512_add_ps(v, bias);
                if (res) {
                    __m512i q = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, res + j));
                    v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, rz)), rs));
                }
                v = _mm512_min_ps(_mm512_max_ps(v, qlo), qhi);
                const __m512i q = _mm512_add_epi32(
                    _mm512_cvt_roundps_epi32(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), zp);
                _mm_mask_storeu_epi8((uint8_t *)c + at + j, k, _mm512_cvtepi32_epi8(q));
            }
        }
        return;
    }
    for (int32_t r = r0; r < r1; r++) {
        const int32_t m = m_tile + r;
        const int32_t *t = tile + (size_t)r * nr;
        const __m512i add = _mm512_set1_epi32(corr * rowsum[r]);
        const size_t at = (size_t)m * ldc + n;
        const __m512 s = _mm512_set1_ps(type == SB_Q8_OUT_I32 ? 0.0f : ep->scale[m]);
        const __m512 bias = _mm512_set1_ps(ep->bias ? ep->bias[m] : 0.0f);
        const uint8_t *res = ep->residual ? ep->residual + (size_t)m * ep->ld_residual + n : NULL;
        for (int32_t j = 0; j < cols; j += 16) {
            const __mmask16 k = cols - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - j)) - 1);
            const __m512i acc = _mm512_add_epi32(_mm512_loadu_si512(t + j), add);
            if (type == SB_Q8_OUT_I32) {
                _mm512_mask_storeu_epi32((int32_t *)c + at + j, k, acc);
                continue;
            }
            __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(acc), s);
            if (ep->bias) v = _mm512_add_ps(v, bias);
            if (res) {
                __m512i q = _mm512_cvtepu8_epi32(_mm_maskz_loadu_epi8(k, res + j));
                v = _mm512_add_ps(v, _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(q, rz)), rs));
            }
            // v < 0 ? 0 : v, as the scalar code (max_ps would differ for -0 in F32 output).
            if (ep->relu) v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), zero);
            if (type == SB_Q8_OUT_F32) {
                _mm512_mask_storeu_ps((float *)c + at + j, k, v);
                continue;
            }
            v = _mm512_min_ps(_mm512_max_ps(v, lim_lo), lim_hi);
            v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
            __m512i q = _mm512_add_epi32(_mm512_cvttps_epi32(v), zp);
            q = _mm512_min_epi32(_mm512_max_epi32(q, lo), hi);
            _mm_mask_storeu_epi8((uint8_t *)c + at + j, k, _mm512_cvtepi32_epi8(q));
        }
    }
}

/// The pair epilogue (sb_q8_store_pair) 16 columns at a time: each tile's (float)(acc) * scale
/// (+ bias), their sum, then sb_quantize_u8's steps in its order (ReLU, divide, clamp to +-512,
/// round by the 1.5 * 2^23 trick, add the zero point, clamp to [0, 255]); no FMA.
__attribute__((target("avx512f,avx512bw,avx512vl")))
void sb_q8_store_pair_avx512(const sb_q8_pair_tiles *t, int32_t nr, int32_t m_tile, int32_t r0, int32_t r1,
                             int32_t n, int32_t cols, uint8_t *c, int32_t ldc) {
    const __m512 magic = _mm512_set1_ps(12582912.0f), zero = _mm512_setzero_ps();
    const __m512 lim_lo = _mm512_set1_ps(-512.0f), lim_hi = _mm512_set1_ps(512.0f);
    const __m512 q_hi = _mm512_set1_ps(255.0f), scale = _mm512_set1_ps(t->out_scale);
    const __m512 zp = _mm512_set1_ps((float)t->out_zp);
    const sb_q8_epilogue *e0 = t->ep[0], *e1 = t->ep[1];
    // Zero point 0 and a full panel: negative sums end as 0 with or without ReLU, the clamps and
    // the rounding trick become min(255, v / scale) rounded half to even and the saturating packs
    // (as in store_u8_zp0_panel); the same bytes.
    const int32_t packs = t->out_zp == 0 && cols == 32;
    for (int32_t r = r0; r < r1; r++) {
        const int32_t m = m_tile + r;
        const int32_t *t0 = t->tile[0] + (size_t)r * nr, *t1 = t->tile[1] + (size_t)r * nr;
        const __m512i add0 = _mm512_set1_epi32(t->corr[0] * t->rowsum[0][r]);
        const __m512i add1 = _mm512_set1_epi32(t->corr[1] * t->rowsum[1][r]);
        const __m512 s0 = _mm512_set1_ps(e0->scale[m]), s1 = _mm512_set1_ps(e1->scale[m]);
        const __m512 b0 = _mm512_set1_ps(e0->bias ? e0->bias[m] : 0.0f);
        const __m512 b1 = _mm512_set1_ps(e1->bias ? e1->bias[m] : 0.0f);
        if (packs) {
            __m512i q[2];
#pragma GCC unroll 2
            for (int h = 0; h < 2; h++) {
                const __m512 x = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t0 + 16 * h), add0)), s0), b0);
                const __m512 y = _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t1 + 16 * h), add1)), s1), b1);
                const __m512 v = _mm512_div_ps(_mm512_add_ps(x, y), scale);
                q[h] = _mm512_cvt_roundps_epi32(_mm512_min_ps(q_hi, v), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
            }
            store_u8x32(c + (size_t)m * ldc + n, q[0], q[1]);
            continue;
        }
        uint8_t *out = c + (size_t)m * ldc + n;
        for (int32_t j = 0; j < cols; j += 16) {
            const __mmask16 k = cols - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (cols - j)) - 1);
            __m512 x = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t0 + j), add0)), s0);
            if (e0->bias) x = _mm512_add_ps(x, b0);
            __m512 y = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_add_epi32(_mm512_loadu_si512(t1 + j), add1)), s1);
            if (e1->bias) y = _mm512_add_ps(y, b1);
            __m512 v = _mm512_add_ps(x, y);
            if (t->relu) v = _mm512_mask_mov_ps(v, _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ), zero);
            v = _mm512_div_ps(v, scale);
            v = _mm512_min_ps(_mm512_max_ps(v, lim_lo), lim_hi);
            v = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(v, magic), magic), zp);
            v = _mm512_min_ps(_mm512_max_ps(v, zero), q_hi);
            _mm_mask_storeu_epi8(out + j, k, _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(v)));
        }
    }
}
#endif
