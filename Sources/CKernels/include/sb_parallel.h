// A small persistent thread pool and the multi-threaded convolution driver of the fp32 engine.
//
// One pool serves every layer. A parallel layer is cut into chunks (several per thread) that
// the calling thread and the workers claim from a shared counter, so a thread the OS deschedules
// delays the layer by at most the chunk it holds, and the caller never waits for a worker that
// has not started (if none wakes in time it runs every chunk itself). Workers spin briefly
// between layers (so a forward pass does not pay a wake-up per layer) and sleep on a condition
// variable when idle. BLAS is called single-threaded on each chunk.
#pragma once
#include <stdint.h>
#include "sb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sb_pool sb_pool;

/// A task of sb_pool_run: `index` in [0, count).
typedef void (*sb_task_fn)(void *context, int32_t index, int32_t count);

/// One chunk of a parallel loop: `chunk` in [0, chunks). `thread` in [0, pool size) names the
/// thread running it, for per-thread scratch: no two chunks run at once with the same `thread`.
/// Which thread runs which chunk varies from run to run, so a chunk's output must depend only
/// on `chunk`.
typedef void (*sb_chunk_fn)(void *context, int32_t chunk, int32_t chunks, int32_t thread);

/// Creates a pool of `threads` (the calling thread counts as one; `threads - 1` are started).
/// Returns NULL if a thread cannot be started.
sb_pool *sb_pool_create(int32_t threads);
/// Stops and joins the workers.
void sb_pool_destroy(sb_pool *pool);
/// Threads of the pool (1 for NULL).
int32_t sb_pool_size(const sb_pool *pool);
/// Chunks to cut `units` indivisible pieces of work into: about `per_thread` for each of the
/// pool's threads, at most `units`; 1 for a single-thread pool (or NULL).
int32_t sb_pool_chunks(const sb_pool *pool, int32_t units, int32_t per_thread);
/// Runs `fn` for every chunk in [0, chunks) on whichever of the pool's threads claim them (the
/// caller takes part) and returns when all are done. Without a pool (or with one thread, or
/// one chunk) the caller runs them in order, as thread 0.
void sb_pool_run_chunks(sb_pool *pool, sb_chunk_fn fn, void *context, int32_t chunks);
/// Runs `task` once for every index in [0, pool size) and returns when all are done. Each
/// index runs exactly once, but not necessarily on its own thread: a slow worker's index is
/// run by a thread that is free (the caller, if no worker wakes in time).
void sb_pool_run(sb_pool *pool, sb_task_fn task, void *context);
/// Testing: worker `thread` (>= 1; -1 for none) sleeps `wake_us` microseconds after each
/// wake-up before it claims anything, and `chunk_us` after claiming each chunk before it runs it.
void sb_pool_set_test_delay(sb_pool *pool, int32_t thread, int32_t wake_us, int32_t chunk_us);

/// Row-major single-precision GEMM: C[m x n] = A[m x k] * B[k x n] with leading dimensions.
typedef void (*sb_gemm_fn)(int32_t m, int32_t n, int32_t k, const float *a, int32_t lda,
                           const float *b, int32_t ldb, float *c, int32_t ldc);

/// A convolution prepared at load time.
typedef struct sb_conv_plan {
    sb_window window;
    int32_t out_channels;   // GEMM M
    int32_t unfold;         // non-zero: im2col (or the strided gather of a 1x1) into scratch first
    int32_t relu;
    const float *weights;   // [out_channels, channels * k_h * k_w]
    const float *bias;      // [out_channels] or NULL
} sb_conv_plan;

/// Runs one convolution with its fused epilogue: output = act(W * unfold(input) + bias + residual).
/// `residual` may be NULL; `scratch` must hold K * N floats when `unfold` is set. With a pool of
/// more than one thread the unfold is cut into chunks of channels and the GEMM into chunks of
/// output rows or columns, whichever operand is smaller to duplicate.
void sb_conv2d(const sb_conv_plan *plan, const float *input, const float *residual, float *output,
               float *scratch, sb_pool *pool, sb_gemm_fn gemm);

/// The epilogue on a block [row0, row1) x [col0, col1) of a matrix with leading dimension `ld`
/// (the residual has the same layout): data = act(data + bias[row] + residual).
void sb_epilogue_block(float *data, int32_t ld, int32_t row0, int32_t row1, int32_t col0, int32_t col1,
                       const float *bias, const float *residual, int32_t relu);

/// Max pooling in chunks of channels over the pool's threads.
void sb_maxpool_parallel(const float *src, float *dst, const sb_window *g, sb_pool *pool);

/// Row-major single-precision GEMV: y[m] = A[m x n] * x[n], A with leading dimension `lda`.
typedef void (*sb_gemv_fn)(int32_t m, int32_t n, const float *a, int32_t lda, const float *x, float *y);

/// y[m] = A[m x n] * x (A dense, row-major) with `gemv` run single-threaded on blocks of
/// SB_GEMV_ROWS rows, the pool's chunks. Every row goes through `gemv` in the same place of a
/// block whatever the thread count, so the result does not depend on it.
#define SB_GEMV_ROWS 128
void sb_gemv_parallel(int32_t m, int32_t n, const float *a, const float *x, float *y, sb_pool *pool, sb_gemv_fn gemv);

/// Part `index` of `count` of the range [0, total), cut on multiples of `align` (the last part
/// keeps the remainder; parts differ by at most one `align` block): [*begin, *end).
static inline void sb_split_range(int32_t total, int32_t index, int32_t count, int32_t align,
                                  int32_t *begin, int32_t *end) {
    int32_t chunks = (total + align - 1) / align;
    int32_t per = chunks / count, extra = chunks % count;
    int32_t first = index * per + (index < extra ? index : extra);
    int32_t mine = per + (index < extra ? 1 : 0);
    *begin = first * align;
    *end = (first + mine) * align;
    if (*begin > total) *begin = total;
    if (*end > total) *end = total;
}

#ifdef __cplusplus
}
#endif
