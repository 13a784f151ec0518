// Private to the fp32 GEMM files (sb_sgemm*.c): the micro-kernel interface and variant table.
#pragma once
#include "sb_sgemm.h"

/// Largest MR * NR of any variant, and largest NR.
#define SB_SGEMM_MAX_TILE (32 * 14)
#define SB_SGEMM_MAX_NR 16

/// Where a micro-kernel's tile comes from and goes to.
typedef struct sb_sgemm_tile {
    const float *bias;      ///< bias of the tile's first row, or NULL; read only when acc_in is NULL
    const float *acc_in;    ///< partial sums [NR][MR] of earlier k blocks, or NULL (start at bias)
    float *acc_out;         ///< non-NULL: more k blocks follow, store the partial sums [NR][MR] here
    float *c;               ///< else: C at the tile's first row and column
    const float *residual;  ///< same layout as C (ldc), or NULL
    int32_t ldc;
    int32_t rows;           ///< valid rows of the tile, 1...MR
    int32_t relu;
    /// Non-NULL (variants with `window_b` only): B is read in place from padded input planes,
    /// row p at b + koff[p], its column j `cs` floats after column j - 1 (ldb unused).
    const int32_t *koff;
    int32_t cs;
} sb_sgemm_tile;

/// Computes an MR x `cols` tile (cols <= NR) over `k` steps: a [k][MR] (packed A), b row p at
/// b + p * ldb (its first `cols` floats; see `koff` for the other layout), then stores as `t` says.
typedef void (*sb_sgemm_ukernel_fn)(int32_t cols, int32_t k, const float *a, const float *b, int32_t ldb,
                                    const sb_sgemm_tile *t);

/// Packs columns [j0, j0 + cols) of unfold(src) into dst [K][NR]; NULL uses the portable packer.
typedef void (*sb_sgemm_pack_fn)(const float *src, const sb_window *g, int32_t j0, int32_t cols, float *dst);

typedef struct sb_sgemm_variant {
    int32_t mr, nr;
    sb_sgemm_ukernel_fn ukernel;
    sb_sgemm_pack_fn pack;
    int32_t window_b;   ///< the micro-kernel reads `koff` tiles (B in place from padded planes)
} sb_sgemm_variant;

extern const sb_sgemm_variant sb_sgemm_variant_ref;
#if defined(__x86_64__)
extern const sb_sgemm_variant sb_sgemm_variant_avx2;
extern const sb_sgemm_variant sb_sgemm_variant_avx512;
#endif

/// The portable packer (any window), with the panel width `nr`.
void sb_sgemm_pack_window_generic(const float *src, const sb_window *g, int32_t j0, int32_t cols, int32_t nr,
                                  float *dst);

/// The shared tile store for variants that spill their accumulators as [NR][MR] (`tile`):
/// transposes into C with bias (when `t->acc_in` was NULL the variant already added it), residual and ReLU.
void sb_sgemm_store_tile(const float *tile, int32_t mr, int32_t cols, const sb_sgemm_tile *t);
