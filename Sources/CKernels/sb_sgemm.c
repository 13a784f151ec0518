// fp32 GEMM for the convolutions (see sb_sgemm.h): variant dispatch, packing, the blocked driver,
// the threaded convolution driver and the plain C variant. The vector micro-kernels are in
// sb_sgemm_avx512.c and sb_sgemm_avx2.c.
#include "sb_sgemm_internal.h"
#include <stdlib.h>
#include <string.h>

static const char *const names[SB_SGEMM_KERNEL_COUNT] = { "ref", "avx2", "avx512" };

static const sb_sgemm_variant *variant(int32_t kernel) {
    switch (kernel) {
    case SB_SGEMM_KERNEL_REF: return &sb_sgemm_variant_ref;
#if defined(__x86_64__)
    case SB_SGEMM_KERNEL_AVX2: return &sb_sgemm_variant_avx2;
    case SB_SGEMM_KERNEL_AVX512: return &sb_sgemm_variant_avx512;
#endif
    default: return NULL;
    }
}

const char *sb_sgemm_kernel_name(int32_t kernel) {
    return kernel >= 0 && kernel < SB_SGEMM_KERNEL_COUNT ? names[kernel] : NULL;
}

int32_t sb_sgemm_kernel_from_name(const char *name) {
    if (name == NULL) return -1;
    for (int32_t k = 0; k < SB_SGEMM_KERNEL_COUNT; k++)
        if (strcmp(name, names[k]) == 0) return k;
    return -1;
}

int32_t sb_sgemm_kernel_available(int32_t kernel) {
    if (variant(kernel) == NULL) return 0;
    switch (kernel) {
    case SB_SGEMM_KERNEL_REF: return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // __builtin_cpu_supports reports AVX / AVX-512 only when the OS saves their state (XCR0).
    case SB_SGEMM_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case SB_SGEMM_KERNEL_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
               __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq");
#endif
    default: return 0;
    }
}

int32_t sb_sgemm_best_kernel(void) {
    if (sb_sgemm_kernel_available(SB_SGEMM_KERNEL_AVX512)) return SB_SGEMM_KERNEL_AVX512;
    if (sb_sgemm_kernel_available(SB_SGEMM_KERNEL_AVX2)) return SB_SGEMM_KERNEL_AVX2;
    return SB_SGEMM_KERNEL_REF;
}

int32_t sb_sgemm_block_m(int32_t kernel) { const sb_sgemm_variant *v = variant(kernel); return v ? v->mr : 0; }
int32_t sb_sgemm_block_n(int32_t kernel) { const sb_sgemm_variant *v = variant(kernel); return v ? v->nr : 0; }

// MARK: Packing.

size_t sb_sgemm_packed_floats(int32_t kernel, int32_t m, int32_t k) {
    const sb_sgemm_variant *v = variant(kernel);
    if (v == NULL || m <= 0 || k <= 0) return 0;
    return (size_t)((m + v->mr - 1) / v->mr) * (size_t)v->mr * (size_t)k;
}

void sb_sgemm_pack_a(int32_t kernel, const float *a, int32_t m, int32_t k, int32_t lda, float *dst) {
    const sb_sgemm_variant *v = variant(kernel);
    if (v == NULL) return;
    const int32_t mr = v->mr;
    for (int32_t r0 = 0; r0 < m; r0 += mr) {
        float *block = dst + (size_t)r0 * k;
        for (int32_t p = 0; p < k; p++)
            for (int32_t r = 0; r < mr; r++)
                block[(size_t)p * mr + r] = r0 + r < m ? a[(size_t)(r0 + r) * lda + p] : 0.0f;
    }
}

void sb_sgemm_pack_window_generic(const float *src, const sb_window *g, int32_t j0, int32_t cols, int32_t nr,
                                  float *dst) {
    const size_t plane = (size_t)g->in_h * g->in_w;
    if (g->k_h == 1 && g->k_w == 1 && g->stride_h == 1 && g->stride_w == 1 &&
        g->pad_top == 0 && g->pad_left == 0 && g->out_w == g->in_w) {
        // The input planes are B itself.
        for (int32_t c = 0; c < g->channels; c++)
            memcpy(dst + (size_t)c * nr, src + (size_t)c * plane + j0, (size_t)cols * sizeof(float));
        return;
    }
    int32_t y0[SB_SGEMM_MAX_NR], x0[SB_SGEMM_MAX_NR];
    for (int32_t jj = 0; jj < cols; jj++) {
        const int32_t j = j0 + jj, oy = j / g->out_w, ox = j - oy * g->out_w;
        y0[jj] = oy * g->stride_h - g->pad_top;
        x0[jj] = ox * g->stride_w - g->pad_left;
    }
    const uint32_t ih = (uint32_t)g->in_h, iw = (uint32_t)g->in_w;
    float *row = dst;
    for (int32_t c = 0; c < g->channels; c++) {
        const float *p = src + (size_t)c * plane;
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++, row += nr)
                for (int32_t jj = 0; jj < cols; jj++) {
                    const int32_t iy = y0[jj] + ky, ix = x0[jj] + kx;
                    row[jj] = (uint32_t)iy < ih && (uint32_t)ix < iw ? p[(size_t)iy * iw + (size_t)ix] : 0.0f;
                }
    }
}

void sb_sgemm_pack_window(int32_t kernel, const float *src, const sb_window *g, int32_t j0, int32_t cols,
                          float *dst) {
    const sb_sgemm_variant *v = variant(kernel);
    if (v == NULL) return;
    if (v->pack) v->pack(src, g, j0, cols, dst);
    else sb_sgemm_pack_window_generic(src, g, j0, cols, v->nr, dst);
}

// MARK: The plain C variant and the shared tile store.

void sb_sgemm_store_tile(const float *tile, int32_t mr, int32_t cols, const sb_sgemm_tile *t) {
    if (t->acc_out) {
        memcpy(t->acc_out, tile, (size_t)cols * (size_t)mr * sizeof(float));
        return;
    }
    for (int32_t r = 0; r < t->rows; r++) {
        float *c = t->c + (size_t)r * t->ldc;
        const float *res = t->residual ? t->residual + (size_t)r * t->ldc : NULL;
        for (int32_t j = 0; j < cols; j++) {
            float v = tile[(size_t)j * mr + r];
            if (res) v += res[j];
            if (t->relu && v < 0.0f) v = 0.0f;
            c[j] = v;
        }
    }
}

enum { REF_MR = 8, REF_NR = 8 };

static void ukernel_ref(int32_t cols, int32_t k, const float *a, const float *b, int32_t ldb, const sb_sgemm_tile *t) {
    float acc[REF_NR * REF_MR];
    for (int32_t j = 0; j < cols; j++)
        for (int32_t r = 0; r < REF_MR; r++)
            acc[j * REF_MR + r] = t->acc_in ? t->acc_in[j * REF_MR + r]
                                : (t->bias && r < t->rows ? t->bias[r] : 0.0f);
    for (int32_t p = 0; p < k; p++, a += REF_MR, b += ldb)
        for (int32_t j = 0; j < cols; j++) {
            const float bj = b[j];
            for (int32_t r = 0; r < REF_MR; r++) acc[j * REF_MR + r] += a[r] * bj;
        }
    sb_sgemm_store_tile(acc, REF_MR, cols, t);
}

const sb_sgemm_variant sb_sgemm_variant_ref = { .mr = REF_MR, .nr = REF_NR, .ukernel = ukernel_ref, .pack = NULL };

// MARK: The blocked driver.

// k is cut into blocks of at most KC steps so that one row block's slice of A (MR x KC floats)
// stays in L1 while the micro-kernel sweeps a chunk of panels; a chunk's slice of B (its panels'
// K rows) is sized to stay in L2 across the row blocks.
#ifndef SB_SGEMM_KC
#define SB_SGEMM_KC 384
#endif
#ifndef SB_SGEMM_L2_BYTES
#define SB_SGEMM_L2_BYTES (512 * 1024)
#endif
#define SB_SGEMM_MAX_CHUNK 16

typedef struct {
    const sb_sgemm_variant *v;
    int32_t m, n, k;
    const float *a;          // packed
    const float *b;          // panel p at b + p * panel_stride, rows ldb apart
    size_t panel_stride;
    int32_t ldb;
    float *c;
    int32_t ldc;
    const float *bias, *residual;
    int32_t relu;
    // B in place from padded planes (b): row p of panel j0's B at b + base(j0) + koff[p], with
    // base(j0) = (j0 / out_w) * row_step + (j0 % out_w) * cs; NULL: b as above.
    const int32_t *koff;
    int32_t cs, out_w;
    size_t row_step;
} gemm_args;

static int32_t chunk_panels(const gemm_args *g) {
#ifndef SB_SGEMM_NO_ACHUNK
    // When A is the larger operand (late layers: many channels, few pixels) it streams from
    // memory, so sweep it once: every panel (up to the cap) in one chunk, B read from L2/L3.
    if (g->m >= g->n) return SB_SGEMM_MAX_CHUNK;
#endif
    size_t per = (size_t)g->k * (size_t)g->v->nr * sizeof(float);
    size_t chunk = SB_SGEMM_L2_BYTES / (per ? per : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > SB_SGEMM_MAX_CHUNK) chunk = SB_SGEMM_MAX_CHUNK;
    return (int32_t)chunk;
}

/// Row blocks [mb0, mb1) x panels [p0, p1) of C.
static void gemm_block(const gemm_args *g, int32_t mb0, int32_t mb1, int32_t p0, int32_t p1) {
    const sb_sgemm_variant *v = g->v;
    const int32_t mr = v->mr, nr = v->nr, k = g->k;
    // B read in place (rows ldb apart, not packed): its panels' K short row pieces are first
    // read cold by the first row block, too many streams for the hardware prefetchers, so that
    // row block fetches the next panel's rows ahead.
    const int32_t prefetch_b = g->panel_stride == (size_t)nr && g->ldb > nr;
    const int32_t kblocks = (k + SB_SGEMM_KC - 1) / SB_SGEMM_KC;
    const int32_t chunk = chunk_panels(g);
    _Alignas(64) float acc[SB_SGEMM_MAX_CHUNK * SB_SGEMM_MAX_TILE];
    for (int32_t pc = p0; pc < p1; pc += chunk) {
        const int32_t pe = pc + chunk < p1 ? pc + chunk : p1;
        for (int32_t mb = mb0; mb < mb1; mb++) {
            const int32_t r0 = mb * mr, rows = g->m - r0 < mr ? g->m - r0 : mr;
            const float *ab = g->a + (size_t)r0 * k;
            for (int32_t kb = 0; kb < kblocks; kb++) {
                const int32_t k0 = (int32_t)((int64_t)kb * k / kblocks), k1 = (int32_t)((int64_t)(kb + 1) * k / kblocks);
                for (int32_t p = pc; p < pe; p++) {
                    const int32_t j0 = p * nr, cols = g->n - j0 < nr ? g->n - j0 : nr;
#ifndef SB_NO_PREFETCH
                    if (prefetch_b && mb == mb0 && p + 1 < pe) {
                        const float *next = g->b + (size_t)(p + 1) * g->panel_stride + (size_t)k0 * g->ldb;
                        for (int32_t q = k0; q < k1; q++, next += g->ldb) {
                            __builtin_prefetch(next, 0, 3);
                            __builtin_prefetch(next + nr - 1, 0, 3);
                        }
                    }
#endif
                    float *slot = acc + (size_t)(p - pc) * SB_SGEMM_MAX_TILE;
                    const sb_sgemm_tile t = {
                        .bias = g->bias ? g->bias + r0 : NULL,
                        .acc_in = kb > 0 ? slot : NULL,
                        .acc_out = kb + 1 < kblocks ? slot : NULL,
                        .c = g->c + (size_t)r0 * g->ldc + j0,
                        .residual = g->residual ? g->residual + (size_t)r0 * g->ldc + j0 : NULL,
                        .ldc = g->ldc, .rows = rows, .relu = g->relu,
                        .koff = g->koff ? g->koff + k0 : NULL, .cs = g->cs,
                    };
                    const float *b = g->koff
                        ? g->b + (size_t)(j0 / g->out_w) * g->row_step + (size_t)(j0 % g->out_w) * (size_t)g->cs
                        : g->b + (size_t)p * g->panel_stride + (size_t)k0 * g->ldb;
                    v->ukernel(cols, k1 - k0, ab + (size_t)k0 * mr, b, g->ldb, &t);
                }
            }
        }
    }
}

void sb_sgemm(int32_t kernel, int32_t m, int32_t n, int32_t k, const float *packed_a,
              const float *b, int32_t ldb, float *c, int32_t ldc,
              const float *bias, const float *residual, int32_t relu) {
    const sb_sgemm_variant *v = variant(kernel);
    if (v == NULL || m <= 0 || n <= 0) return;
    if (k <= 0) {   // C = act(bias + residual)
        for (int32_t r = 0; r < m; r++) memset(c + (size_t)r * ldc, 0, (size_t)n * sizeof(float));
        sb_epilogue_block(c, ldc, 0, m, 0, n, bias, residual, relu);
        return;
    }
    const gemm_args g = {
        .v = v, .m = m, .n = n, .k = k, .a = packed_a, .b = b, .panel_stride = (size_t)v->nr, .ldb = ldb,
        .c = c, .ldc = ldc, .bias = bias, .residual = residual, .relu = relu,
    };
    gemm_block(&g, 0, (m + v->mr - 1) / v->mr, 0, (n + v->nr - 1) / v->nr);
}

// MARK: The convolution driver.

static int32_t reads_in_place(const sb_window *w) {
    return w->k_h == 1 && w->k_w == 1 && w->stride_h == 1 && w->stride_w == 1 && w->pad_top == 0 &&
           w->pad_left == 0 && w->pad_bottom == 0 && w->pad_right == 0 && w->out_w == w->in_w && w->out_h == w->in_h;
}

// Windows of more than one tap whose output rows are whole panels read B in place from a
// padded copy of the input (for variants whose micro-kernel can): an unfold repeats every input
// value k_h * k_w / stride^2 times, the copy once, and no panel is packed.
static int32_t window_b(const sb_sgemm_variant *v, const sb_window *w) {
    return v->window_b && w->k_h * w->k_w > 1 && w->out_w % v->nr == 0 && !reads_in_place(w);
}

/// Rows and row length of the padded planes: the image and its padding, and every window.
static void padded_dims(const sb_window *w, size_t *rows, size_t *len) {
    size_t h = (size_t)w->pad_top + (size_t)w->in_h + (size_t)w->pad_bottom;
    size_t need = (size_t)w->stride_h * (size_t)(w->out_h - 1) + (size_t)w->k_h;
    *rows = h > need ? h : need;
    size_t x = (size_t)w->pad_left + (size_t)w->in_w + (size_t)w->pad_right;
    need = (size_t)w->stride_w * (size_t)(w->out_w - 1) + (size_t)w->k_w;
    *len = x > need ? x : need;
}

size_t sb_sgemm_conv_scratch_floats(const sb_sgemm_conv_plan *plan) {
    const sb_sgemm_variant *v = variant(plan->kernel);
    const sb_window *w = &plan->window;
    if (v == NULL || reads_in_place(w)) return 0;
    const size_t k = (size_t)w->channels * w->k_h * w->k_w, n = (size_t)w->out_h * w->out_w;
    if (window_b(v, w)) {
        size_t rows, len;
        padded_dims(w, &rows, &len);
        return (size_t)w->channels * rows * len + k;   // the planes, then koff as int32
    }
    return k * ((n + v->nr - 1) / v->nr) * v->nr;
}

typedef struct {
    const sb_sgemm_conv_plan *plan;
    const float *input;
    float *scratch;
    gemm_args g;
    int32_t pack;         // B is packed into scratch (else read in place)
    int32_t split_rows;   // 1: work items are row blocks (B packed by all first); 0: panels
    int32_t items, per_item;
} conv_job;

/// Rows [chunk] of the padded planes: the input's rows with zeros around them.
static void pad_task(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)thread;
    const conv_job *job = raw;
    const sb_window *w = &job->plan->window;
    size_t rows, len;
    padded_dims(w, &rows, &len);
    int32_t r0, r1;
    sb_split_range(w->channels * (int32_t)rows, chunk, chunks, 1, &r0, &r1);
    for (int32_t at = r0; at < r1; at++) {
        const int32_t c = at / (int32_t)rows, r = at % (int32_t)rows, iy = r - w->pad_top;
        float *dst = job->scratch + (size_t)at * len;
        if (iy < 0 || iy >= w->in_h) { memset(dst, 0, len * sizeof *dst); continue; }
        memset(dst, 0, (size_t)w->pad_left * sizeof *dst);
        memcpy(dst + w->pad_left, job->input + ((size_t)c * w->in_h + (size_t)iy) * w->in_w, (size_t)w->in_w * sizeof *dst);
        memset(dst + w->pad_left + w->in_w, 0, (len - (size_t)w->pad_left - (size_t)w->in_w) * sizeof *dst);
    }
}

static void pack_panels(const conv_job *job, int32_t p0, int32_t p1) {
    const sb_sgemm_variant *v = job->g.v;
    for (int32_t p = p0; p < p1; p++) {
        const int32_t j0 = p * v->nr, cols = job->g.n - j0 < v->nr ? job->g.n - j0 : v->nr;
        float *dst = job->scratch + (size_t)p * job->g.panel_stride;
        if (v->pack) v->pack(job->input, &job->plan->window, j0, cols, dst);
        else sb_sgemm_pack_window_generic(job->input, &job->plan->window, j0, cols, v->nr, dst);
    }
}

// The pool's threads claim these chunks (work items) from a shared counter rather than fixed
// shares, so that a thread the OS deschedules mid-layer (other processes on the cores) delays
// the layer by at most the item it holds.
static void pack_task(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)chunks; (void)thread;
    pack_panels(raw, chunk, chunk + 1);
}

static void conv_task(void *raw, int32_t item, int32_t items, int32_t thread) {
    (void)items; (void)thread;
    conv_job *job = raw;
    const gemm_args *g = &job->g;
    const int32_t blocks = (g->m + g->v->mr - 1) / g->v->mr, panels = (g->n + g->v->nr - 1) / g->v->nr;
    const int32_t first = item * job->per_item;
    if (job->split_rows) {
        gemm_block(g, first, first + job->per_item < blocks ? first + job->per_item : blocks, 0, panels);
    } else {
        // Pack the item's panels, then run them through every row block while they are in cache.
        const int32_t last = first + job->per_item < panels ? first + job->per_item : panels;
        if (job->pack) pack_panels(job, first, last);
        gemm_block(g, 0, blocks, first, last);
    }
}

static int32_t ceil_div(int32_t a, int32_t b) { return (a + b - 1) / b; }

void sb_sgemm_conv2d(const sb_sgemm_conv_plan *plan, const float *input, const float *residual,
                     float *output, float *scratch, sb_pool *pool) {
    const sb_sgemm_variant *v = variant(plan->kernel);
    if (v == NULL) return;
    const sb_window *w = &plan->window;
    const int32_t m = plan->out_channels, n = w->out_h * w->out_w, k = w->channels * w->k_h * w->k_w;
    const int32_t pack = !reads_in_place(w);
    conv_job job = {
        .plan = plan, .input = input, .scratch = scratch, .pack = pack,
        .g = {
            .v = v, .m = m, .n = n, .k = k, .a = plan->weights,
            .b = pack ? scratch : input, .panel_stride = pack ? (size_t)k * v->nr : (size_t)v->nr,
            .ldb = pack ? v->nr : n, .c = output, .ldc = n,
            .bias = plan->bias, .residual = residual, .relu = plan->relu,
        },
    };
    if (pack && window_b(v, w)) {
        size_t rows, len;
        padded_dims(w, &rows, &len);
        int32_t *koff = (int32_t *)(void *)(scratch + (size_t)w->channels * rows * len);
        for (int32_t c = 0, i = 0; c < w->channels; c++)
            for (int32_t ky = 0; ky < w->k_h; ky++)
                for (int32_t kx = 0; kx < w->k_w; kx++, i++)
                    koff[i] = (int32_t)(((size_t)c * rows + (size_t)ky) * len + (size_t)kx);
        job.pack = 0;
        job.g.b = scratch;
        job.g.koff = koff;
        job.g.cs = w->stride_w;
        job.g.out_w = w->out_w;
        job.g.row_step = (size_t)w->stride_h * len;
        job.g.panel_stride = 0;
        job.g.ldb = 0;
        sb_pool_run_chunks(pool, pad_task, &job, sb_pool_chunks(pool, w->channels * (int32_t)rows, 2));
    }
    const int32_t threads = sb_pool_size(pool);
    const int32_t blocks = (m + v->mr - 1) / v->mr, panels = (n + v->nr - 1) / v->nr;
    // Split the operand that is cheaper to share: threads on row blocks each read all of B,
    // threads on panels each read all of A. Row blocks only when they divide evenly enough.
    job.split_rows = threads > 1 && (int64_t)m >= (int64_t)n && blocks >= threads &&
                     (blocks % threads == 0 || blocks >= 4 * threads || panels < threads);
    // About four items per thread; a panel item is at most one cache-sized chunk (on one
    // thread exactly that, so a large A streams once per chunk).
    if (job.split_rows) {
        job.per_item = ceil_div(blocks, 4 * threads);
        job.items = ceil_div(blocks, job.per_item);
    } else {
        job.per_item = threads > 1 ? ceil_div(panels, 4 * threads) : panels;
        if (job.per_item > chunk_panels(&job.g)) job.per_item = chunk_panels(&job.g);
        job.items = ceil_div(panels, job.per_item);
    }
    if (job.split_rows && job.pack) sb_pool_run_chunks(pool, pack_task, &job, panels);
    sb_pool_run_chunks(pool, conv_task, &job, job.items);
}
