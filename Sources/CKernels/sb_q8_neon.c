// int8 GEMM micro-kernel for aarch64 NEON without the dot product (Cortex-A72, Pi 4).
// Works on int16 (packer stores B - zp and int16 weights): smlal / smlal2 by element
// multiply 4 pixels by one weight lane into int32, exactly. Tile 8 x 8, 16 accumulators.
#include "sb_q8_internal.h"
#if defined(__aarch64__)
#include <arm_neon.h>

enum { MR = 8, NR = 8 };

static void ukernel_neon(int32_t kgroups, const void *a, const void *b, int32_t *tile) {
    const int16_t *pa = a;
    const int16_t *pb = b;
    int32x4_t c0l = vdupq_n_s32(0), c0h = c0l, c1l = c0l, c1h = c0l, c2l = c0l, c2h = c0l,
              c3l = c0l, c3h = c0l, c4l = c0l, c4h = c0l, c5l = c0l, c5h = c0l,
              c6l = c0l, c6h = c0l, c7l = c0l, c7h = c0l;
    for (int32_t k = 0; k < kgroups; k++, pa += MR, pb += NR) {
        const int16x8_t w = vld1q_s16(pa), x = vld1q_s16(pb);
        const int16x4_t xl = vget_low_s16(x);
#define ROW(r) c##r##l = vmlal_laneq_s16(c##r##l, xl, w, r); c##r##h = vmlal_high_laneq_s16(c##r##h, x, w, r);
        ROW(0) ROW(1) ROW(2) ROW(3) ROW(4) ROW(5) ROW(6) ROW(7)
#undef ROW
    }
#define OUT(r) vst1q_s32(tile + r * NR, c##r##l); vst1q_s32(tile + r * NR + 4, c##r##h);
    OUT(0) OUT(1) OUT(2) OUT(3) OUT(4) OUT(5) OUT(6) OUT(7)
#undef OUT
}

const sb_q8_variant sb_q8_variant_neon = {
    .format = { .mr = MR, .nr = NR, .kg = 1, .a_bytes = 2, .b_mode = SB_Q8_B_S16 },
    .ukernel = ukernel_neon,
};
#endif
