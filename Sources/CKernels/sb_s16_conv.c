// int16 first-layer convolution (sb_s16_conv.h): image codes in padded planes, an 8 x 32 tile
// of vpdpwssd reading tap pairs straight from the planes, and a fused uint8 epilogue. The
// portable tile does the same integer sums and the same epilogue operations, so every path
// (and the reference twin in this file's last section) gives the same bits.
#include "sb_s16_conv.h"
#include "sb_u8_quant.h"
#include <math.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

enum { MR = 8, NR = 32, XQ_MAX = 4095, WQ_MAX = 2047 };

static int32_t have_vnni(void) {
    const sb_cpu_features f = sb_cpu_detect();
    return f.avx512f && f.avx512bw && f.avx512vnni;
}

static int32_t pairs_of(const sb_window *g) { return (g->k_w + 1) / 2; }
static int32_t col_tiles(const sb_window *g) { return (g->out_w + NR - 1) / NR; }

static size_t row_len(const sb_window *g) {
    // A tile starting at ox0 reads columns [2 ox0 + 2p, 2 ox0 + 2p + 2 NR) for pairs p.
    size_t need = (size_t)col_tiles(g) * 2 * NR + 2 * (size_t)pairs_of(g);
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

// MARK: Codes.

/// The rounding of both code kinds: clamp (NaN to -limit, as max_ps), then half to even.
static inline int16_t code(float v, float limit) {
    const float magic = 12582912.0f;
    v = v > -limit ? v : -limit;
    v = v < limit ? v : limit;
    return (int16_t)(int32_t)((v + magic) - magic);
}

void sb_s16_quantize_weights(const float *w, int32_t m, int32_t k, int16_t *wq, float *ws) {
    for (int32_t r = 0; r < m; r++) {
        const float *row = w + (size_t)r * k;
        float top = 0.0f;
        for (int32_t i = 0; i < k; i++) { const float a = fabsf(row[i]); top = a > top ? a : top; }
        const float s = top > 0.0f && isfinite(top) ? top / (float)WQ_MAX : 1.0f;
        ws[r] = s;
        for (int32_t i = 0; i < k; i++) wq[(size_t)r * k + i] = code(row[i] / s, (float)WQ_MAX);
    }
}

size_t sb_s16_packed_count(const sb_window *g, int32_t m) {
    const size_t blocks = (size_t)(m + MR - 1) / MR;
    return blocks * (size_t)g->channels * (size_t)g->k_h * (size_t)pairs_of(g) * MR * 2;
}

void sb_s16_pack_weights(const int16_t *wq, const sb_window *g, int32_t m, int16_t *dst) {
    const int32_t pairs = pairs_of(g), kw = g->k_w, taps = g->channels * g->k_h * kw;
    size_t at = 0;
    for (int32_t b = 0; b < (m + MR - 1) / MR; b++)
        for (int32_t c = 0; c < g->channels; c++)
            for (int32_t ky = 0; ky < g->k_h; ky++)
                for (int32_t p = 0; p < pairs; p++)
                    for (int32_t r = 0; r < MR; r++)
                        for (int32_t t = 0; t < 2; t++, at++) {
                            const int32_t row = b * MR + r, kx = 2 * p + t;
                            dst[at] = row < m && kx < kw ? wq[(size_t)row * taps + ((size_t)c * g->k_h + ky) * kw + kx] : 0;
                        }
}

size_t sb_s16_planes_bytes(const sb_window *g) {
    return (size_t)g->channels * plane_rows(g) * row_len(g) * sizeof(int16_t);
}


// MARK: Image codes.

static float absmax_portable(const float *x, size_t count) {
    float top = 0.0f;
    for (size_t i = 0; i < count; i++) { const float a = fabsf(x[i]); top = a > top ? a : top; }
    return top;
}

static float scale_of(float top) { return top > 0.0f && isfinite(top) ? top / (float)XQ_MAX : 1.0f; }

#if defined(__x86_64__)
__attribute__((target("avx512f")))
static float absmax_avx512(const float *x, size_t count) {
    // max_ps(a, m) is a > m ? a : m, the portable loop's choice (NaN never wins); max is exact,
    // so the order of the lanes does not matter.
    __m512 top = _mm512_setzero_ps();
    for (size_t i = 0; i < count; i += 16) {
        const __mmask16 k = count - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (count - i)) - 1);
        top = _mm512_max_ps(_mm512_abs_ps(_mm512_maskz_loadu_ps(k, x + i)), top);
    }
    return _mm512_reduce_max_ps(top);
}

__attribute__((target("avx512f")))
static void codes_avx512(const float *x, int16_t *dst, int32_t n, float sa) {
    const __m512 s = _mm512_set1_ps(sa), lo = _mm512_set1_ps(-(float)XQ_MAX), hi = _mm512_set1_ps((float)XQ_MAX);
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    for (int32_t i = 0; i < n; i += 16) {
        const __mmask16 k = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 v = _mm512_div_ps(_mm512_maskz_loadu_ps(k, x + i), s);
        v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);   // as code(): NaN becomes -limit
        v = _mm512_sub_ps(_mm512_add_ps(v, magic), magic);
        _mm512_mask_cvtepi32_storeu_epi16(dst + i, k, _mm512_cvttps_epi32(v));
    }
}
#endif

/// Writes every padded plane: codes of the image, zeros around it.
static void fill_planes(const sb_window *g, const float *input, int16_t *planes, float sa, int32_t fast) {
    const size_t len = row_len(g), rows = plane_rows(g);
    for (int32_t c = 0; c < g->channels; c++)
        for (size_t r = 0; r < rows; r++) {
            int16_t *dst = planes + ((size_t)c * rows + r) * len;
            const int64_t iy = (int64_t)r - g->pad_top;
            if (iy < 0 || iy >= g->in_h) { memset(dst, 0, len * sizeof *dst); continue; }
            memset(dst, 0, (size_t)g->pad_left * sizeof *dst);
            const float *src = input + ((size_t)c * g->in_h + (size_t)iy) * g->in_w;
            int16_t *codes = dst + g->pad_left;
#if defined(__x86_64__)
            if (fast) codes_avx512(src, codes, g->in_w, sa);
            else
#endif
            for (int32_t x = 0; x < g->in_w; x++) codes[x] = code(src[x] / sa, (float)XQ_MAX);
            (void)fast;
            const size_t end = (size_t)g->pad_left + (size_t)g->in_w;
            memset(dst + end, 0, (len - end) * sizeof *dst);
        }
}

// MARK: Tiles.

typedef struct {
    const sb_s16_conv_plan *plan;
    const int16_t *planes;
    uint8_t *output;
    const float *scale;       // sa * ws[m]
    float out_scale, fzp;
    size_t row_len, rows, block_stride;
    int32_t fast;
} s16_job;

static inline float bias_of(const s16_job *job, int32_t m) { return job->plan->bias ? job->plan->bias[m] : 0.0f; }

/// Output rows [mb * MR, +MR) of output row `oy`, columns [ox0, ox0 + cols), cols <= NR.
static void tile_portable(const s16_job *job, int32_t mb, int32_t oy, int32_t ox0, int32_t cols) {
    const sb_s16_conv_plan *p = job->plan;
    const sb_window *g = &p->window;
    const int32_t pairs = pairs_of(g);
    const int16_t *w = p->weights + (size_t)mb * job->block_stride;
    const int16_t *base = job->planes + (size_t)g->stride_h * oy * job->row_len + 2 * (size_t)ox0;
    int32_t acc[MR][NR];
    memset(acc, 0, sizeof acc);
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            const int16_t *row = base + ((size_t)c * job->rows + ky) * job->row_len;
            for (int32_t q = 0; q < pairs; q++, w += MR * 2)
                for (int32_t r = 0; r < MR; r++)
                    for (int32_t j = 0; j < cols; j++)
                        acc[r][j] += (int32_t)w[2 * r] * row[2 * j + 2 * q] + (int32_t)w[2 * r + 1] * row[2 * j + 2 * q + 1];
        }
    const size_t plane = (size_t)g->out_h * g->out_w;
    for (int32_t r = 0; r < MR; r++) {
        const int32_t m = mb * MR + r;
        if (m >= p->out_channels) break;
        uint8_t *out = job->output + (size_t)m * plane + (size_t)oy * g->out_w + ox0;
        for (int32_t j = 0; j < cols; j++) {
            float v = (float)acc[r][j] * job->scale[m];
            v = v + bias_of(job, m);
            out[j] = sb_quantize_u8_one(v, job->out_scale, job->fzp, p->relu);
        }
    }
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline))
static inline void tile_body(const s16_job *job, int32_t mb, int32_t oy, int32_t ox0, int32_t cols, const int two) {
    const sb_s16_conv_plan *p = job->plan;
    const sb_window *g = &p->window;
    const int32_t pairs = pairs_of(g);
    const int16_t *w = p->weights + (size_t)mb * job->block_stride;
    const int16_t *base = job->planes + (size_t)g->stride_h * oy * job->row_len + 2 * (size_t)ox0;
    __m512i c[MR][2];
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm512_setzero_si512();
    for (int32_t ch = 0; ch < g->channels; ch++)
        for (int32_t ky = 0; ky < g->k_h; ky++) {
            const int16_t *row = base + ((size_t)ch * job->rows + ky) * job->row_len;
            for (int32_t q = 0; q < pairs; q++, w += MR * 2) {
                const __m512i b0 = _mm512_loadu_si512(row + 2 * q);
                const __m512i b1 = two ? _mm512_loadu_si512(row + 2 * q + 32) : _mm512_setzero_si512();
#pragma GCC unroll 8
                for (int r = 0; r < MR; r++) {
                    int32_t pair;
                    memcpy(&pair, w + 2 * r, 4);
                    const __m512i a = _mm512_set1_epi32(pair);
                    c[r][0] = _mm512_dpwssd_epi32(c[r][0], b0, a);
                    if (two) c[r][1] = _mm512_dpwssd_epi32(c[r][1], b1, a);
                }
            }
        }
    // The epilogue of sb_quantize_u8_one, lane by lane (sb_bias_act_quantize_u8_avx512's steps).
    const __m512 zero = _mm512_setzero_ps(), lo = _mm512_set1_ps(-512.0f), hi = _mm512_set1_ps(512.0f);
    const __m512 magic = _mm512_set1_ps(12582912.0f), fzp = _mm512_set1_ps(job->fzp);
    const __m512 qmax = _mm512_set1_ps(255.0f), os = _mm512_set1_ps(job->out_scale);
    const size_t plane = (size_t)g->out_h * g->out_w;
#pragma GCC unroll 8
    for (int r = 0; r < MR; r++) {
        const int32_t m = mb * MR + r;
        if (m >= p->out_channels) break;
        uint8_t *out = job->output + (size_t)m * plane + (size_t)oy * g->out_w + ox0;
        const __m512 s = _mm512_set1_ps(job->scale[m]), b = _mm512_set1_ps(bias_of(job, m));
        for (int h = 0; h < 1 + two; h++) {
            const int32_t n = cols - 16 * h;
            if (n <= 0) break;
            const __mmask16 k = n >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << n) - 1);
            __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(c[r][h]), s);
            v = _mm512_add_ps(v, b);
            if (p->relu) v = _mm512_max_ps(v, zero);
            v = _mm512_div_ps(v, os);
            v = _mm512_min_ps(_mm512_max_ps(v, lo), hi);
            v = _mm512_add_ps(_mm512_sub_ps(_mm512_add_ps(v, magic), magic), fzp);
            v = _mm512_min_ps(_mm512_max_ps(v, zero), qmax);
            _mm512_mask_cvtepi32_storeu_epi8(out + 16 * h, k, _mm512_cvttps_epi32(v));
        }
    }
}

__attribute__((target("avx512f,avx512bw,avx512vnni")))
static void tile_avx512(const s16_job *job, int32_t mb, int32_t oy, int32_t ox0, int32_t cols) {
    if (cols > 16) tile_body(job, mb, oy, ox0, cols, 1);
    else tile_body(job, mb, oy, ox0, cols, 0);
}
#endif

static void conv_task(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)thread;
    const s16_job *job = raw;
    const sb_window *g = &job->plan->window;
    int32_t y0, y1;
    sb_split_range(g->out_h, chunk, chunks, 1, &y0, &y1);
    const int32_t blocks = (job->plan->out_channels + MR - 1) / MR;
    for (int32_t oy = y0; oy < y1; oy++)
        for (int32_t mb = 0; mb < blocks; mb++)
            for (int32_t ox0 = 0; ox0 < g->out_w; ox0 += NR) {
                const int32_t cols = g->out_w - ox0 < NR ? g->out_w - ox0 : NR;
#if defined(__x86_64__)
                if (job->fast) { tile_avx512(job, mb, oy, ox0, cols); continue; }
#endif
                tile_portable(job, mb, oy, ox0, cols);
            }
}

static void conv_u8(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                    float out_scale, int32_t out_zp, sb_pool *pool, int32_t fast) {
    const sb_window *g = &plan->window;
    const size_t count = (size_t)g->channels * g->in_h * g->in_w;
    float top;
#if defined(__x86_64__)
    if (fast) top = absmax_avx512(input, count);
    else
#endif
    top = absmax_portable(input, count);
    const float sa = scale_of(top);
    fill_planes(g, input, planes, sa, fast);
    float scale[SB_S16_MAX_CHANNELS];
    for (int32_t m = 0; m < plan->out_channels; m++) scale[m] = sa * plan->weight_scale[m];
    s16_job job = {
        .plan = plan, .planes = planes, .output = output, .scale = scale, .out_scale = out_scale,
        .fzp = (float)out_zp, .row_len = row_len(g), .rows = plane_rows(g),
        .block_stride = (size_t)g->channels * g->k_h * pairs_of(g) * MR * 2, .fast = fast,
    };
    sb_pool_run_chunks(pool, conv_task, &job, sb_pool_chunks(pool, g->out_h, 4));
}

void sb_s16_conv_u8(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                    float out_scale, int32_t out_zp, sb_pool *pool) {
    conv_u8(plan, input, planes, output, out_scale, out_zp, pool, have_vnni());
}

void sb_s16_conv_u8_portable(const sb_s16_conv_plan *plan, const float *input, int16_t *planes, uint8_t *output,
                             float out_scale, int32_t out_zp, sb_pool *pool) {
    conv_u8(plan, input, planes, output, out_scale, out_zp, pool, 0);
}

// MARK: Reference twin.

void sb_s16_conv_u8_ref(const sb_window *g, int32_t m, const int16_t *wq, const float *ws, const float *bias,
                        int32_t relu, const float *input, float out_scale, int32_t out_zp, uint8_t *output) {
    const float sa = scale_of(absmax_portable(input, (size_t)g->channels * g->in_h * g->in_w));
    const int32_t taps = g->channels * g->k_h * g->k_w;
    for (int32_t o = 0; o < m; o++) {
        const float s = sa * ws[o];
        for (int32_t oy = 0; oy < g->out_h; oy++)
            for (int32_t ox = 0; ox < g->out_w; ox++) {
                int32_t acc = 0;
                for (int32_t c = 0; c < g->channels; c++)
                    for (int32_t ky = 0; ky < g->k_h; ky++)
                        for (int32_t kx = 0; kx < g->k_w; kx++) {
                            const int32_t iy = oy * g->stride_h - g->pad_top + ky, ix = ox * g->stride_w - g->pad_left + kx;
                            if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                            const float x = input[((size_t)c * g->in_h + iy) * g->in_w + ix];
                            acc += (int32_t)wq[(size_t)o * taps + ((size_t)c * g->k_h + ky) * g->k_w + kx] *
                                   code(x / sa, (float)XQ_MAX);
                        }
                float v = (float)acc * s;
                v = v + (bias ? bias[o] : 0.0f);
                output[((size_t)o * g->out_h + oy) * g->out_w + ox] = sb_quantize_u8_one(v, out_scale, (float)out_zp, relu);
            }
    }
}
