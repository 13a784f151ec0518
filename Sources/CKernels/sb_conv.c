// Multi-threaded convolution driver (see sb_parallel.h).
#include "sb_parallel.h"
#include <string.h>

void sb_epilogue_block(float *data, int32_t ld, int32_t row0, int32_t row1, int32_t col0, int32_t col1,
                       const float *bias, const float *residual, int32_t relu) {
    for (int32_t r = row0; r < row1; r++) {
        float *d = data + (size_t)r * ld;
        const float b = bias ? bias[r] : 0.0f;
        if (residual) {
            const float *res = residual + (size_t)r * ld;
            if (relu) for (int32_t i = col0; i < col1; i++) { float v = d[i] + b + res[i]; d[i] = v > 0.0f ? v : 0.0f; }
            else      for (int32_t i = col0; i < col1; i++) d[i] = d[i] + b + res[i];
        } else {
            if (relu) for (int32_t i = col0; i < col1; i++) { float v = d[i] + b; d[i] = v > 0.0f ? v : 0.0f; }
            else      for (int32_t i = col0; i < col1; i++) d[i] = d[i] + b;
        }
    }
}

typedef struct {
    const sb_conv_plan *plan;
    const float *input, *residual;
    float *output, *scratch;
    sb_gemm_fn gemm;
    int32_t m, n, k;
    int32_t split_rows;   // 1: split M, 0: split N
} sb_conv_job;

static void unfold_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    (void)thread;
    sb_conv_job *job = raw;
    // By unfold rows, not channels: a 3-channel image still splits evenly.
    const sb_window *w = &job->plan->window;
    int32_t r0, r1;
    sb_split_range(w->channels * w->k_h * w->k_w, index, count, 1, &r0, &r1);
    sb_im2col_rows(job->input, job->scratch, w, r0, r1);
}

static void gemm_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    (void)thread;
    sb_conv_job *job = raw;
    const sb_conv_plan *p = job->plan;
    const float *b = p->unfold ? job->scratch : job->input;
    int32_t r0 = 0, r1 = job->m, c0 = 0, c1 = job->n;
    if (job->split_rows) sb_split_range(job->m, index, count, 8, &r0, &r1);
    else sb_split_range(job->n, index, count, 16, &c0, &c1);
    if (r1 <= r0 || c1 <= c0) return;
    job->gemm(r1 - r0, c1 - c0, job->k, p->weights + (size_t)r0 * job->k, job->k,
              b + c0, job->n, job->output + (size_t)r0 * job->n + c0, job->n);
    sb_epilogue_block(job->output, job->n, r0, r1, c0, c1, p->bias, job->residual, p->relu);
}

void sb_conv2d(const sb_conv_plan *plan, const float *input, const float *residual, float *output,
               float *scratch, sb_pool *pool, sb_gemm_fn gemm) {
    const sb_window *w = &plan->window;
    sb_conv_job job = {
        .plan = plan, .input = input, .residual = residual, .output = output, .scratch = scratch,
        .gemm = gemm, .m = plan->out_channels, .n = w->out_h * w->out_w,
        .k = w->channels * w->k_h * w->k_w,
    };
    // Each thread repacks the operand it shares; share the smaller one's duplication.
    job.split_rows = (int64_t)job.m * job.k >= (int64_t)job.k * job.n;
    // Chunks: about four per thread, so a descheduled thread holds up a quarter of its share.
    if (plan->unfold) sb_pool_run_chunks(pool, unfold_task, &job, sb_pool_chunks(pool, job.k, 4));
    const int32_t units = job.split_rows ? (job.m + 7) / 8 : (job.n + 15) / 16;
    sb_pool_run_chunks(pool, gemm_task, &job, sb_pool_chunks(pool, units, 4));
}

typedef struct { const float *src; float *dst; const sb_window *g; } sb_pool_job;

static void maxpool_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    (void)thread;
    sb_pool_job *job = raw;
    int32_t c0, c1;
    sb_split_range(job->g->channels, index, count, 1, &c0, &c1);
    if (c1 <= c0) return;
    sb_window part = *job->g;
    part.channels = c1 - c0;
    sb_maxpool(job->src + (size_t)c0 * job->g->in_h * job->g->in_w,
               job->dst + (size_t)c0 * job->g->out_h * job->g->out_w, &part);
}

void sb_maxpool_parallel(const float *src, float *dst, const sb_window *g, sb_pool *pool) {
    sb_pool_job job = { src, dst, g };
    sb_pool_run_chunks(pool, maxpool_task, &job, sb_pool_chunks(pool, g->channels, 4));
}

typedef struct {
    int32_t m, n;
    const float *a, *x;
    float *y;
    sb_gemv_fn gemv;
} sb_gemv_job;

static void gemv_chunk(void *raw, int32_t chunk, int32_t chunks, int32_t thread) {
    (void)chunks;
    (void)thread;
    const sb_gemv_job *job = raw;
    const int32_t r0 = chunk * SB_GEMV_ROWS, rows = job->m - r0 < SB_GEMV_ROWS ? job->m - r0 : SB_GEMV_ROWS;
    job->gemv(rows, job->n, job->a + (size_t)r0 * job->n, job->n, job->x, job->y + r0);
}

void sb_gemv_parallel(int32_t m, int32_t n, const float *a, const float *x, float *y, sb_pool *pool, sb_gemv_fn gemv) {
    sb_gemv_job job = { .m = m, .n = n, .a = a, .x = x, .y = y, .gemv = gemv };
    sb_pool_run_chunks(pool, gemv_chunk, &job, (m + SB_GEMV_ROWS - 1) / SB_GEMV_ROWS);
}
