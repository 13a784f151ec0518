// int8 GEMM micro-kernel for AVX2 without VNNI. vpmaddubsw (u8 x s8 -> saturating int16
// pairs) can overflow (2 * 255 * 128 > 32767), so this variant works on int16: the packer
// stores B - zp and the weights as int16, and vpmaddwd adds each pair of products into
// int32 exactly (|pair| <= 2 * 255 * 128). Tile 6 x 16: two ymm of 8 pixels x 2 k.
#include "sb_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

enum { MR = 6, NR = 16 };

__attribute__((target("avx2")))
static void ukernel_avx2(int32_t kgroups, const void *a, const void *b, int32_t *tile) {
    const int16_t *pa = a;
    const int16_t *pb = b;
    __m256i c[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm256_setzero_si256();
    for (int32_t g = 0; g < kgroups; g++, pa += MR * 2, pb += NR * 2) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)pb);
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(pb + 16));
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            int32_t w;
            memcpy(&w, pa + r * 2, 4);   // weights of k and k+1 for row r
            const __m256i av = _mm256_set1_epi32(w);
            c[r][0] = _mm256_add_epi32(c[r][0], _mm256_madd_epi16(b0, av));
            c[r][1] = _mm256_add_epi32(c[r][1], _mm256_madd_epi16(b1, av));
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_si256((__m256i *)(tile + r * NR), c[r][0]);
        _mm256_storeu_si256((__m256i *)(tile + r * NR + 8), c[r][1]);
    }
}

const sb_q8_variant sb_q8_variant_avx2 = {
    .format = { .mr = MR, .nr = NR, .kg = 2, .a_bytes = 2, .b_mode = SB_Q8_B_S16 },
    .ukernel = ukernel_avx2,
};
#endif
