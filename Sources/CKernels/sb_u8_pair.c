// Two int8 convolutions added in fp32 before one requantisation (sb_u8_pair.h).
#include "sb_u8_pair.h"
#include <string.h>

/// Columns per band: the two fp32 band results of one thread stay within ~256 KiB.
static int32_t band_columns(const sb_q8_conv_plan *a) {
    int32_t nr = a->block_n > 0 ? a->block_n : 16;
    int32_t cols = 32768 / (a->out_channels > 0 ? a->out_channels : 1);
    cols = cols / nr * nr;
    return cols < nr ? nr : cols;
}

size_t sb_u8_pair_band_floats(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b) {
    (void)b;
    // Both results of a band, indexed by absolute row (a thread splitting by rows uses only its own).
    return 2 * (size_t)a->out_channels * (size_t)band_columns(a);
}

static size_t unfold_bytes(const sb_q8_conv_plan *p) {
    const sb_window *w = &p->window;
    return p->unfold ? (size_t)w->channels * w->k_h * w->k_w * (size_t)w->out_h * w->out_w : 0;
}

size_t sb_u8_pair_scratch_bytes(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b) {
    return unfold_bytes(a) + unfold_bytes(b);
}

typedef struct {
    const sb_q8_conv_plan *plan[2];
    const uint8_t *b[2];        // GEMM B operand of each (the unfold or the input planes)
    const uint8_t *input[2];
    uint8_t *unfold[2];
    uint8_t *output;
    float *bands;
    size_t band_floats;
    char *workspaces;
    size_t workspace_size;
    float out_scale;
    int32_t out_zp, relu, m, n, cols, split_rows;
    int32_t status[64];
} pair_job;

static void pair_unfold_task(void *raw, int32_t index, int32_t count) {
    pair_job *job = raw;
    for (int32_t i = 0; i < 2; i++) {
        const sb_q8_conv_plan *p = job->plan[i];
        if (!p->unfold) continue;
        // The unfold of input channels [c0, c1): a window over those channels only, whose rows
        // are rows c0*kh*kw ... of the whole unfold.
        int32_t c0, c1;
        sb_split_range(p->window.channels, index, count, 1, &c0, &c1);
        if (c1 <= c0) continue;
        sb_window part = p->window;
        part.channels = c1 - c0;
        const size_t plane = (size_t)p->window.in_h * p->window.in_w;
        const size_t rows = (size_t)c0 * p->window.k_h * p->window.k_w;
        sb_im2col_u8(job->input[i] + (size_t)c0 * plane, job->unfold[i] + rows * (size_t)job->n, &part,
                     (uint8_t)p->input_zp);
    }
}

static void pair_gemm_task(void *raw, int32_t index, int32_t count) {
    pair_job *job = raw;
    const sb_q8_conv_plan *pa = job->plan[0], *pb = job->plan[1];
    int32_t r0 = 0, r1 = job->m, c0 = 0, c1 = job->n;
    if (job->split_rows) sb_split_range(job->m, index, count, pa->block_m, &r0, &r1);
    else sb_split_range(job->n, index, count, pa->block_n, &c0, &c1);
    float *fa = job->bands + (size_t)index * job->band_floats;
    int32_t rc = SB_Q8_OK;
    char *ws = job->workspaces + (size_t)index * job->workspace_size;
    for (int32_t n0 = c0; n0 < c1 && r1 > r0 && rc == SB_Q8_OK; n0 += job->cols) {
        const int32_t nb = c1 - n0 < job->cols ? c1 - n0 : job->cols;
        // Each GEMM writes its rows [r0, r1) of the band, row r at + r * nb.
        float *fb = fa + (size_t)job->m * nb;
        rc = sb_q8_gemm(pa->packed, job->b[0] + n0, job->n, pa->input_zp, r0, r1, 0, nb, &pa->epilogue,
                        fa, nb, ws, job->workspace_size);
        if (rc == SB_Q8_OK)
            rc = sb_q8_gemm(pb->packed, job->b[1] + n0, job->n, pb->input_zp, r0, r1, 0, nb, &pb->epilogue,
                            fb, nb, ws, job->workspace_size);
        if (rc != SB_Q8_OK) break;
        for (int32_t r = r0; r < r1; r++) {
            float *x = fa + (size_t)r * nb;
            const float *y = fb + (size_t)r * nb;
            for (int32_t j = 0; j < nb; j++) x[j] = x[j] + y[j];
            sb_quantize_u8(x, job->output + (size_t)r * job->n + n0, (size_t)nb, job->out_scale, job->out_zp, job->relu);
        }
    }
    if (index < 64) job->status[index] = rc;
}

int32_t sb_u8_conv_pair(const sb_q8_conv_plan *a, const uint8_t *input_a,
                        const sb_q8_conv_plan *b, const uint8_t *input_b,
                        float out_scale, int32_t out_zp, int32_t relu, uint8_t *output,
                        uint8_t *scratch, float *bands, void *workspaces, size_t workspace_size,
                        sb_pool *pool) {
    const int32_t n = a->window.out_h * a->window.out_w;
    if (a->out_channels != b->out_channels || n != b->window.out_h * b->window.out_w ||
        a->epilogue.out_type != SB_Q8_OUT_F32 || b->epilogue.out_type != SB_Q8_OUT_F32 ||
        a->epilogue.residual != NULL || b->epilogue.residual != NULL || a->epilogue.relu || b->epilogue.relu)
        return SB_Q8_E_ARGUMENT;
    pair_job job;
    memset(&job, 0, sizeof job);
    job.plan[0] = a; job.plan[1] = b;
    job.input[0] = input_a; job.input[1] = input_b;
    job.unfold[0] = scratch;
    job.unfold[1] = scratch + unfold_bytes(a);
    job.b[0] = a->unfold ? job.unfold[0] : input_a;
    job.b[1] = b->unfold ? job.unfold[1] : input_b;
    job.output = output; job.bands = bands; job.band_floats = sb_u8_pair_band_floats(a, b);
    job.workspaces = workspaces; job.workspace_size = workspace_size;
    job.out_scale = out_scale; job.out_zp = out_zp; job.relu = relu;
    job.m = a->out_channels; job.n = n; job.cols = band_columns(a);
    const int32_t threads = sb_pool_size(pool);
    job.split_rows = n < threads * 2 * a->block_n;
    if (a->unfold || b->unfold) sb_pool_run(pool, pair_unfold_task, &job);
    sb_pool_run(pool, pair_gemm_task, &job);
    for (int32_t i = 0; i < threads && i < 64; i++)
        if (job.status[i] != SB_Q8_OK) return job.status[i];
    return SB_Q8_OK;
}

void sb_u8_conv_pair_ref(const sb_q8_conv_plan *a, const int8_t *weights_a, const uint8_t *input_a,
                         const sb_q8_conv_plan *b, const int8_t *weights_b, const uint8_t *input_b,
                         float out_scale, int32_t out_zp, int32_t relu, uint8_t *output,
                         uint8_t *scratch, int32_t *acc, float *fa, float *fb) {
    const size_t count = (size_t)a->out_channels * a->window.out_h * a->window.out_w;
    sb_q8_conv2d_ref(a, weights_a, input_a, NULL, fa, scratch, acc);
    sb_q8_conv2d_ref(b, weights_b, input_b, NULL, fb, scratch, acc);
    for (size_t i = 0; i < count; i++) {
        float v = fa[i] + fb[i];
        sb_quantize_u8_ref(&v, output + i, 1, out_scale, out_zp, relu);
    }
}
