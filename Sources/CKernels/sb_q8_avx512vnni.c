// int8 GEMM micro-kernel for AVX-512 VNNI: 512-bit vpdpbusd (u8 activations x s8 weights).
// Tile 8 x 32: two zmm of 16 int32 pixel columns per weight row, 16 accumulators; each
// weight dword (4 k of one row) is a {1to16} broadcast memory operand.
#include "sb_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

enum { MR = 8, NR = 32 };

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static void ukernel_avx512vnni(int32_t kgroups, const void *a, const void *b, int32_t *tile) {
    const int8_t *pa = a;
    const uint8_t *pb = b;
    __m512i c[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm512_setzero_si512();
    const size_t ahead = (size_t)kgroups * MR * 4;
    for (int32_t g = 0; g < kgroups; g++, pa += MR * 4, pb += NR * 4) {
        const __m512i b0 = _mm512_loadu_si512(pb), b1 = _mm512_loadu_si512(pb + 64);
        if (!(g & 1)) _mm_prefetch((const char *)pa + ahead, _MM_HINT_T1);
#pragma GCC unroll 8
        for (int r = 0; r < MR; r++) {
            int32_t w;
            memcpy(&w, pa + r * 4, 4);
            const __m512i av = _mm512_set1_epi32(w);
            c[r][0] = _mm512_dpbusd_epi32(c[r][0], b0, av);
            c[r][1] = _mm512_dpbusd_epi32(c[r][1], b1, av);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        _mm512_storeu_si512(tile + r * NR, c[r][0]);
        _mm512_storeu_si512(tile + r * NR + 16, c[r][1]);
    }
}

/// A panel's last columns: the first 16 * z through the pixel-lane form above (z = 0 or 1),
/// then r < 8 single columns with the roles swapped: the block's 8 weight rows of a k group
/// are one 32-byte ymm (rows in lanes) and the column's 4 bytes are broadcast, so a column
/// costs one 256-bit vpdpbusd per k group instead of the 8 of a padded 16-column vector.
/// Stage 4 of ResNet-50 (N = 49 = 32 + 16 + 1) and stage 3 (N = 196 = 6 * 32 + 4) need it.
__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni"), always_inline))
static inline void narrow_body(int32_t kgroups, const int8_t *pa, const uint8_t *pb, int32_t *tile,
                               const int z, const int r) {
    __m512i c[MR];
    __m256i d[8];
#pragma GCC unroll 8
    for (int i = 0; i < MR; i++) c[i] = _mm512_setzero_si512();
#pragma GCC unroll 8
    for (int j = 0; j < 8; j++) d[j] = _mm256_setzero_si256();
    const size_t ahead = (size_t)kgroups * MR * 4;
    for (int32_t g = 0; g < kgroups; g++, pa += MR * 4, pb += NR * 4) {
        if (!(g & 1)) _mm_prefetch((const char *)pa + ahead, _MM_HINT_T1);
        if (z) {
            const __m512i b0 = _mm512_loadu_si512(pb);
#pragma GCC unroll 8
            for (int i = 0; i < MR; i++) {
                int32_t w;
                memcpy(&w, pa + i * 4, 4);
                c[i] = _mm512_dpbusd_epi32(c[i], b0, _mm512_set1_epi32(w));
            }
        }
        if (r) {
            const __m256i rows = _mm256_loadu_si256((const __m256i *)pa);
#pragma GCC unroll 8
            for (int j = 0; j < r; j++) {
                int32_t x;
                memcpy(&x, pb + (16 * z + j) * 4, 4);
                d[j] = _mm256_dpbusd_epi32(d[j], _mm256_set1_epi32(x), rows);
            }
        }
    }
    if (z) {
#pragma GCC unroll 8
        for (int i = 0; i < MR; i++) _mm512_storeu_si512(tile + i * NR, c[i]);
    }
#pragma GCC unroll 8
    for (int j = 0; j < r; j++) {
        int32_t col[8];
        _mm256_storeu_si256((__m256i *)col, d[j]);
        for (int i = 0; i < MR; i++) tile[i * NR + 16 * z + j] = col[i];
    }
}

__attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
static void ukernel_narrow_avx512vnni(int32_t kgroups, const void *a, const void *b, int32_t *tile,
                                      int32_t cols) {
    int z = cols >= 16, r = cols - 16 * z;
    if (r >= 8) { ukernel_avx512vnni(kgroups, a, b, tile); return; }   // padded vectors are cheaper
    switch (z * 8 + r) {
#define CASE(zz, rr) case zz * 8 + rr: narrow_body(kgroups, a, b, tile, zz, rr); return;
    CASE(0, 1) CASE(0, 2) CASE(0, 3) CASE(0, 4) CASE(0, 5) CASE(0, 6) CASE(0, 7)
    CASE(1, 0) CASE(1, 1) CASE(1, 2) CASE(1, 3) CASE(1, 4) CASE(1, 5) CASE(1, 6) CASE(1, 7)
#undef CASE
    default: ukernel_avx512vnni(kgroups, a, b, tile); return;
    }
}

const sb_q8_variant sb_q8_variant_avx512vnni = {
    .format = { .mr = MR, .nr = NR, .kg = 4, .a_bytes = 1, .b_mode = SB_Q8_B_U8 },
    .ukernel = ukernel_avx512vnni,
    .store = sb_q8_store_tile_avx512,
    .implicit_unfold = 1,
    .ukernel_narrow = ukernel_narrow_avx512vnni,
    .store_pair = sb_q8_store_pair_avx512,
};
#endif
