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
    for (int32_t g = 0; g < kgroups; g++, pa += MR * 4, pb += NR * 4) {
        const __m512i b0 = _mm512_loadu_si512(pb), b1 = _mm512_loadu_si512(pb + 64);
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

const sb_q8_variant sb_q8_variant_avx512vnni = {
    .format = { .mr = MR, .nr = NR, .kg = 4, .a_bytes = 1, .b_mode = SB_Q8_B_U8 },
    .ukernel = ukernel_avx512vnni,
    .store = sb_q8_store_tile_avx512,
};
#endif
