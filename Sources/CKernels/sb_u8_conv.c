// uint8 activation kernels and the multi-threaded int8 convolution driver (sb_q8_conv.h).
#include "sb_q8_conv.h"
#include "sb_conv_internal.h"
#include "sb_u8_quant.h"
#include <stdatomic.h>
#include <string.h>

// MARK: im2col on uint8.

static void im2col_u8_rows(const uint8_t *restrict src, uint8_t *restrict dst, const sb_window *g,
                           uint8_t pad, int32_t c0, int32_t c1) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    const int32_t sh = g->stride_h, sw = g->stride_w;
    const size_t cols = (size_t)oh * ow;
    for (int32_t c = c0; c < c1; c++) {
        const uint8_t *plane = src + (size_t)c * ih * iw;
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++) {
                uint8_t *row = dst + (((size_t)c * g->k_h + ky) * g->k_w + kx) * cols;
                // Output columns whose input x is inside [0, iw): ox in [x_lo, x_hi).
                const int32_t off = kx - g->pad_left;
                int32_t x_lo = off >= 0 ? 0 : (-off + sw - 1) / sw;
                int32_t x_hi = iw - off <= 0 ? 0 : (iw - off + sw - 1) / sw;
                if (x_hi > ow) x_hi = ow;
                if (x_lo > x_hi) x_lo = x_hi;
                if (sw == 1 && sh == 1 && ow == iw) {
                    // Stride 1, same width: the valid output rows are one shifted copy of the
                    // input rows; then the few columns outside the input are set to padding.
                    int32_t y_lo = g->pad_top - ky, y_hi = ih + g->pad_top - ky;
                    y_lo = y_lo < 0 ? 0 : y_lo > oh ? oh : y_lo;
                    y_hi = y_hi > oh ? oh : y_hi < y_lo ? y_lo : y_hi;
                    if (y_lo > 0) memset(row, pad, (size_t)y_lo * ow);
                    if (y_hi > y_lo) {
                        const size_t first = (size_t)y_lo * ow + (size_t)x_lo;
                        const size_t last = (size_t)(y_hi - 1) * ow + (size_t)x_hi;   // exclusive
                        // Output index d reads input index d + (ky - pad_top) * iw + off (>= 0 here).
                        const ptrdiff_t shift = (ptrdiff_t)(ky - g->pad_top) * iw + off;
                        if (x_hi > x_lo) memcpy(row + first, plane + ((ptrdiff_t)first + shift), last - first);
                        for (int32_t oy = y_lo; oy < y_hi; oy++) {
                            uint8_t *out = row + (size_t)oy * ow;
                            for (int32_t ox = 0; ox < x_lo; ox++) out[ox] = pad;
                            for (int32_t ox = x_hi; ox < ow; ox++) out[ox] = pad;
                        }
                    }
                    if (y_hi < oh) memset(row + (size_t)y_hi * ow, pad, (size_t)(oh - y_hi) * ow);
                    continue;
                }
                for (int32_t oy = 0; oy < oh; oy++) {
                    uint8_t *out = row + (size_t)oy * ow;
                    const int32_t iy = oy * sh - g->pad_top + ky;
                    if (iy < 0 || iy >= ih) { memset(out, pad, (size_t)ow); continue; }
                    const uint8_t *in = plane + (size_t)iy * iw + off;
                    if (x_lo > 0) memset(out, pad, (size_t)x_lo);
                    if (sw == 1) memcpy(out + x_lo, in + x_lo, (size_t)(x_hi - x_lo));
                    else if (sw == 2) for (int32_t ox = x_lo; ox < x_hi; ox++) out[ox] = in[2 * ox];
                    else for (int32_t ox = x_lo; ox < x_hi; ox++) out[ox] = in[(size_t)ox * sw];
                    if (x_hi < ow) memset(out + x_hi, pad, (size_t)(ow - x_hi));
                }
            }
    }
}

void sb_im2col_u8(const uint8_t *src, uint8_t *dst, const sb_window *g, uint8_t pad_value) {
    im2col_u8_rows(src, dst, g, pad_value, 0, g->channels);
}

// MARK: Pooling, quantisation, padding.

// Separable: for each output row, the max over the window's valid input rows (a contiguous,
// vectorisable pass) into a row buffer, then the max over each window's valid columns of it.
// Both passes skip padding exactly as the reference does, so the result is identical.
//
// The 3-wide, stride-2 window (ResNet's stem) has its own row pass: the column maxima sit in a
// buffer with zeros for the padding (no uint8 code is below 0, so a zero never changes a max of
// real values), and output ox = max(buf[2 ox], buf[2 ox + 1], buf[2 ox + 2]) (AVX-512 BW: 32 at
// once, as the bytes of two loads of 16-bit words). Same result as the general pass.
static void maxpool_u8_k3s2(const uint8_t *restrict src, uint8_t *restrict dst, const sb_window *g,
                            int32_t c0, int32_t c1) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    uint8_t buf[4096 + 128];
    const int32_t avx512bw = sb_conv_have_avx512bw();
    memset(buf, 0, sizeof buf);
    for (int32_t c = c0; c < c1; c++) {
        const uint8_t *plane = src + (size_t)c * ih * iw;
        uint8_t *out = dst + (size_t)c * oh * ow;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t by = oy * g->stride_h - g->pad_top;
            const int32_t ky0 = by < 0 ? -by : 0, ky1 = ih - by < g->k_h ? ih - by : g->k_h;
            uint8_t *cols = buf + g->pad_left;
            if (ky1 <= ky0) { memset(cols, 0, (size_t)iw); }   // a window of padding only: 0, as the general pass
            else {
                memcpy(cols, plane + (size_t)(by + ky0) * iw, (size_t)iw);
                for (int32_t ky = ky0 + 1; ky < ky1; ky++) {
                    const uint8_t *r = plane + (size_t)(by + ky) * iw;
                    for (int32_t x = 0; x < iw; x++) cols[x] = r[x] > cols[x] ? r[x] : cols[x];
                }
            }
            uint8_t *orow = out + (size_t)oy * ow;
#if defined(__x86_64__)
            if (avx512bw) { sb_max3_stride2_u8_avx512(buf, orow, ow); continue; }
#endif
            for (int32_t ox = 0; ox < ow; ox++) {
                const uint8_t a = buf[2 * ox], b = buf[2 * ox + 1], d = buf[2 * ox + 2];
                const uint8_t ab = a > b ? a : b;
                orow[ox] = ab > d ? ab : d;
            }
        }
    }
}

/// Whether maxpool_u8_k3s2 takes window `g`: its buffer holds the padded row and every window.
static int32_t maxpool_k3s2_fits(const sb_window *g) {
    return g->k_w == 3 && g->stride_w == 2 && g->in_w >= 1 &&
           (int64_t)g->pad_left + g->in_w <= 4096 && 2 * (int64_t)g->out_w + 2 <= 4096 + 64;
}

static void maxpool_u8_channels(const uint8_t *restrict src, uint8_t *restrict dst, const sb_window *g,
                                int32_t c0, int32_t c1) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    if (maxpool_k3s2_fits(g)) { maxpool_u8_k3s2(src, dst, g, c0, c1); return; }
    uint8_t rowmax[4096];
    const int32_t separable = iw <= (int32_t)sizeof rowmax;
    for (int32_t c = c0; c < c1; c++) {
        const uint8_t *plane = src + (size_t)c * ih * iw;
        uint8_t *out = dst + (size_t)c * oh * ow;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t by = oy * g->stride_h - g->pad_top;
            int32_t ky0 = by < 0 ? -by : 0, ky1 = ih - by < g->k_h ? ih - by : g->k_h;
            if (separable && ky1 > ky0) {
                memcpy(rowmax, plane + (size_t)(by + ky0) * iw, (size_t)iw);
                for (int32_t ky = ky0 + 1; ky < ky1; ky++) {
                    const uint8_t *r = plane + (size_t)(by + ky) * iw;
                    for (int32_t x = 0; x < iw; x++) rowmax[x] = r[x] > rowmax[x] ? r[x] : rowmax[x];
                }
                // Sliding max over k_w contiguous columns (windows wholly inside the row), in place:
                // rowmax[x] becomes the max of the window starting at x, for x <= iw - k_w.
                const int32_t kw = g->k_w, full = iw - kw + 1;
                uint8_t edge[2 * 16];   // the raw row's first/last columns, for clipped windows
                const int32_t keep = kw < 16 ? kw : 16;
                memcpy(edge, rowmax, (size_t)(keep < iw ? keep : iw));
                if (iw >= keep) memcpy(edge + 16, rowmax + iw - keep, (size_t)keep);
                if (kw == 3) {
                    uint8_t slide[4096];
                    for (int32_t x = 0; x < full; x++) {
                        const uint8_t a = rowmax[x], b = rowmax[x + 1], c = rowmax[x + 2];
                        const uint8_t ab = a > b ? a : b;
                        slide[x] = ab > c ? ab : c;
                    }
                    if (full > 0) memcpy(rowmax, slide, (size_t)full);
                } else {
                    for (int32_t x = 0; x < full; x++) {
                        uint8_t best = rowmax[x];
                        for (int32_t kx = 1; kx < kw; kx++) best = rowmax[x + kx] > best ? rowmax[x + kx] : best;
                        rowmax[x] = best;
                    }
                }
                // Windows wholly inside: ox in [in_lo, in_hi) (bx = ox * sw - pad_left in [0, full)).
                const int32_t sw = g->stride_w, pl = g->pad_left;
                int32_t in_lo = (pl + sw - 1) / sw, in_hi = full > 0 ? (full - 1 + pl) / sw + 1 : 0;
                in_hi = in_hi > ow ? ow : in_hi;
                in_lo = in_lo > in_hi ? in_hi : in_lo;
                uint8_t *orow = out + (size_t)oy * ow;
                for (int32_t ox = in_lo; ox < in_hi; ox++) orow[ox] = rowmax[ox * sw - pl];
                for (int32_t ox = 0; ox < ow; ox++) {
                    if (ox == in_lo && in_hi > in_lo) { ox = in_hi - 1; continue; }
                    const int32_t bx = ox * sw - pl;
                    uint8_t best = 0;
                    if (bx >= 0 && bx < full) {
                        best = rowmax[bx];
                    } else if (kw <= 16 && iw >= kw) {
                        // A window clipped by the left or right edge: the raw columns it covers.
                        int32_t x0 = bx < 0 ? 0 : bx, x1 = bx + kw < iw ? bx + kw : iw;
                        for (int32_t x = x0; x < x1; x++) {
                            const uint8_t v = x < keep ? edge[x] : edge[16 + x - (iw - keep)];
                            best = v > best ? v : best;
                        }
                    } else {
                        int32_t ky0b = ky0;
                        int32_t x0 = bx < 0 ? 0 : bx, x1 = bx + kw < iw ? bx + kw : iw;
                        for (int32_t ky = ky0b; ky < ky1; ky++)
                            for (int32_t x = x0; x < x1; x++) {
                                const uint8_t v = plane[(size_t)(by + ky) * iw + x];
                                best = v > best ? v : best;
                            }
                    }
                    out[(size_t)oy * ow + ox] = best;
                }
                continue;
            }
            for (int32_t ox = 0; ox < ow; ox++) {
                const int32_t bx = ox * g->stride_w - g->pad_left;
                int32_t kx0 = bx < 0 ? -bx : 0, kx1 = iw - bx < g->k_w ? iw - bx : g->k_w;
                uint8_t best = 0;
                for (int32_t ky = ky0; ky < ky1; ky++) {
                    const uint8_t *r = plane + (size_t)(by + ky) * iw + bx;
                    for (int32_t kx = kx0; kx < kx1; kx++) best = r[kx] > best ? r[kx] : best;
                }
                out[(size_t)oy * ow + ox] = best;
            }
        }
    }
}

void sb_maxpool_u8(const uint8_t *src, uint8_t *dst, const sb_window *g) {
    maxpool_u8_channels(src, dst, g, 0, g->channels);
}

void sb_quantize_u8(const float *restrict src, uint8_t *restrict dst, size_t count, float scale,
                    int32_t zp, int32_t relu) {
    const float fzp = (float)zp;
    for (size_t i = 0; i < count; i++) dst[i] = sb_quantize_u8_one(src[i], scale, fzp, relu);
}

void sb_global_avgpool_u8(const uint8_t *restrict src, float *restrict dst, int32_t channels, int32_t plane,
                          float scale, int32_t zp) {
    for (int32_t c = 0; c < channels; c++) {
        const uint8_t *p = src + (size_t)c * plane;
        uint32_t sum = 0;   // plane * 255 < 2^32 for any plane below 16 M pixels
        for (int32_t i = 0; i < plane; i++) sum += p[i];
        dst[c] = scale * (float)((double)((int64_t)sum - (int64_t)zp * plane) / plane);
    }
}

void sb_pad_u8(const uint8_t *src, uint8_t *dst, int32_t channels, int32_t in_h, int32_t in_w,
               int32_t top, int32_t left, int32_t bottom, int32_t right, uint8_t value) {
    const int32_t oh = in_h + top + bottom, ow = in_w + left + right;
    for (int32_t c = 0; c < channels; c++) {
        uint8_t *out = dst + (size_t)c * oh * ow;
        const uint8_t *in = src + (size_t)c * in_h * in_w;
        memset(out, value, (size_t)top * ow);
        for (int32_t y = 0; y < in_h; y++) {
            uint8_t *row = out + (size_t)(top + y) * ow;
            memset(row, value, (size_t)left);
            memcpy(row + left, in + (size_t)y * in_w, (size_t)in_w);
            memset(row + left + in_w, value, (size_t)right);
        }
        memset(out + (size_t)(top + in_h) * ow, value, (size_t)bottom * ow);
    }
}

// MARK: Threaded driver.

typedef struct {
    const sb_q8_conv_plan *plan;
    const uint8_t *input;
    void *output;
    uint8_t *scratch;
    char *workspaces;
    size_t workspace_size;
    sb_q8_epilogue epilogue;
    int32_t m, n, split_rows, implicit;
    _Atomic int32_t status;   // SB_Q8_OK, or the first error a chunk returned
} q8_conv_job;

static void q8_unfold_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    (void)thread;
    q8_conv_job *job = raw;
    int32_t c0, c1;
    if (job->plan->c4) {   // groups of four channels into the padded c4 planes
        sb_split_range((job->plan->window.channels + 3) / 4, index, count, 1, &c0, &c1);
        if (c1 > c0) sb_u8_to_c4(job->input, &job->plan->window, (uint8_t)job->plan->input_zp, c0, c1, job->scratch);
        return;
    }
    sb_split_range(job->plan->window.channels, index, count, 1, &c0, &c1);
    if (c1 > c0) im2col_u8_rows(job->input, job->scratch, &job->plan->window, (uint8_t)job->plan->input_zp, c0, c1);
}

// One chunk of output rows or columns. Every output element is the same integer dot product and
// epilogue whichever chunk (and thread) computes it, so the result does not depend on the split.
static void q8_gemm_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    q8_conv_job *job = raw;
    const sb_q8_conv_plan *p = job->plan;
    const uint8_t *b = p->unfold ? job->scratch : job->input;
    int32_t r0 = 0, r1 = job->m, c0 = 0, c1 = job->n;
    if (job->split_rows) sb_split_range(job->m, index, count, p->block_m, &r0, &r1);
    else sb_split_range(job->n, index, count, p->block_n, &c0, &c1);
    int32_t rc = SB_Q8_OK;
    void *ws = job->workspaces + (size_t)thread * job->workspace_size;
    if (r1 > r0 && c1 > c0 && p->c4)
        rc = sb_q8_gemm_conv_c4(p->packed, job->scratch, &p->window, p->input_zp, r0, r1, c0, c1, &job->epilogue,
                                job->output, job->n, ws, job->workspace_size);
    else if (r1 > r0 && c1 > c0 && job->implicit)
        rc = sb_q8_gemm_conv(p->packed, job->input, &p->window, p->input_zp, r0, r1, c0, c1, &job->epilogue,
                             job->output, job->n, ws, job->workspace_size);
    else if (r1 > r0 && c1 > c0)
        rc = sb_q8_gemm(p->packed, b, job->n, p->input_zp, r0, r1, c0, c1, &job->epilogue, job->output,
                        job->n, ws, job->workspace_size);
    if (rc != SB_Q8_OK) {
        int32_t ok = SB_Q8_OK;
        atomic_compare_exchange_strong(&job->status, &ok, rc);
    }
}

int32_t sb_q8_conv2d(const sb_q8_conv_plan *plan, const uint8_t *input, const uint8_t *residual,
                     void *output, uint8_t *scratch, void *workspaces, size_t workspace_size,
                     sb_pool *pool) {
    const sb_window *w = &plan->window;
    q8_conv_job job;
    atomic_init(&job.status, SB_Q8_OK);
    job.plan = plan; job.input = input; job.output = output; job.scratch = scratch;
    job.workspaces = workspaces; job.workspace_size = workspace_size;
    job.m = plan->out_channels; job.n = w->out_h * w->out_w;
    job.epilogue = plan->epilogue;
    job.epilogue.residual = residual;
    job.epilogue.ld_residual = job.n;
    // Splitting columns lets every thread pack only its own part of B; with too few columns
    // per thread for whole NR panels, split the rows instead (each thread then packs all of B).
    const int32_t threads = sb_pool_size(pool);
    job.split_rows = job.n < threads * 2 * plan->block_n;
    // Windows the kernel can pack straight from the input skip the unfold buffer altogether.
    job.implicit = plan->unfold && sb_q8_conv_implicit(sb_q8_packed_kernel(plan->packed), w);
    if (plan->c4)
        sb_pool_run_chunks(pool, q8_unfold_task, &job, sb_pool_chunks(pool, (w->channels + 3) / 4, 4));
    else if (plan->unfold && !job.implicit)
        sb_pool_run_chunks(pool, q8_unfold_task, &job, sb_pool_chunks(pool, w->channels, 4));
    // Chunks of columns pack only their own panels of B: about four per thread. Chunks of rows
    // each pack all of B again: two per thread.
    const int32_t chunks = job.split_rows
        ? sb_pool_chunks(pool, (job.m + plan->block_m - 1) / plan->block_m, 2)
        : sb_pool_chunks(pool, (job.n + plan->block_n - 1) / plan->block_n, 4);
    sb_pool_run_chunks(pool, q8_gemm_task, &job, chunks);
    return atomic_load(&job.status);
}

// MARK: Dense layer with int8 weights.

/// Row r's result from its 16 lane sums (and the columns past the last multiple of 16).
static float dense_finish(const float lane[16], const int8_t *row, const float *x, int32_t k16, int32_t k,
                          float scale, const float *bias, int32_t r, int32_t relu) {
    float sum = 0.0f;
    for (int32_t t = 0; t < 16; t++) sum += lane[t];
    for (int32_t j = k16; j < k; j++) sum += (float)row[j] * x[j];
    float v = sum * scale + (bias ? bias[r] : 0.0f);
    return relu && v < 0.0f ? 0.0f : v;
}

void sb_dense_s8_f32(const int8_t *restrict w, const float *restrict scale, const float *restrict bias,
                     const float *restrict x, float *restrict y, int32_t m, int32_t k, int32_t relu) {
    const int32_t k16 = k / 16 * 16;
    int32_t r = 0;
#if defined(__x86_64__)
    const int32_t avx512 = sb_conv_have_avx512();
    if (avx512)   // four rows at a time: four independent accumulator chains, the same lane sums
        for (; r + 4 <= m; r += 4) {
            float lanes[4][16];
            sb_dense_s8_lanes4_avx512(w + (size_t)r * k, k, x, k16, lanes);
            for (int32_t i = 0; i < 4; i++)
                y[r + i] = dense_finish(lanes[i], w + (size_t)(r + i) * k, x, k16, k, scale[r + i], bias, r + i, relu);
        }
#endif
    for (; r < m; r++) {
        const int8_t *row = w + (size_t)r * k;
        float lane[16] = { 0 };
#if defined(__x86_64__)
        if (avx512) sb_dense_s8_lanes_avx512(row, x, k16, lane);   // the same lane sums, 16 at once
        else
#endif
        for (int32_t j = 0; j < k16; j += 16)
            for (int32_t t = 0; t < 16; t++) lane[t] += (float)row[j + t] * x[j + t];
        y[r] = dense_finish(lane, row, x, k16, k, scale[r], bias, r, relu);
    }
}

typedef struct dense_job {
    const int8_t *w;
    const float *scale, *bias, *x;
    float *y;
    int32_t m, k, relu, rows;
} dense_job;

static void dense_task(void *context, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)chunks; (void)thread;
    const dense_job *j = context;
    const int32_t r0 = chunk * j->rows, r1 = r0 + j->rows < j->m ? r0 + j->rows : j->m;
    if (r1 > r0)
        sb_dense_s8_f32(j->w + (size_t)r0 * j->k, j->scale + r0, j->bias ? j->bias + r0 : NULL, j->x, j->y + r0,
                        r1 - r0, j->k, j->relu);
}

void sb_dense_s8_f32_parallel(const int8_t *w, const float *scale, const float *bias, const float *x, float *y,
                              int32_t m, int32_t k, int32_t relu, sb_pool *pool) {
    // Chunks of whole groups of four rows; each row's result does not depend on the split.
    const int32_t groups = (m + 3) / 4;
    const int32_t chunks = sb_pool_chunks(pool, groups, 2);
    if (chunks <= 1) { sb_dense_s8_f32(w, scale, bias, x, y, m, k, relu); return; }
    dense_job job = { .w = w, .scale = scale, .bias = bias, .x = x, .y = y, .m = m, .k = k, .relu = relu,
                      .rows = (groups + chunks - 1) / chunks * 4 };
    sb_pool_run_chunks(pool, dense_task, &job, (m + job.rows - 1) / job.rows);
}

// MARK: Banded fp32 convolution into uint8.

size_t sb_conv2d_f32_u8_scratch(const sb_conv_plan *plan, int32_t band_rows) {
    const sb_window *w = &plan->window;
    const size_t cols = (size_t)band_rows * w->out_w;
    const size_t k = (size_t)w->channels * w->k_h * w->k_w;
    return (k + (size_t)plan->out_channels) * cols;
}

typedef struct {
    const sb_conv_plan *plan;
    const float *input;
    uint8_t *output;
    float scale, *scratch;
    int32_t zp, band_rows, avx512;
    size_t per_thread;
    sb_gemm_fn gemm;
} f32_u8_job;

// One chunk: a run of bands, in the running thread's own scratch.
static void conv_f32_u8_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    f32_u8_job *job = raw;
    const sb_conv_plan *p = job->plan;
    const sb_window *w = &p->window;
    const int32_t bands = (w->out_h + job->band_rows - 1) / job->band_rows;
    const int32_t m = p->out_channels, k = w->channels * w->k_h * w->k_w, n = w->out_h * w->out_w;
    int32_t b0, b1;
    sb_split_range(bands, index, count, 1, &b0, &b1);
    float *cols = job->scratch + (size_t)thread * job->per_thread;
    for (int32_t band = b0; band < b1; band++) {
        const int32_t oy0 = band * job->band_rows;
        const int32_t rows = w->out_h - oy0 < job->band_rows ? w->out_h - oy0 : job->band_rows;
        const int32_t bn = rows * w->out_w;
        // The band as a window of its own: output rows [oy0, oy0 + rows) (pad_top may go negative).
        sb_window part = *w;
        part.out_h = rows;
        part.pad_top = w->pad_top - oy0 * w->stride_h;
        const float *b = job->input + (size_t)oy0 * w->out_w;   // 1x1 stride-1: the planes themselves
        int32_t ldb = n;
        if (p->unfold) { sb_im2col(job->input, cols, &part); b = cols; ldb = bn; }
        float *out = cols + (size_t)k * bn;
        job->gemm(m, bn, k, p->weights, k, b, ldb, out, bn);
#if defined(__x86_64__)
        if (job->avx512) {   // the two steps below in one pass, bit for bit
            for (int32_t c = 0; c < m; c++)
                sb_bias_act_quantize_u8_avx512(out + (size_t)c * bn, job->output + (size_t)c * n + (size_t)oy0 * w->out_w,
                                               (size_t)bn, p->bias ? p->bias[c] : 0.0f, p->relu, job->scale, job->zp);
            continue;
        }
#endif
        sb_epilogue_block(out, bn, 0, m, 0, bn, p->bias, NULL, p->relu);
        for (int32_t c = 0; c < m; c++)
            sb_quantize_u8(out + (size_t)c * bn, job->output + (size_t)c * n + (size_t)oy0 * w->out_w,
                           (size_t)bn, job->scale, job->zp, 0);
    }
}

void sb_conv2d_f32_u8(const sb_conv_plan *plan, const float *input, uint8_t *output, float scale,
                      int32_t zp, int32_t band_rows, float *scratch, sb_pool *pool, sb_gemm_fn gemm) {
    f32_u8_job job = {
        .plan = plan, .input = input, .output = output, .scale = scale, .scratch = scratch, .zp = zp,
        .band_rows = band_rows > 0 ? band_rows : 1, .gemm = gemm,
        .per_thread = sb_conv2d_f32_u8_scratch(plan, band_rows > 0 ? band_rows : 1),
        .avx512 = sb_conv_have_avx512(),
    };
    const int32_t bands = (plan->window.out_h + job.band_rows - 1) / job.band_rows;
    sb_pool_run_chunks(pool, conv_f32_u8_task, &job, sb_pool_chunks(pool, bands, 8));
}

typedef struct { const uint8_t *src; uint8_t *dst; const sb_window *g; } u8_pool_job;

static void maxpool_u8_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    (void)thread;
    u8_pool_job *job = raw;
    int32_t c0, c1;
    sb_split_range(job->g->channels, index, count, 1, &c0, &c1);
    if (c1 > c0) maxpool_u8_channels(job->src, job->dst, job->g, c0, c1);
}

void sb_maxpool_u8_parallel(const uint8_t *src, uint8_t *dst, const sb_window *g, sb_pool *pool) {
    u8_pool_job job = { src, dst, g };
    sb_pool_run_chunks(pool, maxpool_u8_task, &job, sb_pool_chunks(pool, g->channels, 4));
}
