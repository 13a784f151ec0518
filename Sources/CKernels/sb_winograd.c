// Winograd F(4x4, 3x3) convolution (see sb_winograd.h). The fast transforms apply the 1-D
// transforms with their constants unrolled, first down the columns of a tile and then along its
// rows; the reference twins multiply by the explicit matrices.
#include "sb_winograd.h"
#include <string.h>

int32_t sb_winograd_tiles_h(const sb_window *g) { return (g->out_h + SB_WINO_OUT - 1) / SB_WINO_OUT; }
int32_t sb_winograd_tiles_w(const sb_window *g) { return (g->out_w + SB_WINO_OUT - 1) / SB_WINO_OUT; }

size_t sb_winograd_scratch_floats(const sb_window *g, int32_t out_channels) {
    const size_t tiles = (size_t)sb_winograd_tiles_h(g) * (size_t)sb_winograd_tiles_w(g);
    return 36 * tiles * ((size_t)g->channels + (size_t)out_channels);
}

// MARK: - Weights: U = G g Gᵀ

// G is 6x3: rows (1/4, 0, 0), (-1/6, -1/6, -1/6), (-1/6, 1/6, -1/6), (1/24, 1/12, 1/6),
// (1/24, -1/12, 1/6), (0, 0, 1).
static const float wino_g[6][3] = {
    { 1.0f / 4, 0, 0 },
    { -1.0f / 6, -1.0f / 6, -1.0f / 6 },
    { -1.0f / 6, 1.0f / 6, -1.0f / 6 },
    { 1.0f / 24, 1.0f / 12, 1.0f / 6 },
    { 1.0f / 24, -1.0f / 12, 1.0f / 6 },
    { 0, 0, 1 },
};

static inline void g_1d(float x0, float x1, float x2, float *r, int32_t step) {
    const float even = x0 + x2;
    r[0 * step] = x0 * 0.25f;
    r[1 * step] = -(even + x1) * (1.0f / 6);
    r[2 * step] = -(even - x1) * (1.0f / 6);
    const float a = x0 * (1.0f / 24) + x2 * (1.0f / 6), b = x1 * (1.0f / 12);
    r[3 * step] = a + b;
    r[4 * step] = a - b;
    r[5 * step] = x2;
}

void sb_winograd_weights(const float *g, float *u, int32_t out_channels, int32_t channels) {
    const size_t stride = (size_t)out_channels * channels;   // between consecutive ξ
    for (int32_t o = 0; o < out_channels; o++) {
        for (int32_t c = 0; c < channels; c++) {
            const float *k = g + ((size_t)o * channels + c) * 9;
            float t[6][3], r[6][6];
            for (int l = 0; l < 3; l++) g_1d(k[l], k[3 + l], k[6 + l], &t[0][l], 3);    // G g
            for (int i = 0; i < 6; i++) g_1d(t[i][0], t[i][1], t[i][2], r[i], 1);       // (G g) Gᵀ
            float *dst = u + (size_t)o * channels + c;
            for (int x = 0; x < 36; x++) dst[x * stride] = r[x / 6][x % 6];
        }
    }
}

void sb_winograd_weights_ref(const float *g, float *u, int32_t out_channels, int32_t channels) {
    const size_t stride = (size_t)out_channels * channels;
    for (int32_t o = 0; o < out_channels; o++) {
        for (int32_t c = 0; c < channels; c++) {
            const float *k = g + ((size_t)o * channels + c) * 9;
            float t[6][3];
            for (int i = 0; i < 6; i++)
                for (int l = 0; l < 3; l++) {
                    float s = 0;
                    for (int p = 0; p < 3; p++) s += wino_g[i][p] * k[p * 3 + l];
                    t[i][l] = s;
                }
            for (int i = 0; i < 6; i++)
                for (int j = 0; j < 6; j++) {
                    float s = 0;
                    for (int l = 0; l < 3; l++) s += t[i][l] * wino_g[j][l];
                    u[(size_t)(i * 6 + j) * stride + (size_t)o * channels + c] = s;
                }
        }
    }
}

// MARK: - Input: V = Bᵀ d B

static const float wino_bt[6][6] = {
    { 4, 0, -5, 0, 1, 0 },
    { 0, -4, -4, 1, 1, 0 },
    { 0, 4, -4, -1, 1, 0 },
    { 0, -2, -1, 2, 1, 0 },
    { 0, 2, -1, -2, 1, 0 },
    { 0, 4, 0, -5, 0, 1 },
};

// The fast transforms work on one band of tiles (one tile row, up to SB_WINO_CHUNK tiles wide)
// at a time, with every inner loop running across the tiles of the band so the compiler can
// vectorise it; the 1-D transforms' results for one tile are SB_WINO_CHUNK floats apart.
#define SB_WINO_CHUNK 64

/// The input transform of the tile rows [ty0, ty1) of the input channels [c0, c1).
static void input_rows(const float *src, float *v, const sb_window *g, int32_t c0, int32_t c1, int32_t ty0, int32_t ty1) {
    const int32_t th = sb_winograd_tiles_h(g), tw = sb_winograd_tiles_w(g);
    const size_t tiles = (size_t)th * tw, plane = (size_t)g->in_h * g->in_w;
    const size_t stride = (size_t)g->channels * tiles;   // between consecutive ξ
    float band[6][SB_WINO_CHUNK * 4 + 2];   // the 6 input rows under the band, zero-padded
    float t[6][SB_WINO_CHUNK * 4 + 2];      // Bᵀ d down each column of the band
    for (int32_t c = c0; c < c1; c++) {
        const float *in = src + (size_t)c * plane;
        for (int32_t ty = ty0; ty < ty1; ty++) {
            const int32_t y0 = ty * 4 - g->pad_top;
            for (int32_t tx0 = 0; tx0 < tw; tx0 += SB_WINO_CHUNK) {
                const int32_t n = tw - tx0 < SB_WINO_CHUNK ? tw - tx0 : SB_WINO_CHUNK;
                const int32_t x0 = tx0 * 4 - g->pad_left, width = n * 4 + 2;
                // Columns [lo, hi) of the band lie inside the input.
                int32_t lo = -x0 > 0 ? -x0 : 0, hi = g->in_w - x0 < width ? g->in_w - x0 : width;
                if (hi < lo) hi = lo;
                for (int k = 0; k < 6; k++) {
                    const int32_t y = y0 + k;
                    float *row = band[k];
                    if (y < 0 || y >= g->in_h) { memset(row, 0, (size_t)width * sizeof(float)); continue; }
                    for (int32_t x = 0; x < lo; x++) row[x] = 0.0f;
                    memcpy(row + lo, in + (size_t)y * g->in_w + x0 + lo, (size_t)(hi - lo) * sizeof(float));
                    for (int32_t x = hi; x < width; x++) row[x] = 0.0f;
                }
                for (int32_t x = 0; x < width; x++) {
                    const float d0 = band[0][x], d1 = band[1][x], d2 = band[2][x], d3 = band[3][x],
                                d4 = band[4][x], d5 = band[5][x];
                    const float a = d4 - 4.0f * d2, b = d3 - 4.0f * d1, e = d4 - d2, f = 2.0f * (d3 - d1);
                    t[0][x] = 4.0f * d0 - 5.0f * d2 + d4;
                    t[1][x] = a + b;
                    t[2][x] = a - b;
                    t[3][x] = e + f;
                    t[4][x] = e - f;
                    t[5][x] = 4.0f * d1 - 5.0f * d3 + d5;
                }
                float *out = v + (size_t)c * tiles + (size_t)ty * tw + tx0;
                for (int i = 0; i < 6; i++) {
                    const float *r = t[i];
                    float *o0 = out + (size_t)(i * 6 + 0) * stride, *o1 = out + (size_t)(i * 6 + 1) * stride,
                          *o2 = out + (size_t)(i * 6 + 2) * stride, *o3 = out + (size_t)(i * 6 + 3) * stride,
                          *o4 = out + (size_t)(i * 6 + 4) * stride, *o5 = out + (size_t)(i * 6 + 5) * stride;
                    for (int32_t j = 0; j < n; j++) {
                        const float *x = r + 4 * j;
                        const float a = x[4] - 4.0f * x[2], b = x[3] - 4.0f * x[1], e = x[4] - x[2], f = 2.0f * (x[3] - x[1]);
                        o0[j] = 4.0f * x[0] - 5.0f * x[2] + x[4];
                        o1[j] = a + b;
                        o2[j] = a - b;
                        o3[j] = e + f;
                        o4[j] = e - f;
                        o5[j] = 4.0f * x[1] - 5.0f * x[3] + x[5];
                    }
                }
            }
        }
    }
}

void sb_winograd_input(const float *src, float *v, const sb_window *g, int32_t c0, int32_t c1) {
    input_rows(src, v, g, c0, c1, 0, sb_winograd_tiles_h(g));
}

void sb_winograd_input_ref(const float *src, float *v, const sb_window *g, int32_t c0, int32_t c1) {
    const int32_t th = sb_winograd_tiles_h(g), tw = sb_winograd_tiles_w(g);
    const size_t tiles = (size_t)th * tw, plane = (size_t)g->in_h * g->in_w;
    for (int32_t c = c0; c < c1; c++) {
        for (int32_t ty = 0; ty < th; ty++) {
            for (int32_t tx = 0; tx < tw; tx++) {
                float d[6][6], t[6][6];
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        const int32_t y = ty * 4 - g->pad_top + i, x = tx * 4 - g->pad_left + j;
                        d[i][j] = (y >= 0 && y < g->in_h && x >= 0 && x < g->in_w)
                            ? src[(size_t)c * plane + (size_t)y * g->in_w + x] : 0.0f;
                    }
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        float s = 0;
                        for (int k = 0; k < 6; k++) s += wino_bt[i][k] * d[k][j];
                        t[i][j] = s;
                    }
                for (int i = 0; i < 6; i++)
                    for (int j = 0; j < 6; j++) {
                        float s = 0;
                        for (int k = 0; k < 6; k++) s += t[i][k] * wino_bt[j][k];
                        v[((size_t)(i * 6 + j) * g->channels + c) * tiles + (size_t)ty * tw + tx] = s;
                    }
            }
        }
    }
}

// MARK: - Output: Y = Aᵀ M A, then the epilogue

static const float wino_at[4][6] = {
    { 1, 1, 1, 1, 1, 0 },
    { 0, 1, -1, 2, -2, 0 },
    { 0, 1, 1, 4, 4, 0 },
    { 0, 1, -1, 8, -8, 1 },
};

/// The output transform and epilogue of the tile rows [ty0, ty1) of the output channels [o0, o1).
static void output_rows(const float *m, float *dst, const sb_window *g, int32_t out_channels, int32_t o0, int32_t o1,
                        int32_t ty0, int32_t ty1, const float *bias, const float *residual, int32_t relu) {
    const int32_t th = sb_winograd_tiles_h(g), tw = sb_winograd_tiles_w(g);
    const size_t tiles = (size_t)th * tw, plane = (size_t)g->out_h * g->out_w;
    const size_t stride = (size_t)out_channels * tiles;
    float t[4][6][SB_WINO_CHUNK];       // Aᵀ M down each column of every tile of the band
    float rows[4][SB_WINO_CHUNK * 4];   // the band's 4 output rows
    for (int32_t o = o0; o < o1; o++) {
        const float *in = m + (size_t)o * tiles;
        float *out = dst + (size_t)o * plane;
        const float *res = residual ? residual + (size_t)o * plane : NULL;
        const float b = bias ? bias[o] : 0.0f;
        for (int32_t ty = ty0; ty < ty1; ty++) {
            const int32_t valid_rows = g->out_h - ty * 4 < 4 ? g->out_h - ty * 4 : 4;
            for (int32_t tx0 = 0; tx0 < tw; tx0 += SB_WINO_CHUNK) {
                const int32_t n = tw - tx0 < SB_WINO_CHUNK ? tw - tx0 : SB_WINO_CHUNK;
                const float *src = in + (size_t)ty * tw + tx0;
                for (int l = 0; l < 6; l++) {
                    const float *m0 = src + (size_t)(0 * 6 + l) * stride, *m1 = src + (size_t)(1 * 6 + l) * stride,
                                *m2 = src + (size_t)(2 * 6 + l) * stride, *m3 = src + (size_t)(3 * 6 + l) * stride,
                                *m4 = src + (size_t)(4 * 6 + l) * stride, *m5 = src + (size_t)(5 * 6 + l) * stride;
                    for (int32_t j = 0; j < n; j++) {
                        const float s12 = m1[j] + m2[j], d12 = m1[j] - m2[j], s34 = m3[j] + m4[j], d34 = m3[j] - m4[j];
                        t[0][l][j] = m0[j] + s12 + s34;
                        t[1][l][j] = d12 + 2.0f * d34;
                        t[2][l][j] = s12 + 4.0f * s34;
                        t[3][l][j] = d12 + 8.0f * d34 + m5[j];
                    }
                }
                for (int i = 0; i < 4; i++) {
                    float *row = rows[i];
                    const float *x0 = t[i][0], *x1 = t[i][1], *x2 = t[i][2], *x3 = t[i][3], *x4 = t[i][4], *x5 = t[i][5];
                    for (int32_t j = 0; j < n; j++) {
                        const float s12 = x1[j] + x2[j], d12 = x1[j] - x2[j], s34 = x3[j] + x4[j], d34 = x3[j] - x4[j];
                        row[4 * j + 0] = x0[j] + s12 + s34;
                        row[4 * j + 1] = d12 + 2.0f * d34;
                        row[4 * j + 2] = s12 + 4.0f * s34;
                        row[4 * j + 3] = d12 + 8.0f * d34 + x5[j];
                    }
                }
                const int32_t x0 = tx0 * 4, cols = g->out_w - x0 < n * 4 ? g->out_w - x0 : n * 4;
                for (int i = 0; i < valid_rows; i++) {
                    const size_t at = (size_t)(ty * 4 + i) * g->out_w + x0;
                    float *d = out + at;
                    const float *row = rows[i];
                    if (res) {
                        const float *r = res + at;
                        if (relu) for (int32_t x = 0; x < cols; x++) { float y = row[x] + b + r[x]; d[x] = y > 0.0f ? y : 0.0f; }
                        else      for (int32_t x = 0; x < cols; x++) d[x] = row[x] + b + r[x];
                    } else {
                        if (relu) for (int32_t x = 0; x < cols; x++) { float y = row[x] + b; d[x] = y > 0.0f ? y : 0.0f; }
                        else      for (int32_t x = 0; x < cols; x++) d[x] = row[x] + b;
                    }
                }
            }
        }
    }
}

void sb_winograd_output(const float *m, float *dst, const sb_window *g, int32_t out_channels,
                        int32_t o0, int32_t o1, const float *bias, const float *residual, int32_t relu) {
    output_rows(m, dst, g, out_channels, o0, o1, 0, sb_winograd_tiles_h(g), bias, residual, relu);
}

void sb_winograd_output_ref(const float *m, float *dst, const sb_window *g, int32_t out_channels,
                            int32_t o0, int32_t o1, const float *bias, const float *residual, int32_t relu) {
    const int32_t th = sb_winograd_tiles_h(g), tw = sb_winograd_tiles_w(g);
    const size_t tiles = (size_t)th * tw, plane = (size_t)g->out_h * g->out_w;
    for (int32_t o = o0; o < o1; o++) {
        for (int32_t ty = 0; ty < th; ty++) {
            for (int32_t tx = 0; tx < tw; tx++) {
                const size_t t = (size_t)ty * tw + tx;
                float t1[4][6];
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 6; j++) {
                        float s = 0;
                        for (int k = 0; k < 6; k++) s += wino_at[i][k] * m[((size_t)(k * 6 + j) * out_channels + o) * tiles + t];
                        t1[i][j] = s;
                    }
                for (int i = 0; i < 4; i++)
                    for (int j = 0; j < 4; j++) {
                        const int32_t y = ty * 4 + i, x = tx * 4 + j;
                        if (y >= g->out_h || x >= g->out_w) continue;
                        float s = 0;
                        for (int k = 0; k < 6; k++) s += t1[i][k] * wino_at[j][k];
                        const size_t at = (size_t)o * plane + (size_t)y * g->out_w + x;
                        s += (bias ? bias[o] : 0.0f) + (residual ? residual[at] : 0.0f);
                        dst[at] = relu ? (s > 0.0f ? s : 0.0f) : s;
                    }
            }
        }
    }
}

// MARK: - Driver

typedef struct {
    const sb_winograd_plan *plan;
    const float *input, *residual;
    float *output, *v, *m;
    sb_gemm_fn gemm;
    const float *packed;   // non-NULL: U packed for sb_sgemm, `packed_stride` floats per ξ
    size_t packed_stride;
    int32_t kernel;
    int32_t tiles;
    int32_t band;              // tile rows per chunk
} sb_wino_job;

/// The tile rows [ty0, ty1) through all three steps. The threads share no intermediate result
/// (each writes its own columns of V and M), so one pool run suffices.
static void tile_rows(sb_wino_job *job, int32_t ty0, int32_t ty1) {
    const sb_winograd_plan *p = job->plan;
    const sb_window *g = &p->window;
    const int32_t cin = g->channels, cout = p->out_channels, tiles = job->tiles, tw = sb_winograd_tiles_w(g);
    const int32_t t0 = ty0 * tw, n = (ty1 - ty0) * tw;
    input_rows(job->input, job->v, g, 0, cin, ty0, ty1);
    for (int32_t x = 0; x < 36; x++) {
        const float *v = job->v + (size_t)x * cin * tiles + t0;
        float *m = job->m + (size_t)x * cout * tiles + t0;
        if (job->packed)
            sb_sgemm(job->kernel, cout, n, cin, job->packed + (size_t)x * job->packed_stride, v, tiles, m, tiles,
                     NULL, NULL, 0);
        else
            job->gemm(cout, n, cin, p->weights + (size_t)x * cout * cin, cin, v, tiles, m, tiles);
    }
    output_rows(job->m, job->output, g, cout, 0, cout, ty0, ty1, p->bias, job->residual, p->relu);
}

/// One chunk: a band of `band` tile rows. The pool's threads claim the bands from a shared
/// counter, so a thread the OS deschedules delays the layer by one band at most.
static void tile_rows_task(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)chunks; (void)thread;
    sb_wino_job *job = raw;
    const int32_t th = sb_winograd_tiles_h(&job->plan->window), ty0 = chunk * job->band;
    if (ty0 < th) tile_rows(job, ty0, ty0 + job->band < th ? ty0 + job->band : th);
}

static int32_t bands(sb_wino_job *job) {
    const int32_t th = sb_winograd_tiles_h(&job->plan->window);
    return (th + job->band - 1) / job->band;
}

void sb_winograd_conv2d(const sb_winograd_plan *plan, const float *input, const float *residual,
                        float *output, float *scratch, sb_pool *pool, sb_gemm_fn gemm) {
    const int32_t tiles = sb_winograd_tiles_h(&plan->window) * sb_winograd_tiles_w(&plan->window);
    sb_wino_job job = {
        .plan = plan, .input = input, .residual = residual, .output = output,
        .v = scratch, .m = scratch + (size_t)36 * plan->window.channels * tiles,
        .gemm = gemm, .tiles = tiles,
    };
    // One band per thread (each band streams all of U once more); whichever thread is free
    // runs the band of one that has not started.
    const int32_t threads = sb_pool_size(pool), th = sb_winograd_tiles_h(&plan->window);
    job.band = (th + threads - 1) / threads;
    sb_pool_run_chunks(pool, tile_rows_task, &job, bands(&job));
}

size_t sb_winograd_packed_floats(int32_t kernel, int32_t out_channels, int32_t channels) {
    return 36 * sb_sgemm_packed_floats(kernel, out_channels, channels);
}

void sb_winograd_pack(int32_t kernel, const float *u, float *packed, int32_t out_channels, int32_t channels) {
    const size_t stride = sb_sgemm_packed_floats(kernel, out_channels, channels);
    for (int32_t x = 0; x < 36; x++)
        sb_sgemm_pack_a(kernel, u + (size_t)x * out_channels * channels, out_channels, channels, channels,
                        packed + (size_t)x * stride);
}

void sb_winograd_conv2d_sgemm(const sb_winograd_plan *plan, const float *packed, int32_t kernel,
                              const float *input, const float *residual, float *output, float *scratch,
                              sb_pool *pool) {
    const int32_t tiles = sb_winograd_tiles_h(&plan->window) * sb_winograd_tiles_w(&plan->window);
    sb_wino_job job = {
        .plan = plan, .input = input, .residual = residual, .output = output,
        .v = scratch, .m = scratch + (size_t)36 * plan->window.channels * tiles,
        .packed = packed, .packed_stride = sb_sgemm_packed_floats(kernel, plan->out_channels, plan->window.channels),
        .kernel = kernel, .tiles = tiles,
    };
    // Two bands per thread when threaded (each band streams all of U once more, so no finer),
    // each at least one panel (NR tiles) wide: a thread the OS deschedules holds up a quarter
    // of the layer at most, and a thread that finishes early takes the bands of one that has
    // not started. One band on one thread.
    const int32_t threads = sb_pool_size(pool), th = sb_winograd_tiles_h(&plan->window);
    const int32_t tw = sb_winograd_tiles_w(&plan->window), per = threads > 1 ? 2 : 1;
    int32_t band = (th + threads * per - 1) / (threads * per);
    const int32_t nr = sb_sgemm_block_n(kernel), panel = (nr + tw - 1) / tw;
    job.band = band > panel ? band : panel;
    sb_pool_run_chunks(pool, tile_rows_task, &job, bands(&job));
}
