// int16 convolution of an image's bytes (sb_s16_conv.h): the bytes recovered from the fp32
// image into padded int16 planes, a 4 x 64 tile of vpdpwssd reading tap pairs straight from
// the planes, and a fused uint8 epilogue with one offset per class of windows. The portable tile
// does the same integer sums and the same epilogue operations, so every path (and the reference
// twin in this file's last section) gives the same bits.
#include "sb_s16_conv.h"
#include <math.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

/// MR output channels by NV vectors of 16 output columns per tile; 256 levels per channel.
enum { MR = 4, NV = 4, WQ_MAX = 32767, LEVELS = 256 };

struct sb_s16_conv_plan {
    sb_window g;
    int32_t m, relu, zp;
    int32_t cols;              // offsets per output row and channel: 16 per vector of columns
    int16_t *packed;           // [ceil(m / MR)][C][k_h][pairs][MR][2]
    float *scale;              // [m] ws / out_scale
    float *offsets;            // [row classes][m][cols]
    int32_t *row_class;        // [out_h]
    float *levels;             // [C][256]
    float *inv_step, *zero;    // [C] 1 / a and z, for the guess of a value's byte
};

static int32_t have_vnni(void) {
    const sb_cpu_features f = sb_cpu_detect();
    return f.avx512f && f.avx512bw && f.avx512vnni;
}

static int32_t pairs_of(const sb_window *g) { return (g->k_w + 1) / 2; }
static int32_t vectors_of(const sb_window *g) { return (g->out_w + 15) / 16; }

static size_t row_len(const sb_window *g) {
    // A vector of 16 outputs starting at column ox0 reads columns [2 ox0 + 2p, + 32) for pairs p.
    size_t need = (size_t)vectors_of(g) * 32 + 2 * (size_t)pairs_of(g);
    const size_t image = (size_t)g->pad_left + (size_t)g->in_w + (size_t)g->pad_right;
    if (image > need) need = image;
    return (need + 31) / 32 * 32;   // whole 64-byte lines
}

static size_t plane_rows(const sb_window *g) {
    size_t need = (size_t)g->stride_h * (size_t)(g->out_h - 1) + (size_t)g->k_h;
    const size_t image = (size_t)g->pad_top + (size_t)g->in_h + (size_t)g->pad_bottom;
    return image > need ? image : need;
}

int32_t sb_s16_conv_supported(const sb_window *g, int32_t out_channels, int32_t fast) {
    if (!g || g->stride_w != 2 || g->stride_h < 1 || g->channels < 1 || g->k_h < 1 || g->k_w < 1 ||
        g->out_h < 1 || g->out_w < 1 || g->in_h < 1 || g->in_w < 1 || out_channels < 1 ||
        out_channels > SB_S16_MAX_CHANNELS || g->pad_top < 0 || g->pad_left < 0 || g->pad_bottom < 0 ||
        g->pad_right < 0)
        return 0;
    if ((int64_t)g->channels * g->k_h * g->k_w > SB_S16_MAX_TAPS) return 0;
    // Every window must start inside the padded planes (the caller's out_h/out_w follow the pads).
    if ((int64_t)2 * (g->out_w - 1) + g->k_w > (int64_t)g->pad_left + g->in_w + g->pad_right) return 0;
    if ((int64_t)g->stride_h * (g->out_h - 1) + g->k_h > (int64_t)g->pad_top + g->in_h + g->pad_bottom) return 0;
    return fast ? have_vnni() : 1;
}

size_t sb_s16_planes_bytes(const sb_window *g) {
    return (size_t)g->channels * plane_rows(g) * row_len(g) * sizeof(int16_t);
}

// MARK: Plan-time numbers, shared by the plan and the reference twin.

/// The ladder of one channel: a (the step) and z (the byte of value 0); 0 when the levels are not
/// finite, not distinct, or off the line through the first and last by more than a / 64.
static int32_t ladder(const float *lv, double *a, double *z) {
    const double lo = lv[0], hi = lv[LEVELS - 1];
    if (!isfinite(lo) || !isfinite(hi)) return 0;
    const double step = (hi - lo) / (LEVELS - 1);
    if (!(fabs(step) > 0.0) || !isfinite(step)) return 0;
    for (int32_t v = 0; v < LEVELS; v++)
        if (!isfinite(lv[v]) || fabs((double)lv[v] - (lo + step * v)) > fabs(step) / 64.0) return 0;
    *a = step;
    *z = -lo / step;
    return 1;
}

/// Every channel's ladder (a, z [C]); 0 when one is not a ladder.
static int32_t ladders(const sb_window *g, const float *levels, double *a, double *z) {
    for (int32_t c = 0; c < g->channels; c++)
        if (!ladder(levels + (size_t)c * LEVELS, a + c, z + c)) return 0;
    return 1;
}

/// The weights of output channel `r` times their channel's step, as codes `wq` [taps] and scale
/// `*ws`; 0 when a weight is not finite.
static int32_t quantize_row(const sb_window *g, const float *w, const double *a, int16_t *wq, double *ws) {
    const int32_t per = g->k_h * g->k_w, taps = g->channels * per;
    double top = 0.0;
    for (int32_t i = 0; i < taps; i++) {
        if (!isfinite(w[i])) return 0;
        const double u = fabs((double)w[i] * a[i / per]);
        top = u > top ? u : top;
    }
    const double s = top > 0.0 && isfinite(top) ? top / WQ_MAX : 1.0;
    if (!isfinite(top)) return 0;
    *ws = s;
    for (int32_t i = 0; i < taps; i++) {
        double q = nearbyint((double)w[i] * a[i / per] / s);
        q = q < -WQ_MAX ? -WQ_MAX : (q > WQ_MAX ? WQ_MAX : q);
        wq[i] = (int16_t)q;
    }
    return 1;
}

/// The taps [*k0, *k1) of a window of `k` taps starting at input position `first` (negative in
/// the padding) that lie inside an input of `in` positions; one axis.
static void taps_inside(int32_t first, int32_t k, int32_t in, int32_t *k0, int32_t *k1) {
    *k0 = first < 0 ? -first : 0;
    *k1 = in - first < k ? in - first : k;
    if (*k1 < *k0) *k1 = *k0;
}

/// The offset of a window covering taps [ky0, ky1) x [kx0, kx1) (sums in the order c, ky, kx).
static float offset_of(const sb_window *g, const int16_t *wq, double ws, double bias, const double *z,
                       int32_t ky0, int32_t ky1, int32_t kx0, int32_t kx1, float out_scale) {
    double sum = 0.0;
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t ky = ky0; ky < ky1; ky++)
            for (int32_t kx = kx0; kx < kx1; kx++)
                sum += (double)wq[((size_t)c * g->k_h + ky) * g->k_w + kx] * z[c];
    return (float)((bias - ws * sum) / (double)out_scale);
}

/// The epilogue of one output (the fast path does these steps lane by lane).
static inline uint8_t output_of(int32_t acc, float s, float offset, int32_t relu, int32_t zp) {
    float v = (float)acc * s;
    v = v + offset;
    if (relu) v = v > 0.0f ? v : 0.0f;
    v = v < -1024.0f ? -1024.0f : (v > 1024.0f ? 1024.0f : v);
    int32_t q = (int32_t)nearbyintf(v) + zp;
    q = q < 0 ? 0 : (q > 255 ? 255 : q);
    return (uint8_t)q;
}

/// The byte of value `x` in a channel (levels `lv`): 1 and `*byte` when x is one of the levels.
static inline int32_t byte_of(const float *lv, float inv_step, float zero, float x, int32_t *byte) {
    float guess = x * inv_step;
    guess = guess + zero;
    guess = guess > 0.0f ? guess : 0.0f;   // NaN becomes 0 (and fails the check below)
    guess = guess < 255.0f ? guess : 255.0f;
    const int32_t v = (int32_t)nearbyintf(guess);
    *byte = v;
    return lv[v] == x;
}

// MARK: Plan.

void sb_s16_conv_destroy(sb_s16_conv_plan *p) {
    if (!p) return;
    free(p->packed);
    free(p->scale);
    free(p->offsets);
    free(p->row_class);
    free(p->levels);
    free(p->inv_step);
    free(p->zero);
    free(p);
}

sb_s16_conv_plan *sb_s16_conv_create(const sb_window *g, int32_t m, const float *weights, const float *bias,
                                     const float *levels, float out_scale, int32_t out_zp, int32_t relu) {
    if (!sb_s16_conv_supported(g, m, 0) || !weights || !levels || !(out_scale > 0.0f) || !isfinite(out_scale)) return NULL;
    const int32_t C = g->channels, taps = C * g->k_h * g->k_w, pairs = pairs_of(g), blocks = (m + MR - 1) / MR;
    double a[SB_S16_MAX_TAPS], z[SB_S16_MAX_TAPS];   // C <= taps
    if (!ladders(g, levels, a, z)) return NULL;
    sb_s16_conv_plan *p = calloc(1, sizeof *p);
    int16_t *wq = malloc((size_t)m * taps * sizeof *wq);
    double *ws = malloc((size_t)m * sizeof *ws);
    int32_t *col_class = malloc((size_t)g->out_w * sizeof *col_class);
    int32_t *row_range = malloc((size_t)g->out_h * 2 * sizeof *row_range);
    int32_t *col_range = malloc((size_t)g->out_w * 2 * sizeof *col_range);
    if (!p || !wq || !ws || !col_class || !row_range || !col_range) goto fail;
    p->g = *g;
    p->m = m;
    p->relu = relu ? 1 : 0;
    p->zp = out_zp;
    p->cols = vectors_of(g) * 16;
    for (int32_t r = 0; r < m; r++)
        if (!quantize_row(g, weights + (size_t)r * taps, a, wq + (size_t)r * taps, ws + r)) goto fail;
    if (bias)
        for (int32_t r = 0; r < m; r++)
            if (!isfinite(bias[r])) goto fail;

    p->packed = aligned_alloc(64, ((size_t)blocks * C * g->k_h * pairs * MR * 2 * sizeof(int16_t) + 63) / 64 * 64);
    p->scale = malloc((size_t)m * sizeof(float));
    p->levels = malloc((size_t)C * LEVELS * sizeof(float));
    p->inv_step = malloc((size_t)C * sizeof(float));
    p->zero = malloc((size_t)C * sizeof(float));
    p->row_class = malloc((size_t)g->out_h * sizeof(int32_t));
    if (!p->packed || !p->scale || !p->levels || !p->inv_step || !p->zero || !p->row_class) goto fail;
    size_t at = 0;
    for (int32_t b = 0; b < blocks; b++)
        for (int32_t c = 0; c < C; c++)
            for (int32_t ky = 0; ky < g->k_h; ky++)
                for (int32_t q = 0; q < pairs; q++)
                    for (int32_t r = 0; r < MR; r++)
                        for (int32_t t = 0; t < 2; t++, at++) {
                            const int32_t row = b * MR + r, kx = 2 * q + t;
                            p->packed[at] = row < m && kx < g->k_w ? wq[(size_t)row * taps + ((size_t)c * g->k_h + ky) * g->k_w + kx] : 0;
                        }
    for (int32_t r = 0; r < m; r++) p->scale[r] = (float)(ws[r] / (double)out_scale);
    memcpy(p->levels, levels, (size_t)C * LEVELS * sizeof(float));
    for (int32_t c = 0; c < C; c++) {
        p->inv_step[c] = (float)(1.0 / a[c]);
        p->zero[c] = (float)z[c];
    }

    // Classes: output rows (columns) whose windows cover the same rows (columns) of taps.
    int32_t row_classes = 0, col_classes = 0;
    for (int32_t oy = 0; oy < g->out_h; oy++) {
        int32_t k0, k1, k = 0;
        taps_inside(oy * g->stride_h - g->pad_top, g->k_h, g->in_h, &k0, &k1);
        while (k < row_classes && (row_range[2 * k] != k0 || row_range[2 * k + 1] != k1)) k++;
        if (k == row_classes) { row_range[2 * k] = k0; row_range[2 * k + 1] = k1; row_classes++; }
        p->row_class[oy] = k;
    }
    for (int32_t ox = 0; ox < g->out_w; ox++) {
        int32_t k0, k1, k = 0;
        taps_inside(ox * g->stride_w - g->pad_left, g->k_w, g->in_w, &k0, &k1);
        while (k < col_classes && (col_range[2 * k] != k0 || col_range[2 * k + 1] != k1)) k++;
        if (k == col_classes) { col_range[2 * k] = k0; col_range[2 * k + 1] = k1; col_classes++; }
        col_class[ox] = k;
    }
    p->offsets = calloc((size_t)row_classes * m * p->cols, sizeof(float));
    float *by_class = malloc((size_t)col_classes * sizeof(float));
    if (!p->offsets || !by_class) { free(by_class); goto fail; }
    for (int32_t rc = 0; rc < row_classes; rc++)
        for (int32_t r = 0; r < m; r++) {
            for (int32_t cc = 0; cc < col_classes; cc++)
                by_class[cc] = offset_of(g, wq + (size_t)r * taps, ws[r], bias ? (double)bias[r] : 0.0, z,
                                         row_range[2 * rc], row_range[2 * rc + 1], col_range[2 * cc],
                                         col_range[2 * cc + 1], out_scale);
            float *dst = p->offsets + ((size_t)rc * m + r) * p->cols;
            for (int32_t ox = 0; ox < g->out_w; ox++) dst[ox] = by_class[col_class[ox]];
        }
    free(by_class);
    free(wq);
    free(ws);
    free(col_class);
    free(row_range);
    free(col_range);
    return p;
fail:
    free(wq);
    free(ws);
    free(col_class);
    free(row_range);
    free(col_range);
    sb_s16_conv_destroy(p);
    return NULL;
}

// MARK: Bytes into planes.

typedef struct {
    const sb_s16_conv_plan *plan;
    const float *input;
    int16_t *planes;
    uint8_t *output;
    size_t len, rows, block_stride;
    int32_t fast;
    int32_t bad;               // set when a value is not one of its channel's levels
} s16_job;

/// The bytes of `n` values of channel `c`; 0 when one is not a level.
static int32_t bytes_portable(const sb_s16_conv_plan *p, int32_t c, const float *x, int16_t *dst, int32_t n) {
    const float *lv = p->levels + (size_t)c * LEVELS;
    int32_t ok = 1;
    for (int32_t i = 0; i < n; i++) {
        int32_t v;
        ok &= byte_of(lv, p->inv_step[c], p->zero[c], x[i], &v);
        dst[i] = (int16_t)v;
    }
    return ok;
}

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static int32_t bytes_avx512(const sb_s16_conv_plan *p, int32_t c, const float *x, int16_t *dst, int32_t n) {
    const float *lv = p->levels + (size_t)c * LEVELS;
    const __m512 inv = _mm512_set1_ps(p->inv_step[c]), zero = _mm512_set1_ps(p->zero[c]);
    const __m512 lo = _mm512_setzero_ps(), hi = _mm512_set1_ps(255.0f);
    __mmask16 bad = 0;
    for (int32_t i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(k, x + i);
        __m512 guess = _mm512_add_ps(_mm512_mul_ps(v, inv), zero);
        guess = _mm512_min_ps(_mm512_max_ps(guess, lo), hi);   // as byte_of: NaN becomes 0
        const __m512i byte = _mm512_cvtps_epi32(guess);        // round half to even
        // levels[byte]: eight two-table permutes (32 levels each), then bits 5, 6 and 7 of the
        // byte choose among them (a gather is twice as slow here).
        __m512 part[8];
#pragma GCC unroll 8
        for (int t = 0; t < 8; t++) part[t] = _mm512_permutex2var_ps(_mm512_loadu_ps(lv + 32 * t), byte, _mm512_loadu_ps(lv + 32 * t + 16));
#pragma GCC unroll 3
        for (int bit = 0, width = 8; bit < 3; bit++, width /= 2) {
            const __mmask16 high = _mm512_test_epi32_mask(byte, _mm512_set1_epi32(32 << bit));
#pragma GCC unroll 4
            for (int t = 0; t < width / 2; t++) part[t] = _mm512_mask_blend_ps(high, part[2 * t], part[2 * t + 1]);
        }
        const __m512 level = part[0];
        bad |= _mm512_mask_cmp_ps_mask(k, level, v, _CMP_NEQ_UQ);
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, k, byte);
    }
    return bad == 0;
}
#endif

/// Plane rows [chunk]: the bytes of the image, zeros around it.
static void fill_task(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)thread;
    s16_job *job = raw;
    const sb_window *g = &job->plan->g;
    int32_t r0, r1;
    sb_split_range(g->channels * (int32_t)job->rows, chunk, chunks, 1, &r0, &r1);
    int32_t ok = 1;
    for (int32_t at = r0; at < r1; at++) {
        const int32_t c = at / (int32_t)job->rows, r = at % (int32_t)job->rows;
        int16_t *dst = job->planes + (size_t)at * job->len;
        const int32_t iy = r - g->pad_top;
        if (iy < 0 || iy >= g->in_h) { memset(dst, 0, job->len * sizeof *dst); continue; }
        memset(dst, 0, (size_t)g->pad_left * sizeof *dst);
        const float *src = job->input + ((size_t)c * g->in_h + (size_t)iy) * g->in_w;
#if defined(__x86_64__)
        if (job->fast) ok &= bytes_avx512(job->plan, c, src, dst + g->pad_left, g->in_w);
        else
#endif
        ok &= bytes_portable(job->plan, c, src, dst + g->pad_left, g->in_w);
        const size_t end = (size_t)g->pad_left + (size_t)g->in_w;
        memset(dst + end, 0, (job->len - end) * sizeof *dst);
    }
    if (!ok) __atomic_store_n(&job->bad, 1, __ATOMIC_RELAXED);
}

// MARK: Tiles.

/// Output channels [mb * MR, + MR) of output row `oy`, columns [ox0, ox0 + cols), cols <= 16 NV.
static void tile_portable(const s16_job *job, int32_t mb, int32_t oy, int32_t ox0, int32_t cols) {
    const sb_s16_conv_plan *p = job->plan;
    const sb_window *g = &p->g;
    const int32_t pairs = pairs_of(g);
    const int16_t *w = p->packed + (size_t)mb * job->block_stride;
    const int16_t *base = job->planes + (size_t)g->stride_h * oy * job->len + 2 * (size_t)ox0;
    int32_t acc[MR][16 * NV];
    memset(acc, 0, sizeof acc);
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            const int16_t *row = base + ((size_t)c * job->rows + ky) * job->len;
            for (int32_t q = 0; q < pairs; q++, w += MR * 2)
                for (int32_t r = 0; r < MR; r++)
                    for (int32_t j = 0; j < cols; j++)
                        acc[r][j] += (int32_t)w[2 * r] * row[2 * j + 2 * q] + (int32_t)w[2 * r + 1] * row[2 * j + 2 * q + 1];
        }
    const size_t plane = (size_t)g->out_h * g->out_w;
    for (int32_t r = 0; r < MR; r++) {
        const int32_t m = mb * MR + r;
        if (m >= p->m) break;
        uint8_t *out = job->output + (size_t)m * plane + (size_t)oy * g->out_w + ox0;
        const float *off = p->offsets + ((size_t)p->row_class[oy] * p->m + m) * p->cols + ox0;
        for (int32_t j = 0; j < cols; j++) out[j] = output_of(acc[r][j], p->scale[m], off[j], p->relu, p->zp);
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline))
static inline void tile_body(const s16_job *job, int32_t mb, int32_t oy, int32_t ox0, int32_t cols, const int nv) {
    const sb_s16_conv_plan *p = job->plan;
    const sb_window *g = &p->g;
    const int32_t pairs = pairs_of(g);
    const int16_t *w = p->packed + (size_t)mb * job->block_stride;
    const int16_t *base = job->planes + (size_t)g->stride_h * oy * job->len + 2 * (size_t)ox0;
    __m512i acc[MR][NV];
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++)
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_setzero_si512();
    for (int32_t ch = 0; ch < g->channels; ch++)
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            const int16_t *row = base + ((size_t)ch * job->rows + ky) * job->len;
            for (int32_t q = 0; q < pairs; q++, w += MR * 2) {
                __m512i a[MR];
#pragma GCC unroll 4
                for (int r = 0; r < MR; r++) {
                    int32_t pair;
                    memcpy(&pair, w + 2 * r, 4);
                    a[r] = _mm512_set1_epi32(pair);
                }
#pragma GCC unroll 4
                for (int v = 0; v < NV; v++) {
                    if (v >= nv) break;
                    const __m512i b = _mm512_loadu_si512(row + 2 * q + 32 * v);
#pragma GCC unroll 4
                    for (int r = 0; r < MR; r++) acc[r][v] = _mm512_dpwssd_epi32(acc[r][v], b, a[r]);
                }
            }
        }
    // output_of, lane by lane.
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(-1024.0f), hi = _mm512_set1_ps(1024.0f);
    const __m512i zp = _mm512_set1_epi32(p->zp), qmin = _mm512_setzero_si512(), qmax = _mm512_set1_epi32(255);
    const size_t plane = (size_t)g->out_h * g->out_w;
#pragma GCC unroll 4
    for (int r = 0; r < MR; r++) {
        const int32_t m = mb * MR + r;
        if (m >= p->m) break;
        uint8_t *out = job->output + (size_t)m * plane + (size_t)oy * g->out_w + ox0;
        const float *off = p->offsets + ((size_t)p->row_class[oy] * p->m + m) * p->cols + ox0;
        const __m512 s = _mm512_set1_ps(p->scale[m]);
#pragma GCC unroll 4
        for (int v = 0; v < NV; v++) {
            if (v >= nv) break;
            const int32_t n = cols - 16 * v;
            const __mmask16 k = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
            __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(acc[r][v]), s);
            f = _mm512_add_ps(f, _mm512_loadu_ps(off + 16 * v));
            if (p->relu) f = _mm512_max_ps(f, zero);
            f = _mm512_min_ps(_mm512_max_ps(f, lo), hi);
            __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(f), zp);
            q = _mm512_min_epi32(_mm512_max_epi32(q, qmin), qmax);
            _mm512_mask_cvtepi32_storeu_epi8(out + 16 * v, k, q);
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void tile_avx512(const s16_job *job, int32_t mb, int32_t oy, int32_t ox0, int32_t cols) {
    switch ((cols + 15) / 16) {
    case 4: tile_body(job, mb, oy, ox0, cols, 4); break;
    case 3: tile_body(job, mb, oy, ox0, cols, 3); break;
    case 2: tile_body(job, mb, oy, ox0, cols, 2); break;
    default: tile_body(job, mb, oy, ox0, cols, 1); break;
    }
}
#endif

static void conv_task(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)thread;
    const s16_job *job = raw;
    const sb_window *g = &job->plan->g;
    int32_t y0, y1;
    sb_split_range(g->out_h, chunk, chunks, 1, &y0, &y1);
    const int32_t blocks = (job->plan->m + MR - 1) / MR;
    for (int32_t oy = y0; oy < y1; oy++)
        for (int32_t mb = 0; mb < blocks; mb++)
            for (int32_t ox0 = 0; ox0 < g->out_w; ox0 += 16 * NV) {
                const int32_t cols = g->out_w - ox0 < 16 * NV ? g->out_w - ox0 : 16 * NV;
#if defined(__x86_64__)
                if (job->fast) { tile_avx512(job, mb, oy, ox0, cols); continue; }
#endif
                tile_portable(job, mb, oy, ox0, cols);
            }
}

static int32_t conv_u8(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                       sb_pool *pool, int32_t fast) {
    const sb_window *g = &plan->g;
    s16_job job = {
        .plan = plan, .input = input, .planes = planes, .output = output, .len = row_len(g), .rows = plane_rows(g),
        .block_stride = (size_t)g->channels * g->k_h * pairs_of(g) * MR * 2, .fast = fast, .bad = 0,
    };
    sb_pool_run_chunks(pool, fill_task, &job, sb_pool_chunks(pool, g->channels * (int32_t)job.rows, 2));
    if (__atomic_load_n(&job.bad, __ATOMIC_RELAXED)) return 0;
    sb_pool_run_chunks(pool, conv_task, &job, sb_pool_chunks(pool, g->out_h, 4));
    return 1;
}

int32_t sb_s16_conv_u8(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                       sb_pool *pool) {
    return conv_u8(plan, input, planes, output, pool, have_vnni());
}

int32_t sb_s16_conv_u8_portable(const sb_s16_conv_plan *plan, const float *input, int16_t *planes,
                                uint8_t *output, sb_pool *pool) {
    return conv_u8(plan, input, planes, output, pool, 0);
}

// MARK: Reference twin.

int32_t sb_s16_conv_u8_ref(const sb_window *g, int32_t m, const float *weights, const float *bias,
                           const float *levels, float out_scale, int32_t out_zp, int32_t relu, const float *input,
                           uint8_t *output) {
    if (!sb_s16_conv_supported(g, m, 0) || !weights || !levels || !(out_scale > 0.0f) || !isfinite(out_scale)) return -1;
    const int32_t C = g->channels, taps = C * g->k_h * g->k_w;
    double a[SB_S16_MAX_TAPS], z[SB_S16_MAX_TAPS];
    if (!ladders(g, levels, a, z)) return -1;
    int16_t *wq = malloc((size_t)m * taps * sizeof *wq);
    double *ws = malloc((size_t)m * sizeof *ws);
    int16_t *bytes = malloc((size_t)C * g->in_h * g->in_w * sizeof *bytes);
    int32_t result = 1;
    if (!wq || !ws || !bytes) { result = -1; goto done; }
    for (int32_t r = 0; r < m; r++)
        if (!quantize_row(g, weights + (size_t)r * taps, a, wq + (size_t)r * taps, ws + r)) { result = -1; goto done; }
    if (bias)
        for (int32_t r = 0; r < m; r++)
            if (!isfinite(bias[r])) { result = -1; goto done; }
    for (int32_t c = 0; c < C; c++) {
        const float *lv = levels + (size_t)c * LEVELS;
        const float inv = (float)(1.0 / a[c]), zero = (float)z[c];
        for (size_t i = 0; i < (size_t)g->in_h * g->in_w; i++) {
            int32_t v;
            if (!byte_of(lv, inv, zero, input[(size_t)c * g->in_h * g->in_w + i], &v)) { result = 0; goto done; }
            bytes[(size_t)c * g->in_h * g->in_w + i] = (int16_t)v;
        }
    }
    for (int32_t o = 0; o < m; o++) {
        const float s = (float)(ws[o] / (double)out_scale);
        const int16_t *row = wq + (size_t)o * taps;
        for (int32_t oy = 0; oy < g->out_h; oy++)
            for (int32_t ox = 0; ox < g->out_w; ox++) {
                int32_t acc = 0;
                double sum = 0.0;
                for (int32_t c = 0; c < C; c++)
                    for (int32_t ky = 0; ky < g->k_h; ky++)
                        for (int32_t kx = 0; kx < g->k_w; kx++) {
                            const int32_t iy = oy * g->stride_h - g->pad_top + ky, ix = ox * g->stride_w - g->pad_left + kx;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                            const int32_t w = row[((size_t)c * g->k_h + ky) * g->k_w + kx];
                            acc += w * bytes[((size_t)c * g->in_h + iy) * g->in_w + ix];
                            sum += (double)w * z[c];
                        }
                const double b = bias ? (double)bias[o] : 0.0;
                const float offset = (float)((b - ws[o] * sum) / (double)out_scale);
                output[((size_t)o * g->out_h + oy) * g->out_w + ox] = output_of(acc, s, offset, relu, out_zp);
            }
    }
done:
    free(wq);
    free(ws);
    free(bytes);
    return result;
}
