// Private to the int8 GEMM files: packed formats and the variant table entry type.
#pragma once
#include "sb_int8.h"

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

/// Stores rows [r0, r1) x columns [0, cols) of a tile through the epilogue (sb_q8_store_tile).
typedef void (*sb_q8_store_fn)(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                               int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                               const sb_q8_epilogue *ep, void *c, int32_t ldc);
#if defined(__x86_64__)
/// sb_q8_store_tile in AVX-512 (needs AVX-512 F/BW/VL), bit-identical.
void sb_q8_store_tile_avx512(const int32_t *tile, int32_t nr, const int32_t *rowsum, int32_t corr,
                             int32_t m_tile, int32_t r0, int32_t r1, int32_t n, int32_t cols,
                             const sb_q8_epilogue *ep, void *c, int32_t ldc);
#endif

typedef struct sb_q8_variant {
    sb_q8_format format;
    sb_q8_ukernel_fn ukernel;
    /// A vector form of the epilogue with bit-identical results, or NULL for the shared scalar one.
    sb_q8_store_fn store;
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
