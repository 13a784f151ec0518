// fp32 GEMM micro-kernel for AVX2 + FMA: a 16 x 6 tile of C, vectorised along the output channels
// (two ymm of 8 rows per pixel column, 12 accumulators, 15 of the 16 ymm registers). The tile is
// spilled and stored through the shared transposing epilogue; B uses the portable packer.
#include "sb_sgemm_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

#define SB_AVX2 __attribute__((target("avx2,fma")))

#define SB_UNROLL _Pragma("clang loop unroll(full)")

enum { MR = 16, NR = 6 };

static inline __attribute__((always_inline)) SB_AVX2 __m256i row_mask(int32_t n) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), lane);
}

static inline __attribute__((always_inline)) SB_AVX2
void tile(const int cols, int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) {
    __m256 c0[NR], c1[NR];
    if (t->acc_in) {
        SB_UNROLL
        for (int j = 0; j < cols; j++) {
            c0[j] = _mm256_load_ps(t->acc_in + j * MR);
            c1[j] = _mm256_load_ps(t->acc_in + j * MR + 8);
        }
    } else {
        __m256 b0 = _mm256_setzero_ps(), b1 = _mm256_setzero_ps();
        if (t->bias) {
            b0 = _mm256_maskload_ps(t->bias, row_mask(t->rows));
            b1 = _mm256_maskload_ps(t->bias + 8, row_mask(t->rows - 8));
        }
        SB_UNROLL
        for (int j = 0; j < cols; j++) { c0[j] = b0; c1[j] = b1; }
    }
#pragma clang loop unroll_count(4)
    for (int32_t p = 0; p < k; p++) {
        const __m256 a0 = _mm256_load_ps(a), a1 = _mm256_load_ps(a + 8);
        SB_UNROLL
        for (int j = 0; j < cols; j++) {
            const __m256 bj = _mm256_broadcast_ss(b + j);
            c0[j] = _mm256_fmadd_ps(a0, bj, c0[j]);
            c1[j] = _mm256_fmadd_ps(a1, bj, c1[j]);
        }
        a += MR;
        b += ldb;
    }
    _Alignas(32) float spill[NR * MR];
    float *out = t->acc_out ? t->acc_out : spill;
    SB_UNROLL
    for (int j = 0; j < cols; j++) {
        _mm256_store_ps(out + j * MR, c0[j]);
        _mm256_store_ps(out + j * MR + 8, c1[j]);
    }
    if (!t->acc_out) sb_sgemm_store_tile(spill, MR, cols, t);
}

#define SB_TILE(n) \
    SB_AVX2 static void tile_##n(int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) { \
        tile(n, k, a, b, ldb, t); \
    }
SB_TILE(1) SB_TILE(2) SB_TILE(3) SB_TILE(4) SB_TILE(5) SB_TILE(6)

typedef void (*tile_fn)(int32_t, const float *, const float *, int32_t, const sb_sgemm_tile *);
static const tile_fn tiles[NR + 1] = { NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6 };

static void ukernel_avx2(int32_t cols, int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) {
    tiles[cols](k, a, b, ldb, t);
}

const sb_sgemm_variant sb_sgemm_variant_avx2 = { .mr = MR, .nr = NR, .ukernel = ukernel_avx2, .pack = NULL };
#endif
