// AVX-512 forms of the fp32 convolution's unfold, of the fp32 -> uint8 band epilogue and of
// the int8-weight dense layer's lane sums (sb_conv_internal.h). Each lane performs the portable loop's IEEE operations in the same
// order with no FMA, so the results are bit-identical; Int8ConvKernelTests and KernelTests
// compare them with the portable and reference paths.
#include "sb_conv_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

int32_t sb_conv_have_avx512(void) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
#else
    return 0;
#endif
}

int32_t sb_conv_have_avx512bw(void) {
#if defined(__GNUC__) || defined(__clang__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw");
#else
    return 0;
#endif
}

__attribute__((target("avx512f,avx512bw")))
void sb_max3_stride2_u8_avx512(const uint8_t *buf, uint8_t *out, int32_t count) {
    // As 16-bit words w[j] = buf[2j] | buf[2j + 1] << 8: out[j] = max(low(w[j]), high(w[j]),
    // low(w[j + 1])), 32 outputs per pair of loads (the second one 2 bytes on), vpmovwb to bytes.
    const __m512i low = _mm512_set1_epi16(0xFF);
    for (int32_t i = 0; i < count; i += 32) {
        const int32_t n = count - i < 32 ? count - i : 32;
        const __mmask32 k = n == 32 ? (__mmask32)0xFFFFFFFFu : (__mmask32)((1u << n) - 1);
        const __m512i w0 = _mm512_maskz_loadu_epi16(k, buf + 2 * i);
        const __m512i w1 = _mm512_maskz_loadu_epi16(k, buf + 2 * i + 2);
        __m512i m = _mm512_max_epu16(_mm512_and_si512(w0, low), _mm512_srli_epi16(w0, 8));
        m = _mm512_max_epu16(m, _mm512_and_si512(w1, low));
        _mm512_mask_cvtepi16_storeu_epi8(out + i, k, m);
    }
}

__attribute__((target("avx512f")))
void sb_max3_stride2_f32_avx512(const float *buf, float *out, int32_t count) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int32_t i = 0; i < count; i += 16) {
        const int32_t n = count - i < 16 ? count - i : 16;
        const float *at = buf + 2 * (size_t)i;
        const __m512 a = _mm512_loadu_ps(at), b = _mm512_loadu_ps(at + 16);
        const __m512 a2 = _mm512_loadu_ps(at + 2), b2 = _mm512_loadu_ps(at + 18);
        // max_ps(x, y) is x > y ? x : y: the scalar loop's steps in its order.
        __m512 m = _mm512_max_ps(_mm512_permutex2var_ps(a, odd, b), _mm512_permutex2var_ps(a, even, b));
        m = _mm512_max_ps(_mm512_permutex2var_ps(a2, even, b2), m);
        _mm512_mask_storeu_ps(out + i, (__mmask16)((1u << n) - 1), m);
    }
}

__attribute__((target("avx512f")))
void sb_bias_act_quantize_u8_avx512(const float *src, uint8_t *dst, size_t count, float bias, int32_t relu,
                                    float scale, int32_t zp) {
    // As sb_epilogue_block: v = x + bias, then v > 0 ? v : 0 (max_ps returns +0 for -0 and for
    // NaN, like the comparison). As sb_quantize_u8: v / scale clamped to +-512, rounded half to
    // even by adding and subtracting 1.5 * 2^23, plus zp, clamped to [0, 255].
    const __m512 b = _mm512_set1_ps(bias), s = _mm512_set1_ps(scale), zero = _mm512_setzero_ps();
    const __m512 lo = _mm512_set1_ps(-512.0f), hi = _mm512_set1_ps(512.0f);
    const __m512 magic = _mm512_set1_ps(12582912.0f), fzp = _mm512_set1_ps((float)zp);
    const __m512 qmax = _mm512_set1_ps(255.0f);
    for (size_t i = 0; i < count; i += 16) {
        const __mmask16 k = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        __m512 v = _mm512_add_ps(_mm512_maskz_loadu_ps(k, src + i), b);
        if (relu) v = _mm512_max_ps(v, zero);
        v = _mm512_div_ps(v, s);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
        v = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(v, magic), magic), fzp);
        v = _mm512_min_ps(_mm512_max_ps(v, zero), qmax);
        _mm512_mask_cvtepi32_storeu_epi8(dst + i, k, _mm512_cvttps_epi32(v));
    }
}

__attribute__((target("avx512f")))
void sb_gather_stride2_f32_avx512(const float *in, float *out, int32_t count) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    int32_t i = 0;
    // A full block reads in[2i .. 2i + 31]; in[2 (count - 1)] is the last element that may be
    // read, so full blocks stop one short and the rest is masked.
    for (; i + 17 <= count; i += 16) {
        const __m512 a = _mm512_loadu_ps(in + 2 * i), b = _mm512_loadu_ps(in + 2 * i + 16);
        _mm512_storeu_ps(out + i, _mm512_permutex2var_ps(a, even, b));
    }
    if (i < count) {
        const int32_t left = count - i, need = 2 * left - 1;   // 1..16 outputs from need inputs
        const __mmask16 ka = need >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << need) - 1);
        const __mmask16 kb = need > 16 ? (__mmask16)((1u << (need - 16)) - 1) : 0;
        const __m512 a = _mm512_maskz_loadu_ps(ka, in + 2 * i), b = _mm512_maskz_loadu_ps(kb, in + 2 * i + 16);
        _mm512_mask_storeu_ps(out + i, (__mmask16)((1u << left) - 1), _mm512_permutex2var_ps(a, even, b));
    }
}
__attribute__((target("avx512f")))
void sb_dense_s8_lanes_avx512(const int8_t *row, const float *x, int32_t k16, float lane[16]) {
    __m512 acc = _mm512_loadu_ps(lane);
    for (int32_t j = 0; j < k16; j += 16) {
        const __m512 w = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(row + j))));
        acc = _mm512_add_ps(acc, _mm512_mul_ps(w, _mm512_loadu_ps(x + j)));
    }
    _mm512_storeu_ps(lane, acc);
}

__attribute__((target("avx512f")))
void sb_dense_s8_lanes4_avx512(const int8_t *rows, int32_t k, const float *x, int32_t k16, float lanes[4][16]) {
    __m512 acc[4];
    for (int32_t i = 0; i < 4; i++) acc[i] = _mm512_setzero_ps();
    const int8_t *next = rows + (size_t)4 * k;   // the following four rows, fetched into L2 meanwhile
    for (int32_t j = 0; j < k16; j += 16) {
        const __m512 xv = _mm512_loadu_ps(x + j);
        if ((j & 63) == 0)
            for (int32_t i = 0; i < 4; i++) _mm_prefetch((const char *)(next + (size_t)i * k + j), _MM_HINT_T1);
        for (int32_t i = 0; i < 4; i++) {
            const __m512 w = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(rows + (size_t)i * k + j))));
            acc[i] = _mm512_add_ps(acc[i], _mm512_mul_ps(w, xv));
        }
    }
    for (int32_t i = 0; i < 4; i++) _mm512_storeu_ps(lanes[i], acc[i]);
}
#else
int32_t sb_conv_have_avx512(void) { return 0; }
int32_t sb_conv_have_avx512bw(void) { return 0; }
#endif
