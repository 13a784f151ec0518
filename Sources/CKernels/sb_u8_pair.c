// Two int8 convolutions added in fp32 before one requantisation (sb_u8_pair.h).
#include "sb_u8_pair.h"
#include <stdatomic.h>
#include <string.h>

static size_t unfold_bytes(const sb_q8_conv_plan *p) {
    const sb_window *w = &p->window;
    return p->unfold ? (size_t)w->channels * w->k_h * w->k_w * (size_t)w->out_h * w->out_w : 0;
}

/// Whether a plan's B is packed straight from its input (no unfold buffer).
static int32_t implicit(const sb_q8_conv_plan *p) {
    return p->unfold && sb_q8_conv_implicit(sb_q8_packed_kernel(p->packed), &p->window);
}

size_t sb_u8_pair_scratch_bytes(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b) {
    return (implicit(a) ? 0 : unfold_bytes(a)) + (implicit(b) ? 0 : unfold_bytes(b));
}

size_t sb_u8_pair_workspace_size(const sb_q8_conv_plan *a, const sb_q8_conv_plan *b) {
    const sb_window *wa = &a->window, *wb = &b->window;
    return sb_q8_pair_workspace_size(sb_q8_packed_kernel(a->packed), wa->channels * wa->k_h * wa->k_w,
                                     wb->channels * wb->k_h * wb->k_w);
}

typedef struct {
    const sb_q8_conv_plan *plan[2];
    const uint8_t *input[2];
    uint8_t *unfold[2];         // NULL: no unfold (1x1 stride 1, or packed from the input)
    sb_q8_operand op[2];
    uint8_t *output;
    char *workspaces;
    size_t workspace_size;
    float out_scale;
    int32_t out_zp, relu, m, n, split_rows;
    _Atomic int32_t status;     // SB_Q8_OK, or the first error a chunk returned
} pair_job;

static void pair_unfold_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    (void)thread;
    pair_job *job = raw;
    for (int32_t i = 0; i < 2; i++) {
        const sb_q8_conv_plan *p = job->plan[i];
        if (job->unfold[i] == NULL) continue;
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

// One chunk of output columns (or rows): both products tile by tile, one fused epilogue.
static void pair_gemm_task(void *raw, int32_t index, int32_t count, int32_t thread) {
    pair_job *job = raw;
    const sb_q8_conv_plan *pa = job->plan[0];
    int32_t r0 = 0, r1 = job->m, c0 = 0, c1 = job->n;
    if (job->split_rows) sb_split_range(job->m, index, count, pa->block_m, &r0, &r1);
    else sb_split_range(job->n, index, count, pa->block_n, &c0, &c1);
    if (r1 <= r0 || c1 <= c0) return;
    int32_t rc = sb_q8_gemm_pair(&job->op[0], &job->op[1], job->out_scale, job->out_zp, job->relu, r0, r1, c0, c1,
                                 job->output, job->n, job->workspaces + (size_t)thread * job->workspace_size,
                                 job->workspace_size);
    if (rc != SB_Q8_OK) {
        int32_t ok = SB_Q8_OK;
        atomic_compare_exchange_strong(&job->status, &ok, rc);
    }
}

int32_t sb_u8_conv_pair(const sb_q8_conv_plan *a, const uint8_t *input_a,
                        const sb_q8_conv_plan *b, const uint8_t *input_b,
                        float out_scale, int32_t out_zp, int32_t relu, uint8_t *output,
                        uint8_t *scratch, void *workspaces, size_t workspace_size, sb_pool *pool) {
    const int32_t n = a->window.out_h * a->window.out_w;
    if (a->out_channels != b->out_channels || n != b->window.out_h * b->window.out_w ||
        a->epilogue.out_type != SB_Q8_OUT_F32 || b->epilogue.out_type != SB_Q8_OUT_F32 ||
        a->epilogue.residual != NULL || b->epilogue.residual != NULL || a->epilogue.relu || b->epilogue.relu ||
        a->c4 || b->c4)
        return SB_Q8_E_ARGUMENT;
    if (workspace_size < sb_u8_pair_workspace_size(a, b)) return SB_Q8_E_BUFFER;
    pair_job job;
    memset(&job, 0, sizeof job);
    atomic_init(&job.status, SB_Q8_OK);
    job.plan[0] = a; job.plan[1] = b;
    job.input[0] = input_a; job.input[1] = input_b;
    uint8_t *next = scratch;
    for (int32_t i = 0; i < 2; i++) {
        const sb_q8_conv_plan *p = job.plan[i];
        const int32_t packed_from_input = implicit(p);
        if (p->unfold && !packed_from_input) {
            if (next == NULL) return SB_Q8_E_ARGUMENT;
            job.unfold[i] = next;
            next += unfold_bytes(p);
        }
        job.op[i] = (sb_q8_operand){
            .packed = p->packed, .zero_point = p->input_zp, .epilogue = &p->epilogue,
            .b = packed_from_input ? NULL : job.unfold[i] ? job.unfold[i] : job.input[i], .ldb = n,
            .input = job.input[i], .window = &p->window,
        };
    }
    job.output = output;
    job.workspaces = workspaces; job.workspace_size = workspace_size;
    job.out_scale = out_scale; job.out_zp = out_zp; job.relu = relu;
    job.m = a->out_channels; job.n = n;
    const int32_t threads = sb_pool_size(pool);
    job.split_rows = n < threads * 2 * a->block_n;
    if (job.unfold[0] || job.unfold[1])
        sb_pool_run_chunks(pool, pair_unfold_task, &job, sb_pool_chunks(pool, a->window.channels, 4));
    // As sb_q8_conv2d: chunks of columns pack only their own panels, about four per thread;
    // chunks of rows each pack all of B again, two per thread.
    const int32_t chunks = job.split_rows
        ? sb_pool_chunks(pool, (job.m + a->block_m - 1) / a->block_m, 2)
        : sb_pool_chunks(pool, (n + a->block_n - 1) / a->block_n, 4);
    sb_pool_run_chunks(pool, pair_gemm_task, &job, chunks);
    return atomic_load(&job.status);
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
