// Private to the int8 GEMM files: packed formats and the variant table entry type.
#pragma once
#include "sb_int8.h"
#include "sb_kernels.h"

// Each variant computes an MR x NR int32 tile from packed operands; the shared driver in
// sb_q8.c adds the zero-point correction and runs the epilogue.
//
// Packed A, per block of MR rows: [Kp/kg][MR][kg] elements (int8, or int16 if a_bytes == 2),
// rows past M and k past K are zero. Packed B panel of NR columns: [Kp/kg][NR][kg] elements,
// columns past the range and k past K are zero; the element form depends on b_mode.
enum {
    SB_Q8_B_U8 = 0,   // uint8 as given; acc = dot - zp * rowsum(A)
    SB_Q8_B_S8X = 1,  // int8 = b ^ 0x80 = b - 128; acc = dot + (128 - zp) * rowsum(A)
    SB_Q8_B_S16 = 2   // int16 = b - zp; acc = dot
};

typedef struct sb_q8_format {
    int32_t mr, nr, kg;      // row block, column block, k elements per group
    int32_t a_bytes;         // 1: int8 weights, 2: int16 weights
    int32_t b_mode;          // SB_Q8_B_*
} sb_q8_format;

/// Computes tile[r*NR + j] = sum over kgroups*kg k of a[k][r] * b[k][j] (packed forms).
typedef void (*sb_q8_ukernel_fn)(int32_t kgroups, const void *a, const void *b, int32_t *tile);

/// The same tile for a panel whose columns past `cols` (< NR) are padding: only columns
/// [0, cols) of the tile are defined on return.
typedef void (*sb_q8_narrow_fn)(int32_t kgroups, const void *a, const void *b, int32_t *tile, int32_t cols);

/// Stores rows [r0, r1) x columns [0, cols) of a tile through the epilogue (sb_q8_store_tile).
typedef void (*sb_q8_store_fn)(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                               int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                               const sb_q8_epilogue *ep, void *c, int32_t ldc);
/// Stores rows [r0, r1) x columns [0, cols) of two tiles of one output block through the pair
/// epilogue of sb_q8_gemm_pair: each tile's F32 value, their sum, then sb_quantize_u8's steps.
typedef struct sb_q8_pair_tiles {
    const int32_t *tile[2];
    const int32_t *rowsum[2];      // at the block's first row
    int32_t corr[2];
    const sb_q8_epilogue *ep[2];
    float out_scale;
    int32_t out_zp, relu;
} sb_q8_pair_tiles;
typedef void (*sb_q8_store_pair_fn)(const sb_q8_pair_tiles *t, int32_t nr, int32_t m_tile, int32_t r0,
                                    int32_t r1, int32_t n, int32_t cols, uint8_t *c, int32_t ldc);
void sb_q8_store_pair(const sb_q8_pair_tiles *t, int32_t nr, int32_t m_tile, int32_t r0, int32_t r1,
                      int32_t n, int32_t cols, uint8_t *c, int32_t ldc);
#if defined(__x86_64__)
/// sb_q8_store_pair in AVX-512 (F/BW/VL), bit-identical.
void sb_q8_store_pair_avx512(const sb_q8_pair_tiles *t, int32_t nr, int32_t m_tile, int32_t r0, int32_t r1,
                             int32_t n, int32_t cols, uint8_t *c, int32_t ldc);
/// sb_q8_store_tile in AVX-512 (needs AVX-512 F/BW/VL), bit-identical.
void sb_q8_store_tile_avx512(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                             int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                             const sb_q8_epilogue *ep, void *c, int32_t ldc);
/// Packs panel columns [n, n + cols) (cols <= nr, nr a multiple of 16 up to 64) of the unfold
/// of `input` by `g` (rows c*k_h*k_w + ky*k_w + kx, `pad_value` outside the planes; stride_w 1
/// or 2, k_h * k_w <= 64, at most 16 output rows touched per panel) in the byte form [kp/4][nr][4], as pack_panel packs the unfolded matrix
/// (lanes past cols hold unspecified bytes). Needs AVX-512 F/BW/VL and BMI2.
void sb_q8_pack_conv_panel_avx512(const uint8_t *input, const sb_window *g, int32_t k, int32_t kp,
                                  uint8_t pad_value, int32_t n, int32_t cols, int32_t nr, uint8_t *dst);
/// 1 when the CPU has AVX-512 F/BW/VBMI (checked once).
int32_t sb_q8_have_vbmi(void);
/// Packs columns [n, n + 64) of the uint8 matrix b [k x ldb] as two full 32-column panels in the
/// byte form [kp/4][32][4] (k past `k` zero), `dst0` the first, `dst1` the second: the same bytes
/// as pack_panel (sb_q8.c), 64 columns of four rows per step. Needs sb_q8_have_vbmi().
void sb_q8_pack_two_panels_vbmi(const uint8_t *b, int32_t ldb, int32_t k, int32_t kp, int32_t n,
                                uint8_t *dst0, uint8_t *dst1);
/// Packs panel columns [n, n + cols) of a window (stride 1 or 2) from padded c4 planes
/// (sb_u8_to_c4) in the byte form [kp/4][nr][4] for weights in c4 K order (sb_q8_reorder_c4);
/// lanes past cols hold unspecified bytes. Needs AVX-512 F/BW/VL and BMI2.
void sb_q8_pack_conv_panel_c4_avx512(const uint8_t *input, const sb_window *g, int32_t kp, int32_t n,
                                     int32_t cols, int32_t nr, uint8_t *dst);
#endif

typedef struct sb_q8_variant {
    sb_q8_format format;
    sb_q8_ukernel_fn ukernel;
    /// A vector form of the epilogue with bit-identical results, or NULL for the shared scalar one.
    sb_q8_store_fn store;
    /// Non-zero: B panels of a convolution can be packed from the input directly
    /// (sb_q8_pack_conv_panel_avx512), with no unfold buffer.
    int32_t implicit_unfold;
    /// A micro-kernel for partial panels that skips most padding columns, or NULL.
    sb_q8_narrow_fn ukernel_narrow;
    /// A vector form of the pair epilogue with bit-identical results, or NULL for the scalar one.
    sb_q8_store_pair_fn store_pair;
} sb_q8_variant;

#define SB_Q8_MAX_TILE 512   // MR * NR of the largest variant, int32 elements

extern const sb_q8_variant sb_q8_variant_ref;
#if defined(__x86_64__)
extern const sb_q8_variant sb_q8_variant_avx2;
extern const sb_q8_variant sb_q8_variant_avx512vnni;
extern const sb_q8_variant sb_q8_variant_avxvnni;
#endif
#if defined(__aarch64__)
extern const sb_q8_variant sb_q8_variant_neon;
extern const sb_q8_variant sb_q8_variant_dotprod;
#endif

/// The fused epilogue for rows [r0, r1) x columns [0, cols) of a tile whose first row is
/// matrix row m_tile and first column matrix column n, shared by every variant.
void sb_q8_store_tile(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                      int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                      const sb_q8_epilogue *ep, void *c, int32_t ldc);
