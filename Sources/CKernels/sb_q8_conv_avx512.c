// Implicit unfold for the AVX-512 int8 GEMM: packs a B panel of a convolution straight from
// the uint8 input planes, so the K x N unfold (im2col) buffer is never written.
//
// Panel columns are output pixels n .. n+cols-1 (row-major over the output plane). They fall
// into a few runs on one output row each ("segments"); along a segment the input x advances
// by the stride, so one k row (c, ky, kx) of a segment is one masked load: lanes whose input
// x or y is outside the plane keep the padding value (the input zero point), and masked-off
// lanes never fault. Stride 2 loads twice the bytes and keeps the even ones (vpmovwb). Which
// loads a row needs depends only on its kernel tap (ky, kx), so each panel first lists them
// per tap (offset in the plane, lane mask); a row is then its channel's plane plus that list.
// The four rows of a k group are byte-interleaved as pack_panel does for a matrix B, so the
// micro-kernel sees the same panel as after sb_im2col_u8; the twin tests check it bit for bit.
#include "sb_q8_internal.h"
#if defined(__x86_64__)
#include <immintrin.h>

// sb_q8_conv_implicit keeps windows within these: k_h * k_w taps, and segments per panel
// (1 + ceil((nr - 1) / out_w), each one load per tap and half).
enum { MAX_TAPS = 64, MAX_LOADS = 16 };

/// The masked loads that build one row of a tap: lanes `mask` (source bytes, after the
/// stride's spreading) read plane + offset + lane position.
typedef struct tap_loads {
    int32_t count[2];                 // per 32-lane half for stride 2; [0] only for stride 1
    intptr_t offset[2][MAX_LOADS];
    uint64_t mask[2][MAX_LOADS];
} tap_loads;

__attribute__((target("avx512f,avx512bw,avx512vl,bmi2")))
static inline __m512i load_row(const uint8_t *plane, const tap_loads *t, int32_t halves, __m512i pad) {
    if (halves == 0) {   // stride 1: lane j is byte j of every load
        __m512i v = pad;
        for (int32_t e = 0; e < t->count[0]; e++)
            v = _mm512_mask_loadu_epi8(v, t->mask[0][e], (const void *)((uintptr_t)plane + (uintptr_t)t->offset[0][e]));
        return v;
    }
    // Stride 2: lane 32 h + i is byte 2 i of the half's loads; vpmovwb keeps the even bytes.
    __m256i half[2] = { _mm512_castsi512_si256(pad), _mm512_castsi512_si256(pad) };
    for (int32_t h = 0; h < halves; h++) {
        __m512i src = pad;
        for (int32_t e = 0; e < t->count[h]; e++)
            src = _mm512_mask_loadu_epi8(src, t->mask[h][e], (const void *)((uintptr_t)plane + (uintptr_t)t->offset[h][e]));
        half[h] = _mm512_cvtepi16_epi8(src);
    }
    return _mm512_inserti64x4(_mm512_castsi256_si512(half[0]), half[1], 1);
}

__attribute__((target("avx512f,avx512bw,avx512vl,bmi2")))
void sb_q8_pack_conv_panel_avx512(const uint8_t *input, const sb_window *g, int32_t k, int32_t kp,
                                  uint8_t pad_value, int32_t n, int32_t cols, int32_t nr, uint8_t *dst) {
    const int32_t ow = g->out_w, ih = g->in_h, iw = g->in_w, sw = g->stride_w;
    const int32_t kh = g->k_h, kw = g->k_w, taps = kh * kw;
    const int32_t halves = sw == 1 ? 0 : (nr + 31) / 32;
    if (taps > MAX_TAPS || cols > 64) return;   // sb_q8_conv_implicit refuses these
    tap_loads loads[MAX_TAPS];
    for (int32_t t = 0; t < taps; t++) loads[t].count[0] = loads[t].count[1] = 0;
    // Segments: lanes [j, j + len) on output row oy from output column ox.
    for (int32_t j = 0; j < cols;) {
        const int32_t oy = (n + j) / ow, ox = (n + j) % ow;
        const int32_t len = ow - ox < cols - j ? ow - ox : cols - j;
        const int32_t iy0 = oy * g->stride_h - g->pad_top, ix0 = ox * sw - g->pad_left;
        for (int32_t ky = 0; ky < kh; ky++) {
            const int32_t iy = iy0 + ky;
            if (iy < 0 || iy >= ih) continue;   // the whole segment is padding
            for (int32_t kx = 0; kx < kw; kx++) {
                // Lanes of the segment whose input x = ix0 + kx + sw * (lane - j) is inside.
                uint64_t lanes = 0;
                for (int32_t l = j; l < j + len; l++) {
                    const int32_t x = ix0 + kx + sw * (l - j);
                    if (x >= 0 && x < iw) lanes |= 1ull << l;
                }
                if (lanes == 0) continue;
                tap_loads *t = &loads[ky * kw + kx];
                // Lane l reads plane[iy * iw + ix0 + kx + sw * (l - j)].
                const intptr_t at = (intptr_t)iy * iw + ix0 + kx - (intptr_t)sw * j;
                if (halves == 0) {
                    if (t->count[0] < MAX_LOADS) {
                        t->offset[0][t->count[0]] = at;
                        t->mask[0][t->count[0]++] = lanes;
                    }
                    continue;
                }
                for (int32_t h = 0; h < halves; h++) {
                    const uint32_t part = (uint32_t)(lanes >> (32 * h));
                    if (part == 0 || t->count[h] >= MAX_LOADS) continue;
                    t->offset[h][t->count[h]] = at + 2 * 32 * h;   // lane 32 h + i at byte 2 i
                    t->mask[h][t->count[h]++] = _pdep_u64(part, 0x5555555555555555ull);
                }
            }
        }
        j += len;
    }

    const __m512i pad = _mm512_set1_epi8((char)pad_value);
    const size_t plane_size = (size_t)ih * iw;
    const int32_t chunks = nr / 16;
    int32_t c = 0, tap = 0;   // of the next row
    for (int32_t g4 = 0; g4 < kp; g4 += 4, dst += 4 * nr) {
        __m512i r[4];
        for (int32_t t = 0; t < 4; t++) {
            if (g4 + t >= k) { r[t] = pad; continue; }
            r[t] = load_row(input + (size_t)c * plane_size, &loads[tap], halves, pad);
            if (++tap == taps) { tap = 0; c++; }
        }
        // out[j][t] = row t at lane j. Byte then word interleaves give, in each 128-bit lane L,
        // the dwords of columns 16 L + 4 q .. 16 L + 4 q + 3 in x[q]; a 4 x 4 transpose of
        // 128-bit blocks puts columns 16 L .. 16 L + 15 in order.
        const __m512i a01l = _mm512_unpacklo_epi8(r[0], r[1]), a01h = _mm512_unpackhi_epi8(r[0], r[1]);
        const __m512i a23l = _mm512_unpacklo_epi8(r[2], r[3]), a23h = _mm512_unpackhi_epi8(r[2], r[3]);
        const __m512i x0 = _mm512_unpacklo_epi16(a01l, a23l), x1 = _mm512_unpackhi_epi16(a01l, a23l);
        const __m512i x2 = _mm512_unpacklo_epi16(a01h, a23h), x3 = _mm512_unpackhi_epi16(a01h, a23h);
        const __m512i t0 = _mm512_shuffle_i64x2(x0, x1, 0x44), t1 = _mm512_shuffle_i64x2(x2, x3, 0x44);
        _mm512_storeu_si512(dst, _mm512_shuffle_i64x2(t0, t1, 0x88));
        if (chunks > 1) _mm512_storeu_si512(dst + 64, _mm512_shuffle_i64x2(t0, t1, 0xDD));
        if (chunks > 2) {
            const __m512i t2 = _mm512_shuffle_i64x2(x0, x1, 0xEE), t3 = _mm512_shuffle_i64x2(x2, x3, 0xEE);
            _mm512_storeu_si512(dst + 128, _mm512_shuffle_i64x2(t2, t3, 0x88));
            if (chunks > 3) _mm512_storeu_si512(dst + 192, _mm512_shuffle_i64x2(t2, t3, 0xDD));
        }
    }
}
#endif
