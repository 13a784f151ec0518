// Winograd F(4x4, 3x3) convolution for the fp32 engine (Lavin & Gray, "Fast Algorithms for
// Convolutional Neural Networks", 2015).
//
// A 3x3 stride-1 convolution is computed on 4x4 output tiles, each from a 6x6 input tile:
//   U = G g Gᵀ  (per output/input channel pair, once at load)
//   V = Bᵀ d B  (per input channel and tile)
//   M = U ⊙ V summed over input channels: 36 independent GEMMs M[ξ] = U[ξ] · V[ξ]
//   Y = Aᵀ M A  (per output channel and tile), then bias, residual and ReLU.
// The GEMMs do 36 multiply-adds per 4x4 tile and input channel where the direct 3x3 window does
// 144 (4x fewer), at the price of the three transforms and of 4x larger (transformed) weights.
//
// Layouts (T = tiles_h * tiles_w, tiles in row-major order, ξ in [0, 36) = 6*row + column):
//   transformed weights U [36][out_channels][channels]
//   transformed input   V [36][channels][T]
//   GEMM output         M [36][out_channels][T]
// Each transform has a plain reference twin (`*_ref`, matrix products with the explicit
// G, Bᵀ and Aᵀ) that the tests compare it with.
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_kernels.h"
#include "sb_parallel.h"
#include "sb_sgemm.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Transformed-tile size (6x6 = 36 matrices) and output-tile size of F(4x4, 3x3).
#define SB_WINO_ALPHA 6
#define SB_WINO_OUT 4

/// Output tiles in each direction: ceil(out / 4).
int32_t sb_winograd_tiles_h(const sb_window *g);
int32_t sb_winograd_tiles_w(const sb_window *g);

/// Floats of scratch one convolution needs: V and M, 36 * T * (channels + out_channels).
size_t sb_winograd_scratch_floats(const sb_window *g, int32_t out_channels);

/// Weight transform U = G g Gᵀ: `g` [out_channels, channels, 3, 3] (the ONNX layout) into
/// `u` [36][out_channels][channels]. Done once at load.
void sb_winograd_weights(const float *g, float *u, int32_t out_channels, int32_t channels);
void sb_winograd_weights_ref(const float *g, float *u, int32_t out_channels, int32_t channels);

/// Input transform V = Bᵀ d B of the input channels [c0, c1) of `src` [channels, in_h, in_w]
/// into `v` [36][channels][T]; pixels outside the input (the padding) read as zero.
void sb_winograd_input(const float *src, float *v, const sb_window *g, int32_t c0, int32_t c1);
void sb_winograd_input_ref(const float *src, float *v, const sb_window *g, int32_t c0, int32_t c1);

/// Output transform Y = Aᵀ M A of the output channels [o0, o1) from `m` [36][out_channels][T]
/// into `dst` [out_channels, out_h, out_w] (partial edge tiles write only their valid pixels),
/// with the fused epilogue dst = act(Y + bias[o] + residual) (`bias`, `residual` may be NULL;
/// `residual` has dst's layout).
void sb_winograd_output(const float *m, float *dst, const sb_window *g, int32_t out_channels,
                        int32_t o0, int32_t o1, const float *bias, const float *residual, int32_t relu);
void sb_winograd_output_ref(const float *m, float *dst, const sb_window *g, int32_t out_channels,
                            int32_t o0, int32_t o1, const float *bias, const float *residual, int32_t relu);

/// A Winograd convolution prepared at load time.
typedef struct sb_winograd_plan {
    sb_window window;       // 3x3, stride 1
    int32_t out_channels;
    int32_t relu;
    const float *weights;   // transformed, [36][out_channels][channels]
    const float *bias;      // [out_channels] or NULL
} sb_winograd_plan;

/// Runs one convolution, split over the pool's threads by rows of tiles: each thread transforms
/// its tiles' input, runs the 36 GEMMs (`gemm`, single-threaded) on its columns of V and M and
/// transforms its output tiles with the epilogue, so the threads never wait for one another
/// mid-layer. `scratch` holds `sb_winograd_scratch_floats` floats; `residual` may be NULL.
void sb_winograd_conv2d(const sb_winograd_plan *plan, const float *input, const float *residual,
                        float *output, float *scratch, sb_pool *pool, sb_gemm_fn gemm);

/// Floats of `sb_winograd_pack`'s output: the 36 matrices of U, each packed for sb_sgemm.
size_t sb_winograd_packed_floats(int32_t kernel, int32_t out_channels, int32_t channels);
/// Packs transformed weights `u` [36][out_channels][channels] for `kernel` (sb_sgemm_pack_a per ξ)
/// into `packed` (64-byte aligned). Done once at load.
void sb_winograd_pack(int32_t kernel, const float *u, float *packed, int32_t out_channels, int32_t channels);

/// `sb_winograd_conv2d` with the 36 GEMMs run by sb_sgemm (`kernel`) on U as `sb_winograd_pack`
/// packed it (`plan->weights` is not read).
void sb_winograd_conv2d_sgemm(const sb_winograd_plan *plan, const float *packed, int32_t kernel,
                              const float *input, const float *residual, float *output, float *scratch,
                              sb_pool *pool);

#ifdef __cplusplus
}
#endif
