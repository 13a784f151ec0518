// int8 GEMM micro-kernel for AVX-VNNI: 256-bit VEX vpdpbusd (u8 activations x s8 weights).
// Tile 6 x 16: two ymm of 8 int32 pixel columns per weight row, 12 accumulators of 16 ymm.
#include "sb_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

enum { MR = 6, NR = 16 };

__attribute__((target("avx2,avxvnni")))
static void ukernel_avxvnni(int32_t kgroups, const void *a, const void *b, int32_t *tile) {
    const int8_t *pa = a;
    const uint8_t *pb = b;
    __m256i c[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm256_setzero_si256();
    for (int32_t g = 0; g < kgroups; g++, pa += MR * 4, pb += NR * 4) {
        const __m256i b0 = _mm256_loadu_si256((const __m256i *)pb);
        const __m256i b1 = _mm256_loadu_si256((const __m256i *)(pb + 32));
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            int32_t w;
            memcpy(&w, pa + r * 4, 4);
            const __m256i av = _mm256_set1_epi32(w);
            c[r][0] = _mm256_dpbusd_avx_epi32(c[r][0], b0, av);
            c[r][1] = _mm256_dpbusd_avx_epi32(c[r][1], b1, av);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        _mm256_storeu_si256((__m256i *)(tile + r * NR), c[r][0]);
        _mm256_storeu_si256((__m256i *)(tile + r * NR + 8), c[r][1]);
    }
}

const sb_q8_variant sb_q8_variant_avxvnni = {
    .format = { .mr = MR, .nr = NR, .kg = 4, .a_bytes = 1, .b_mode = SB_Q8_B_U8 },
    .ukernel = ukernel_avxvnni,
};
#endif
