// fp32 GEMM micro-kernel for AVX-512: a 32 x 14 tile of C, vectorised along the output channels
// (two zmm of 16 rows per pixel column, 28 accumulators). Each k step loads the two weight
// vectors and broadcasts the 14 pixels' B values into the FMAs. The store transposes each 16 x 14
// half in registers and writes rows of C with bias (added at the start), residual and ReLU fused.
// Also the B packer: im2col folded into panel packing, with masked loads per output-row segment.
#include "sb_sgemm_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>
#include <stdint.h>

#define SB_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,prfchw")))
#define SB_INLINE static inline __attribute__((always_inline)) SB_AVX512

#define SB_UNROLL _Pragma("clang loop unroll(full)")

enum { MR = 32, NR = 14 };

/// k steps the weight prefetch runs ahead of the micro-kernel (3 KiB).
#define SB_A_AHEAD 24

SB_INLINE __mmask16 low_mask(int32_t n) {
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}

/// In-register transpose: r[j] lane i -> r[i] lane j.
SB_INLINE void transpose16(__m512 r[16]) {
    __m512 t[16];
    SB_UNROLL
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
    }
    SB_UNROLL
    for (int i = 0; i < 16; i += 4) {
        const __m512d a = _mm512_castps_pd(t[i]), b = _mm512_castps_pd(t[i + 1]);
        const __m512d c = _mm512_castps_pd(t[i + 2]), d = _mm512_castps_pd(t[i + 3]);
        r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, c));
        r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, c));
        r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(b, d));
        r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(b, d));
    }
    // r[4g + q], 128-bit lane L: rows 4g..4g+3 of column 4L + q.
    __m512 o[16];
    SB_UNROLL
    for (int q = 0; q < 4; q++) {
        const __m512 x0 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0x88), x1 = _mm512_shuffle_f32x4(r[q], r[4 + q], 0xdd);
        const __m512 y0 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0x88), y1 = _mm512_shuffle_f32x4(r[8 + q], r[12 + q], 0xdd);
        o[q] = _mm512_shuffle_f32x4(x0, y0, 0x88);
        o[8 + q] = _mm512_shuffle_f32x4(x0, y0, 0xdd);
        o[4 + q] = _mm512_shuffle_f32x4(x1, y1, 0x88);
        o[12 + q] = _mm512_shuffle_f32x4(x1, y1, 0xdd);
    }
    SB_UNROLL
    for (int i = 0; i < 16; i++) r[i] = o[i];
}

/// Stores 16 rows (the first `rows`) x `cols` columns held as columns in acc[0..cols).
SB_INLINE void store_half(const __m512 *acc, const int cols, int32_t rows, float *c, const float *res,
                          int32_t ldc, int32_t relu) {
    __m512 r[16];
    SB_UNROLL
    for (int j = 0; j < 16; j++) r[j] = j < cols ? acc[j] : _mm512_setzero_ps();
    transpose16(r);
    const __mmask16 m = low_mask(cols);
    const __m512 zero = _mm512_setzero_ps();
    SB_UNROLL
    for (int i = 0; i < 16; i++) {
        if (i >= rows) break;
        __m512 v = r[i];
        if (res) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(m, res + (size_t)i * ldc));
        if (relu) v = _mm512_max_ps(v, zero);
        _mm512_mask_storeu_ps(c + (size_t)i * ldc, m, v);
    }
}

/// The k loop of a tile: B row p at b + p * ldb, or, when `koff` is not NULL, read in place at
/// b + koff[p] with its columns `cs` floats apart (`sb_sgemm_tile.koff`). Inlined with constant
/// `koff` (NULL) or `cs`, so each form compiles to its own loop.
SB_INLINE void k_steps(const int cols, int32_t k, const float *a, const float *b, const int32_t *koff, int32_t ldb,
                       const int32_t cs, __m512 *c0, __m512 *c1) {
#pragma clang loop unroll_count(4)
    for (int32_t p = 0; p < k; p++) {
#ifndef SB_NO_PREFETCH
        // The weights stream from memory once per layer in the late stages; run ahead of them.
        __builtin_prefetch(a + SB_A_AHEAD * MR, 0, 3);
        __builtin_prefetch(a + SB_A_AHEAD * MR + 16, 0, 3);
#endif
        const __m512 a0 = _mm512_load_ps(a), a1 = _mm512_load_ps(a + 16);
        const float *row = koff ? b + koff[p] : b + (size_t)p * (size_t)ldb;
        SB_UNROLL
        for (int j = 0; j < cols; j++) {
            const __m512 bj = _mm512_set1_ps(row[j * cs]);
            c0[j] = _mm512_fmadd_ps(a0, bj, c0[j]);
            c1[j] = _mm512_fmadd_ps(a1, bj, c1[j]);
        }
        a += MR;
    }
}

SB_INLINE void tile(const int cols, int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) {
    __m512 c0[NR], c1[NR];
    if (t->acc_in) {
        SB_UNROLL
        for (int j = 0; j < cols; j++) {
            c0[j] = _mm512_load_ps(t->acc_in + j * MR);
            c1[j] = _mm512_load_ps(t->acc_in + j * MR + 16);
        }
    } else {
        __m512 b0 = _mm512_setzero_ps(), b1 = _mm512_setzero_ps();
        if (t->bias) {
            b0 = _mm512_maskz_loadu_ps(low_mask(t->rows), t->bias);
            b1 = _mm512_maskz_loadu_ps(low_mask(t->rows - 16), t->bias + 16);
        }
        SB_UNROLL
        for (int j = 0; j < cols; j++) { c0[j] = b0; c1[j] = b1; }
    }
#ifndef SB_NO_PREFETCH
    if (!t->acc_out) {
        // The tile's rows of C (and of the residual) are 32 short pieces far apart, too many
        // streams for the hardware prefetchers when they are cold (large N): fetch them now,
        // while the k loop runs.
        for (int32_t i = 0; i < t->rows; i++) {
            __builtin_prefetch(t->c + (size_t)i * t->ldc, 1, 3);
            __builtin_prefetch(t->c + (size_t)i * t->ldc + cols - 1, 1, 3);
            if (t->residual) {
                __builtin_prefetch(t->residual + (size_t)i * t->ldc, 0, 3);
                __builtin_prefetch(t->residual + (size_t)i * t->ldc + cols - 1, 0, 3);
            }
        }
    }
#endif
    if (t->koff) {
        // B in place from padded input planes; stride 2 (every such layer of ResNet) and 1 with a
        // constant column step.
        if (t->cs == 2) k_steps(cols, k, a, b, t->koff, 0, 2, c0, c1);
        else if (t->cs == 1) k_steps(cols, k, a, b, t->koff, 0, 1, c0, c1);
        else k_steps(cols, k, a, b, t->koff, 0, t->cs, c0, c1);
    } else {
        k_steps(cols, k, a, b, NULL, ldb, 1, c0, c1);
    }
    if (t->acc_out) {
        SB_UNROLL
        for (int j = 0; j < cols; j++) {
            _mm512_store_ps(t->acc_out + j * MR, c0[j]);
            _mm512_store_ps(t->acc_out + j * MR + 16, c1[j]);
        }
        return;
    }
    const int32_t lo = t->rows < 16 ? t->rows : 16;
    store_half(c0, cols, lo, t->c, t->residual, t->ldc, t->relu);
    if (t->rows > 16)
        store_half(c1, cols, t->rows - 16, t->c + (size_t)16 * t->ldc,
                   t->residual ? t->residual + (size_t)16 * t->ldc : NULL, t->ldc, t->relu);
}

#define SB_TILE(n) \
    SB_AVX512 static void tile_##n(int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) { \
        tile(n, k, a, b, ldb, t); \
    }
SB_TILE(1) SB_TILE(2) SB_TILE(3) SB_TILE(4) SB_TILE(5) SB_TILE(6) SB_TILE(7)
SB_TILE(8) SB_TILE(9) SB_TILE(10) SB_TILE(11) SB_TILE(12) SB_TILE(13) SB_TILE(14)

typedef void (*tile_fn)(int32_t, const float *, const float *, int32_t, const sb_sgemm_tile *);
static const tile_fn tiles[NR + 1] = {
    NULL, tile_1, tile_2, tile_3, tile_4, tile_5, tile_6, tile_7,
    tile_8, tile_9, tile_10, tile_11, tile_12, tile_13, tile_14,
};

static void ukernel_avx512(int32_t cols, int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) {
    tiles[cols](k, a, b, ldb, t);
}

// MARK: Packing B.

/// A run of a panel's columns that lies in one output row: lanes [lane, lane + len) hold the
/// output pixels (oy, ox0 ...).
typedef struct { int32_t lane, len, oy, ox0; } segment;

/// One segment's reads for one kx: the lanes it fills, (stride 2) the even positions of a
/// 32-float window they take, and the input x that lane 0 would read.
typedef struct { __mmask16 lanes, wide0, wide1; int32_t x; } piece;

#define SB_PACK_MAX_KW 16
#define SB_PACK_AHEAD 4

SB_AVX512 static void pack_avx512(const float *src, const sb_window *g, int32_t j0, int32_t cols, float *dst) {
    const int32_t sw = g->stride_w;
    if (sw > 2 || g->k_w > SB_PACK_MAX_KW) { sb_sgemm_pack_window_generic(src, g, j0, cols, NR, dst); return; }
    segment seg[NR];
    int32_t count = 0;
    for (int32_t lane = 0; lane < cols;) {
        const int32_t j = j0 + lane, oy = j / g->out_w, ox = j - oy * g->out_w;
        const int32_t len = g->out_w - ox < cols - lane ? g->out_w - ox : cols - lane;
        seg[count++] = (segment){ lane, len, oy, ox };
        lane += len;
    }
    piece pieces[SB_PACK_MAX_KW][NR];
    for (int32_t kx = 0; kx < g->k_w; kx++) {
        for (int32_t s = 0; s < count; s++) {
            // Input x of the segment's t-th pixel: x0 + t * sw; valid t in [lo, hi).
            const int32_t x0 = seg[s].ox0 * sw - g->pad_left + kx;
            const int32_t lo = x0 >= 0 ? 0 : (-x0 + sw - 1) / sw;
            int32_t hi = x0 <= g->in_w - 1 ? (g->in_w - 1 - x0) / sw + 1 : 0;
            if (hi > seg[s].len) hi = seg[s].len;
            piece *p = &pieces[kx][s];
            p->lanes = hi > lo ? (__mmask16)(low_mask(hi - lo) << (seg[s].lane + lo)) : 0;
            p->x = x0 - seg[s].lane * sw;
            uint32_t wide = 0;
            for (int32_t l = 0; l < 16; l++) if (p->lanes & (1u << l)) wide |= 1u << (2 * l);
            p->wide0 = (__mmask16)(wide & 0xFFFF);
            p->wide1 = (__mmask16)(wide >> 16);
        }
    }
    const size_t plane = (size_t)g->in_h * g->in_w;
    const __mmask16 store_mask = low_mask(cols);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    float *row = dst;
    for (int32_t c = 0; c < g->channels; c++) {
        const float *in = src + (size_t)c * plane;
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            // Each segment's input row for this ky, or NULL outside the input.
            const float *rows[NR];
            for (int32_t s = 0; s < count; s++) {
                const int32_t iy = seg[s].oy * g->stride_h - g->pad_top + ky;
                rows[s] = iy >= 0 && iy < g->in_h ? in + (size_t)iy * g->in_w : NULL;
#ifndef SB_NO_PREFETCH
                // The same input span SB_PACK_AHEAD channels on: each channel's rows are a
                // separate stream, too many for the hardware prefetchers on a cold input.
                if (rows[s] && c + SB_PACK_AHEAD < g->channels) {
                    const float *ahead = rows[s] + (size_t)SB_PACK_AHEAD * plane;
                    const int32_t x0 = seg[s].ox0 * sw - g->pad_left, x1 = x0 + (seg[s].len - 1) * sw + g->k_w - 1;
                    __builtin_prefetch(ahead + (x0 > 0 ? x0 : 0), 0, 3);
                    __builtin_prefetch(ahead + (x1 < g->in_w ? x1 : g->in_w - 1), 0, 3);
                }
#endif
            }
            for (int32_t kx = 0; kx < g->k_w; kx++, row += NR) {
                __m512 v = _mm512_setzero_ps();
                for (int32_t s = 0; s < count; s++) {
                    const piece *p = &pieces[kx][s];
                    if (!rows[s] || !p->lanes) continue;
                    // Lane l reads rows[s][x + l * sw]; masked-off lanes are never touched, so the
                    // base may lie before the row (it is used as an address only).
                    const float *base = (const float *)((uintptr_t)rows[s] + (uintptr_t)((intptr_t)p->x * (intptr_t)sizeof(float)));
                    if (sw == 1) {
                        v = _mm512_mask_loadu_ps(v, p->lanes, base);
                    } else {
                        const __m512 w0 = _mm512_maskz_loadu_ps(p->wide0, base);
                        const __m512 w1 = _mm512_maskz_loadu_ps(p->wide1, (const float *)((uintptr_t)base + 64));
                        v = _mm512_mask_mov_ps(v, p->lanes, _mm512_permutex2var_ps(w0, even, w1));
                    }
                }
                _mm512_mask_storeu_ps(row, store_mask, v);
            }
        }
    }
}

const sb_sgemm_variant sb_sgemm_variant_avx512 = { .mr = MR, .nr = NR, .ukernel = ukernel_avx512, .pack = pack_avx512,
                                                   .window_b = 1 };
#endif
