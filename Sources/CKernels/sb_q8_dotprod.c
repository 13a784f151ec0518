// int8 GEMM micro-kernel for aarch64 FEAT_DotProd (Cortex-A76, Pi 5): sdot by element.
// sdot is signed x signed, so the packer flips activations to int8 (b ^ 0x80 = b - 128)
// and the driver adds (128 - zp) * rowsum(A). Tile 8 x 8: B is two registers of 4 pixels
// x 4 k, A two registers of 4 rows x 4 k, 16 accumulators. Only ever called after the
// dispatcher has seen HWCAP_ASIMDDP.
#include "sb_q8_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>

enum { MR = 8, NR = 8 };

__attribute__((target("arch=armv8.2-a+dotprod")))
static void ukernel_dotprod(int32_t kgroups, const void *a, const void *b, int32_t *tile) {
    const int8_t *pa = a;
    const int8_t *pb = b;
    int32x4_t c0l = vdupq_n_s32(0), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l,
              c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l,
              c6l = c0l, c6h = c0l, c7l = c0l, c7h = c0l;
    for (int32_t g = 0; g < kgroups; g++, pa += MR * 4, pb += NR * 4) {
        const int8x16_t w0 = vld1q_s8(pa), w1 = vld1q_s8(pa + 16);
        const int8x16_t x0 = vld1q_s8(pb), x1 = vld1q_s8(pb + 16);
#define ROW(r, w, lane) c##r##l = vdotq_laneq_s32(c##r##l, x0, w, lane); \
                        c##r##h = vdotq_laneq_s32(c##r##h, x1, w, lane);
        ROW(0, w0, 0) ROW(1, w0, 1) ROW(2, w0, 2) ROW(3, w0, 3)
        ROW(4, w1, 0) ROW(5, w1, 1) ROW(6, w1, 2) ROW(7, w1, 3)
#undef ROW
    }
#define OUT(r) vst1q_s32(tile + r * NR, c##r##l); vst1q_s32(tile + r * NR + 4, c##r##h);
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
#undef OUT
}

const sb_q8_variant sb_q8_variant_dotprod = {
    .format = { .mr = MR, .nr = NR, .kg = 4, .a_bytes = 1, .b_mode = SB_Q8_B_S8X },
    .ukernel = ukernel_dotprod,
};
#endif
