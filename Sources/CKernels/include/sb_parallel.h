// A small persistent thread pool and the multi-threaded convolution driver of the fp32 engine.
//
// One pool serves every layer: workers spin briefly between layers (so a forward pass does not
// pay a futex wake-up per layer) and sleep on a condition variable when idle. BLAS is called
// single-threaded on each thread's share of the GEMM, so BLAS's own threading stays off.
#pragma once
#include <stdint.h>
#include "sb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sb_pool sb_pool;

/// A task run on every thread: `index` in [0, count).
typedef void (*sb_task_fn)(void *context, int32_t index, int32_t count);

/// Creates a pool of `threads` (the calling thread counts as one; `threads - 1` are started).
/// Returns NULL if a thread cannot be started.
sb_pool *sb_pool_create(int32_t threads);
/// Stops and joins the workers.
void sb_pool_destroy(sb_pool *pool);
int32_t sb_pool_size(const sb_pool *pool);
/// Runs `task` on every thread of the pool (the caller runs index 0) and returns when all are done.
void sb_pool_run(sb_pool *pool, sb_task_fn task, void *context);

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
/// more than one thread the unfold is split by channels and the GEMM by output rows or columns,
/// whichever operand is smaller to duplicate.
void sb_conv2d(const sb_conv_plan *plan, const float *input, const float *residual, float *output,
               float *scratch, sb_pool *pool, sb_gemm_fn gemm);

/// The epilogue on a block [row0, row1) x [col0, col1) of a matrix with leading dimension `ld`
/// (the residual has the same layout): data = act(data + bias[row] + residual).
void sb_epilogue_block(float *data, int32_t ld, int32_t row0, int32_t row1, int32_t col0, int32_t col1,
                       const float *bias, const float *residual, int32_t relu);

/// im2col of the input channels [c0, c1) only (rows c0*k_h*k_w ... of the full column matrix).
void sb_im2col_channels(const float *src, float *dst, const sb_window *g, int32_t c0, int32_t c1);

/// Max pooling split over the pool's threads by channel.
void sb_maxpool_parallel(const float *src, float *dst, const sb_window *g, sb_pool *pool);

/// Row-major single-precision GEMV: y[m] = A[m x n] * x[n], A with leading dimension `lda`.
typedef void (*sb_gemv_fn)(int32_t m, int32_t n, const float *a, int32_t lda, const float *x, float *y);

/// y[m] = A[m x n] * x (A dense, row-major) with `gemv` run single-threaded on blocks of
/// SB_GEMV_ROWS rows that the pool's threads take from a shared counter. Every row goes through
/// `gemv` in the same place of a block whatever the thread count, so the result does not
/// depend on it.
#define SB_GEMV_ROWS 128
void sb_gemv_parallel(int32_t m, int32_t n, const float *a, const float *x, float *y, sb_pool *pool, sb_gemv_fn gemv);

#ifdef __cplusplus
}
#endif
