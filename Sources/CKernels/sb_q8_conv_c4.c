// The channel-interleaved path of the int8 convolution: a stride-1 or -2 window's input is first
// copied into padded "c4" planes, [ceil(C/4)][in_h + pads][in_w + pads][4] (four channels'
// bytes of one pixel side by side, the zero point around and in missing channels), and its
// weights are reordered so that each k group of four is four channels at one tap (K order
// c4, tap, c % 4). A B panel's k group is then one dword per column, read straight from the
// planes: one masked load per row segment and half-panel, no byte interleaving, and no bounds
// test per lane since the padding is in the planes. It gives the same int32 sums as the plain
// unfold with the original K order; the twin tests check the whole convolution bit for bit.
#include "sb_q8_internal.h"
#include "sb_q8_conv.h"
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

static int32_t c4_groups(int32_t channels) { return (channels + 3) / 4; }

static int32_t padded_h(const sb_window *g) { return g->in_h + g->pad_top + g->pad_bottom; }
static int32_t padded_w(const sb_window *g) { return g->in_w + g->pad_left + g->pad_right; }

size_t sb_q8_c4_input_bytes(const sb_window *g) {
    return (size_t)c4_groups(g->channels) * (size_t)padded_h(g) * (size_t)padded_w(g) * 4;
}

int32_t sb_q8_c4_reduction(const sb_window *g) { return c4_groups(g->channels) * g->k_h * g->k_w * 4; }

void sb_q8_reorder_c4(const int8_t *w, int32_t m, const sb_window *g, int8_t *dst) {
    const int32_t taps = g->k_h * g->k_w, k = g->channels * taps, kc = sb_q8_c4_reduction(g);
    for (int32_t r = 0; r < m; r++) {
        const int8_t *row = w + (size_t)r * k;
        int8_t *out = dst + (size_t)r * kc;
        for (int32_t c4 = 0; c4 < c4_groups(g->channels); c4++)
            for (int32_t t = 0; t < taps; t++)
                for (int32_t i = 0; i < 4; i++) {
                    const int32_t c = 4 * c4 + i;
                    out[((size_t)c4 * taps + t) * 4 + i] = c < g->channels ? row[(size_t)c * taps + t] : 0;
                }
    }
}

#if defined(__x86_64__)
/// Permute indices of the 4-row interleave, constant (built once, not per call): bytes j of rows
/// a/b paired (byte_lo: pixels 0-31, byte_hi: 32-63: byte 2j is j of a, 2j + 1 is j of b, a's
/// index +64 selecting b), then words j of the two pairs (word_lo: 0-15, word_hi: 16-31).
static _Alignas(64) const uint8_t byte_lo[64] = {
    0, 64, 1, 65, 2, 66, 3, 67, 4, 68, 5, 69, 6, 70, 7, 71,
    8, 72, 9, 73, 10, 74, 11, 75, 12, 76, 13, 77, 14, 78, 15, 79,
    16, 80, 17, 81, 18, 82, 19, 83, 20, 84, 21, 85, 22, 86, 23, 87,
    24, 88, 25, 89, 26, 90, 27, 91, 28, 92, 29, 93, 30, 94, 31, 95
};
static _Alignas(64) const uint8_t byte_hi[64] = {
    32, 96, 33, 97, 34, 98, 35, 99, 36, 100, 37, 101, 38, 102, 39, 103,
    40, 104, 41, 105, 42, 106, 43, 107, 44, 108, 45, 109, 46, 110, 47, 111,
    48, 112, 49, 113, 50, 114, 51, 115, 52, 116, 53, 117, 54, 118, 55, 119,
    56, 120, 57, 121, 58, 122, 59, 123, 60, 124, 61, 125, 62, 126, 63, 127
};
static _Alignas(64) const uint16_t word_lo[32] = {
    0, 32, 1, 33, 2, 34, 3, 35, 4, 36, 5, 37, 6, 38, 7, 39,
    8, 40, 9, 41, 10, 42, 11, 43, 12, 44, 13, 45, 14, 46, 15, 47
};
static _Alignas(64) const uint16_t word_hi[32] = {
    16, 48, 17, 49, 18, 50, 19, 51, 20, 52, 21, 53, 22, 54, 23, 55,
    24, 56, 25, 57, 26, 58, 27, 59, 28, 60, 29, 61, 30, 62, 31, 63
};

__attribute__((target("avx512f,avx512bw")))
static inline void interleave_indices(__m512i *bl, __m512i *bh, __m512i *wl, __m512i *wh) {
    *bl = _mm512_load_si512(byte_lo); *bh = _mm512_load_si512(byte_hi);
    *wl = _mm512_load_si512(word_lo); *wh = _mm512_load_si512(word_hi);
}

/// `count` pixels of four channel rows into c4 order: out[4 j + i] = r[i][j], 64 pixels a step
/// (the last one masked). Two-source byte permutes interleave rows 0/1 and 2/3, then word
/// permutes interleave the pairs.
__attribute__((target("avx512f,avx512bw,avx512vbmi")))
static void interleave64_vbmi(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3,
                              int32_t count, uint8_t *o) {
    __m512i bl, bh, wl, wh;
    interleave_indices(&bl, &bh, &wl, &wh);
    for (int32_t x = 0; x < count; x += 64, o += 256) {
        // The last block of a row: masked loads, and only 4 * (count - x) bytes stored.
        const int32_t n = count - x < 64 ? count - x : 64;
        const __mmask64 in = n == 64 ? ~(__mmask64)0 : (((__mmask64)1 << n) - 1);
        const __m512i a = _mm512_maskz_loadu_epi8(in, r0 + x), b = _mm512_maskz_loadu_epi8(in, r1 + x);
        const __m512i c = _mm512_maskz_loadu_epi8(in, r2 + x), d = _mm512_maskz_loadu_epi8(in, r3 + x);
        const __m512i ab0 = _mm512_permutex2var_epi8(a, bl, b), ab1 = _mm512_permutex2var_epi8(a, bh, b);
        const __m512i cd0 = _mm512_permutex2var_epi8(c, bl, d), cd1 = _mm512_permutex2var_epi8(c, bh, d);
        const __m512i out[4] = { _mm512_permutex2var_epi16(ab0, wl, cd0), _mm512_permutex2var_epi16(ab0, wh, cd0),
                                 _mm512_permutex2var_epi16(ab1, wl, cd1), _mm512_permutex2var_epi16(ab1, wh, cd1) };
        for (int32_t q = 0; q < 4; q++) {
            const int32_t bytes = 4 * n - 64 * q;
            if (bytes <= 0) break;
            const __mmask64 keep = bytes >= 64 ? ~(__mmask64)0 : (((__mmask64)1 << bytes) - 1);
            _mm512_mask_storeu_epi8(o + 64 * q, keep, out[q]);
        }
    }
}

static _Atomic int32_t vbmi_allowed = 1;

int32_t sb_q8_have_vbmi(void) {
    static _Atomic int32_t cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vbmi");
    }
    return cached && vbmi_allowed;
}

__attribute__((target("avx512f,avx512bw,avx512vbmi")))
void sb_q8_pack_two_panels_vbmi(const uint8_t *b, int32_t ldb, int32_t k, int32_t kp, int32_t n,
                                uint8_t *dst0, uint8_t *dst1) {
    __m512i bl, bh, wl, wh;
    interleave_indices(&bl, &bh, &wl, &wh);
    const __m512i zero = _mm512_setzero_si512();
    for (int32_t g = 0; g < kp; g += 4, dst0 += 128, dst1 += 128) {
        const uint8_t *r = b + (size_t)g * ldb + n;
        const __m512i a = g + 0 < k ? _mm512_loadu_si512(r) : zero;
        const __m512i bb = g + 1 < k ? _mm512_loadu_si512(r + ldb) : zero;
        const __m512i c = g + 2 < k ? _mm512_loadu_si512(r + 2 * (size_t)ldb) : zero;
        const __m512i d = g + 3 < k ? _mm512_loadu_si512(r + 3 * (size_t)ldb) : zero;
        const __m512i ab0 = _mm512_permutex2var_epi8(a, bl, bb), ab1 = _mm512_permutex2var_epi8(a, bh, bb);
        const __m512i cd0 = _mm512_permutex2var_epi8(c, bl, d), cd1 = _mm512_permutex2var_epi8(c, bh, d);
        _mm512_storeu_si512(dst0, _mm512_permutex2var_epi16(ab0, wl, cd0));
        _mm512_storeu_si512(dst0 + 64, _mm512_permutex2var_epi16(ab0, wh, cd0));
        _mm512_storeu_si512(dst1, _mm512_permutex2var_epi16(ab1, wl, cd1));
        _mm512_storeu_si512(dst1 + 64, _mm512_permutex2var_epi16(ab1, wh, cd1));
    }
}
#endif

void sb_u8_to_c4(const uint8_t *src, const sb_window *g, uint8_t zero_point, int32_t c4_0, int32_t c4_1,
                 uint8_t *dst) {
    const int32_t h = g->in_h, w = g->in_w, ph = padded_h(g), pw = padded_w(g);
    const size_t plane = (size_t)h * w, out_plane = (size_t)ph * pw * 4;
    uint8_t fill[4] = { zero_point, zero_point, zero_point, zero_point };
#if defined(__x86_64__)
    const int32_t vbmi = sb_q8_have_vbmi();
#endif
    for (int32_t c4 = c4_0; c4 < c4_1; c4++) {
        uint8_t *out = dst + (size_t)c4 * out_plane;
        const uint8_t *rows[4];
        for (int32_t i = 0; i < 4; i++) rows[i] = 4 * c4 + i < g->channels ? src + (size_t)(4 * c4 + i) * plane : NULL;
        memset(out, zero_point, (size_t)g->pad_top * pw * 4);
        memset(out + ((size_t)(g->pad_top + h) * pw) * 4, zero_point, (size_t)g->pad_bottom * pw * 4);
        for (int32_t y = 0; y < h; y++) {
            uint8_t *o = out + ((size_t)(g->pad_top + y) * pw) * 4;
            memset(o, zero_point, (size_t)g->pad_left * 4);
            memset(o + (size_t)(g->pad_left + w) * 4, zero_point, (size_t)g->pad_right * 4);
            o += (size_t)g->pad_left * 4;
            const uint8_t *r[4];
            for (int32_t i = 0; i < 4; i++) r[i] = rows[i] ? rows[i] + (size_t)y * w : NULL;
            int32_t x = 0;
#if defined(__x86_64__)
            if (r[0] && r[1] && r[2] && r[3] && vbmi) {
                interleave64_vbmi(r[0], r[1], r[2], r[3], w, o);
                x = w;
                o += (size_t)w * 4;
            }
            if (r[0] && r[1] && r[2] && r[3])
                for (; x + 16 <= w; x += 16, o += 64) {
                    const __m128i r0 = _mm_loadu_si128((const __m128i *)(r[0] + x));
                    const __m128i r1 = _mm_loadu_si128((const __m128i *)(r[1] + x));
                    const __m128i r2 = _mm_loadu_si128((const __m128i *)(r[2] + x));
                    const __m128i r3 = _mm_loadu_si128((const __m128i *)(r[3] + x));
                    const __m128i a01l = _mm_unpacklo_epi8(r0, r1), a01h = _mm_unpackhi_epi8(r0, r1);
                    const __m128i a23l = _mm_unpacklo_epi8(r2, r3), a23h = _mm_unpackhi_epi8(r2, r3);
                    _mm_storeu_si128((__m128i *)o + 0, _mm_unpacklo_epi16(a01l, a23l));
                    _mm_storeu_si128((__m128i *)o + 1, _mm_unpackhi_epi16(a01l, a23l));
                    _mm_storeu_si128((__m128i *)o + 2, _mm_unpacklo_epi16(a01h, a23h));
                    _mm_storeu_si128((__m128i *)o + 3, _mm_unpackhi_epi16(a01h, a23h));
                }
#endif
            for (; x < w; x++, o += 4)
                for (int32_t i = 0; i < 4; i++) o[i] = r[i] ? r[i][x] : fill[i];
        }
    }
}

#if defined(__x86_64__)
enum { MAX_SEGMENTS = 8 };

__attribute__((target("avx512f,avx512bw,avx512vl,bmi2")))
void sb_q8_pack_conv_panel_c4_avx512(const uint8_t *input, const sb_window *g, int32_t kp, int32_t n,
                                     int32_t cols, int32_t nr, uint8_t *dst) {
    const int32_t ow = g->out_w, pw = padded_w(g), taps = g->k_h * g->k_w, sw = g->stride_w;
    const size_t plane = (size_t)padded_h(g) * pw * 4;
    // Segments: panel lanes [j, j + len) on output row oy from column ox read, at tap (ky, kx),
    // the dwords at (oy * stride_h + ky) * pw + ox * stride_w + kx: lane l at base + tap offset
    // + 4 * stride_w * l.
    intptr_t base[MAX_SEGMENTS];
    uint32_t mask[MAX_SEGMENTS][4];   // per 16-lane quarter of the panel
    uint32_t spread[MAX_SEGMENTS][4][2];
    int32_t segments = 0;
    for (int32_t j = 0; j < cols && segments < MAX_SEGMENTS; segments++) {
        const int32_t oy = (n + j) / ow, ox = (n + j) % ow;
        const int32_t len = ow - ox < cols - j ? ow - ox : cols - j;
        base[segments] = ((intptr_t)oy * g->stride_h * pw + (intptr_t)ox * sw) * 4 - (intptr_t)4 * sw * j;
        const uint64_t lanes = (len >= 64 ? ~0ull : ((1ull << len) - 1)) << j;
        for (int32_t q = 0; q < 4; q++) {
            mask[segments][q] = (uint32_t)(lanes >> (16 * q)) & 0xFFFFu;
            // Stride 2: lane i of the quarter is dword 2 i of its two source vectors.
            const uint32_t wide = (uint32_t)_pdep_u32(mask[segments][q], 0x55555555u);
            spread[segments][q][0] = wide & 0xFFFFu;
            spread[segments][q][1] = wide >> 16;
        }
        j += len;
    }
    const int32_t quarters = nr / 16;
    // Byte offset of each tap in a c4 plane (the division by k_w once per panel, not per k group).
    intptr_t tap_at[64];
    for (int32_t t = 0; t < taps; t++) tap_at[t] = ((intptr_t)(t / g->k_w) * pw + t % g->k_w) * 4;
    const int32_t groups = kp / 4;
    if (sw == 1 && segments == 1 && quarters == 2) {
        // The common case: the panel lies within one output row.
        const __mmask16 m0 = (__mmask16)mask[0][0], m1 = (__mmask16)mask[0][1];
        const uint8_t *row = input + base[0];
        int32_t c4 = 0, tap = 0;
        for (int32_t k = 0; k < groups; k++, dst += 4 * nr) {
            const uint8_t *at = row + (size_t)c4 * plane + tap_at[tap];
            _mm512_storeu_si512(dst, _mm512_maskz_loadu_epi32(m0, at));
            _mm512_storeu_si512(dst + 64, _mm512_maskz_loadu_epi32(m1, at + 64));
            if (++tap == taps) { tap = 0; c4++; }
        }
        return;
    }
    if (sw == 1 && segments == 2 && quarters == 2) {
        // A panel across two output rows: lanes of each quarter from one or both.
        const __mmask16 a0 = (__mmask16)mask[0][0], a1 = (__mmask16)mask[0][1];
        const __mmask16 b0 = (__mmask16)mask[1][0], b1 = (__mmask16)mask[1][1];
        const uint8_t *ra = input + base[0], *rb = input + base[1];
        int32_t c4 = 0, tap = 0;
        for (int32_t k = 0; k < groups; k++, dst += 4 * nr) {
            const size_t off = (size_t)c4 * plane + tap_at[tap];
            __m512i v0 = _mm512_maskz_loadu_epi32(a0, ra + off);
            __m512i v1 = _mm512_maskz_loadu_epi32(a1, ra + off + 64);
            v0 = _mm512_mask_loadu_epi32(v0, b0, rb + off);
            v1 = _mm512_mask_loadu_epi32(v1, b1, rb + off + 64);
            _mm512_storeu_si512(dst, v0);
            _mm512_storeu_si512(dst + 64, v1);
            if (++tap == taps) { tap = 0; c4++; }
        }
        return;
    }
    // General case: per quarter, only the segments with lanes in it.
    intptr_t q_base[4][MAX_SEGMENTS];
    __mmask16 q_mask[4][MAX_SEGMENTS][2];
    int32_t q_count[4] = { 0, 0, 0, 0 };
    for (int32_t q = 0; q < quarters; q++)
        for (int32_t s = 0; s < segments; s++) {
            if (!mask[s][q]) continue;
            const int32_t i = q_count[q]++;
            q_base[q][i] = base[s] + (sw == 1 ? 64 : 128) * q;
            q_mask[q][i][0] = (__mmask16)(sw == 1 ? mask[s][q] : spread[s][q][0]);
            q_mask[q][i][1] = (__mmask16)spread[s][q][1];
        }
    // Stride 2: the 16 lanes of a quarter are the even dwords of 32 consecutive ones.
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    int32_t c4 = 0, tap = 0;
    for (int32_t k = 0; k < groups; k++, dst += 4 * nr) {
        const uint8_t *at = input + (size_t)c4 * plane + tap_at[tap];
        for (int32_t q = 0; q < quarters; q++) {
            if (sw == 1) {
                __m512i v = _mm512_setzero_si512();
                for (int32_t i = 0; i < q_count[q]; i++)
                    v = _mm512_mask_loadu_epi32(v, q_mask[q][i][0], at + q_base[q][i]);
                _mm512_storeu_si512(dst + 64 * q, v);
            } else {
                __m512i lo = _mm512_setzero_si512(), hi = _mm512_setzero_si512();
                for (int32_t i = 0; i < q_count[q]; i++) {
                    lo = _mm512_mask_loadu_epi32(lo, q_mask[q][i][0], at + q_base[q][i]);
                    hi = _mm512_mask_loadu_epi32(hi, q_mask[q][i][1], at + q_base[q][i] + 64);
                }
                _mm512_storeu_si512(dst + 64 * q, _mm512_permutex2var_epi32(lo, even, hi));
            }
        }
        if (++tap == taps) { tap = 0; c4++; }
    }
}
#endif

void sb_q8_allow_vbmi(int32_t allowed) {
#if defined(__x86_64__)
    vbmi_allowed = allowed != 0;
#else
    (void)allowed;
#endif
}
