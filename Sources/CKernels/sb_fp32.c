// Fast fp32 kernels of the engine. Each has a twin in sb_reference.c.
#include "sb_kernels.h"
#include "sb_conv_internal.h"
#include <math.h>
#include <string.h>

void sb_im2col(const float *restrict src, float *restrict dst, const sb_window *g) {
    sb_im2col_rows(src, dst, g, 0, g->channels * g->k_h * g->k_w);
}

void sb_im2col_rows(const float *restrict src, float *restrict dst, const sb_window *g, int32_t row0, int32_t row1) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    const int32_t sh = g->stride_h, sw = g->stride_w;
    const size_t cols = (size_t)oh * ow;
#if defined(__x86_64__)
    const int32_t avx512 = sw == 2 && sb_conv_have_avx512();
#endif
    for (int32_t r = row0; r < row1; r++) {
        const int32_t c = r / (g->k_h * g->k_w), ky = r / g->k_w % g->k_h, kx = r % g->k_w;
        const float *plane = src + (size_t)c * ih * iw;
        float *row = dst + (size_t)r * cols;
        // Output columns whose input x is inside [0, iw): ox in [x0, x1).
        const int32_t off = kx - g->pad_left;
        int32_t x0 = off >= 0 ? 0 : (-off + sw - 1) / sw;
        int32_t x1 = (iw - off + sw - 1) / sw;
        if (x1 > ow) x1 = ow;
        if (x1 < x0) x1 = x0;
        float *out = row;
        for (int32_t oy = 0; oy < oh; oy++, out += ow) {
            const int32_t iy = oy * sh - g->pad_top + ky;
            if (iy < 0 || iy >= ih) {
                memset(out, 0, sizeof(float) * (size_t)ow);
                continue;
            }
            const float *in = plane + (size_t)iy * iw + off;
            for (int32_t ox = 0; ox < x0; ox++) out[ox] = 0.0f;
            if (sw == 1) {
                memcpy(out + x0, in + x0, sizeof(float) * (size_t)(x1 - x0));
#if defined(__x86_64__)
            } else if (sw == 2 && avx512) {
                if (x1 > x0) sb_gather_stride2_f32_avx512(in + 2 * (size_t)x0, out + x0, x1 - x0);
#endif
            } else {
                for (int32_t ox = x0; ox < x1; ox++) out[ox] = in[(size_t)ox * sw];
            }
            for (int32_t ox = x1; ox < ow; ox++) out[ox] = 0.0f;
        }
    }
}

// Interior output pixels (whose whole window is inside the input) take a branch-free path.
static inline int32_t first_inside(int32_t pad, int32_t stride) { return (pad + stride - 1) / stride; }
static inline int32_t last_inside(int32_t in, int32_t pad, int32_t k, int32_t stride, int32_t out) {
    // largest o with o*stride - pad + k - 1 <= in - 1, plus one (exclusive bound)
    int32_t v = (in - k + pad) / stride + 1;
    if (in - k + pad < 0) v = 0;
    return v < out ? v : out;
}

// The 3-wide stride-2 window (ResNet's stem pool) in two passes per output row: the maxima
// over the window's valid rows into a buffer with -inf for the padding, then out[ox] =
// max(buf[2 ox], buf[2 ox + 1], buf[2 ox + 2]) (AVX-512: 16 at once from even/odd lane
// permutes). Each max is the comparison `v > best ? v : best` from -inf, as the general loop:
// equal values, except that a tie of -0 and +0 may keep the other zero.
enum { POOL_ROW = 4096 };

static int32_t maxpool_k3s2_fits(const sb_window *g) {
    return g->k_w == 3 && g->stride_w == 2 && g->in_w >= 1 && (int64_t)g->pad_left + g->in_w <= POOL_ROW &&
           2 * (int64_t)g->out_w + 40 <= POOL_ROW;
}

static void maxpool_k3s2(const float *restrict src, float *restrict dst, const sb_window *g) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    float buf[POOL_ROW + 64];
    for (size_t i = 0; i < sizeof buf / sizeof buf[0]; i++) buf[i] = -INFINITY;
    float *cols = buf + g->pad_left;
#if defined(__x86_64__)
    const int32_t avx512 = sb_conv_have_avx512();
#endif
    for (int32_t c = 0; c < g->channels; c++) {
        const float *plane = src + (size_t)c * ih * iw;
        float *out = dst + (size_t)c * oh * ow;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t by = oy * g->stride_h - g->pad_top;
            const int32_t ky0 = by < 0 ? -by : 0, ky1 = ih - by < g->k_h ? ih - by : g->k_h;
            for (int32_t x = 0; x < iw; x++) cols[x] = -INFINITY;
            for (int32_t ky = ky0; ky < ky1; ky++) {
                const float *r = plane + (size_t)(by + ky) * iw;
                for (int32_t x = 0; x < iw; x++) cols[x] = r[x] > cols[x] ? r[x] : cols[x];
            }
            float *orow = out + (size_t)oy * ow;
#if defined(__x86_64__)
            if (avx512) { sb_max3_stride2_f32_avx512(buf, orow, ow); continue; }
#endif
            for (int32_t ox = 0; ox < ow; ox++) {
                float best = buf[2 * ox];
                best = buf[2 * ox + 1] > best ? buf[2 * ox + 1] : best;
                best = buf[2 * ox + 2] > best ? buf[2 * ox + 2] : best;
                orow[ox] = best;
            }
        }
    }
}

void sb_maxpool(const float *restrict src, float *restrict dst, const sb_window *g) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    if (maxpool_k3s2_fits(g)) { maxpool_k3s2(src, dst, g); return; }
    const int32_t y0 = first_inside(g->pad_top, g->stride_h), y1 = last_inside(ih, g->pad_top, g->k_h, g->stride_h, oh);
    const int32_t x0 = first_inside(g->pad_left, g->stride_w), x1 = last_inside(iw, g->pad_left, g->k_w, g->stride_w, ow);
    for (int32_t c = 0; c < g->channels; c++) {
        const float *plane = src + (size_t)c * ih * iw;
        float *out = dst + (size_t)c * oh * ow;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t by = oy * g->stride_h - g->pad_top;
            const int interior_y = oy >= y0 && oy < y1;
            for (int32_t ox = 0; ox < ow; ox++) {
                const int32_t bx = ox * g->stride_w - g->pad_left;
                float best = -INFINITY;
                if (interior_y && ox >= x0 && ox < x1) {
                    for (int32_t ky = 0; ky < g->k_h; ky++) {
                        const float *r = plane + (size_t)(by + ky) * iw + bx;
                        for (int32_t kx = 0; kx < g->k_w; kx++) best = r[kx] > best ? r[kx] : best;
                    }
                } else {
                    for (int32_t ky = 0; ky < g->k_h; ky++) {
                        const int32_t iy = by + ky;
                        if (iy < 0 || iy >= ih) continue;
                        for (int32_t kx = 0; kx < g->k_w; kx++) {
                            const int32_t ix = bx + kx;
                            if (ix < 0 || ix >= iw) continue;
                            const float v = plane[(size_t)iy * iw + ix];
                            best = v > best ? v : best;
                        }
                    }
                }
                out[(size_t)oy * ow + ox] = best;
            }
        }
    }
}

void sb_avgpool(const float *restrict src, float *restrict dst, const sb_window *g, int32_t count_include_pad) {
    const int32_t oh = g->out_h, ow = g->out_w, ih = g->in_h, iw = g->in_w;
    for (int32_t c = 0; c < g->channels; c++) {
        const float *plane = src + (size_t)c * ih * iw;
        float *out = dst + (size_t)c * oh * ow;
        for (int32_t oy = 0; oy < oh; oy++) {
            const int32_t by = oy * g->stride_h - g->pad_top;
            int32_t ya = by < 0 ? 0 : by, yb = by + g->k_h;
            int32_t ypad_end = yb < ih + g->pad_bottom ? yb : ih + g->pad_bottom;
            if (yb > ih) yb = ih;
            for (int32_t ox = 0; ox < ow; ox++) {
                const int32_t bx = ox * g->stride_w - g->pad_left;
                int32_t xa = bx < 0 ? 0 : bx, xb = bx + g->k_w;
                int32_t xpad_end = xb < iw + g->pad_right ? xb : iw + g->pad_right;
                if (xb > iw) xb = iw;
                float sum = 0.0f;
                for (int32_t y = ya; y < yb; y++)
                    for (int32_t x = xa; x < xb; x++) sum += plane[(size_t)y * iw + x];
                int32_t n = count_include_pad ? (ypad_end - by) * (xpad_end - bx)
                                              : (yb - ya) * (xb - xa);
                out[(size_t)oy * ow + ox] = sum / (float)(n > 0 ? n : 1);
            }
        }
    }
}

void sb_global_avgpool(const float *restrict src, float *restrict dst, int32_t channels, int32_t plane) {
    for (int32_t c = 0; c < channels; c++) {
        const float *p = src + (size_t)c * plane;
        // Four partial sums keep the reduction vectorisable and accurate enough for 3136 terms.
        float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int32_t i = 0;
        for (; i + 4 <= plane; i += 4) { s0 += p[i]; s1 += p[i + 1]; s2 += p[i + 2]; s3 += p[i + 3]; }
        for (; i < plane; i++) s0 += p[i];
        dst[c] = ((s0 + s1) + (s2 + s3)) / (float)plane;
    }
}

void sb_epilogue(float *restrict data, const float *restrict scale, const float *restrict bias,
                 const float *restrict residual, int32_t channels, int32_t plane, int32_t relu) {
    for (int32_t c = 0; c < channels; c++) {
        float *d = data + (size_t)c * plane;
        const float s = scale ? scale[c] : 1.0f, b = bias ? bias[c] : 0.0f;
        if (residual) {
            const float *r = residual + (size_t)c * plane;
            if (relu) for (int32_t i = 0; i < plane; i++) { float v = d[i] * s + b + r[i]; d[i] = v > 0.0f ? v : 0.0f; }
            else      for (int32_t i = 0; i < plane; i++) d[i] = d[i] * s + b + r[i];
        } else {
            if (relu) for (int32_t i = 0; i < plane; i++) { float v = d[i] * s + b; d[i] = v > 0.0f ? v : 0.0f; }
            else      for (int32_t i = 0; i < plane; i++) d[i] = d[i] * s + b;
        }
    }
}

void sb_pad(const float *restrict src, float *restrict dst, int32_t channels, int32_t in_h, int32_t in_w,
            int32_t top, int32_t left, int32_t bottom, int32_t right, float value) {
    const int32_t oh = in_h + top + bottom, ow = in_w + left + right;
    for (int32_t c = 0; c < channels; c++) {
        float *o = dst + (size_t)c * oh * ow;
        const float *s = src + (size_t)c * in_h * in_w;
        for (int32_t y = 0; y < oh; y++, o += ow) {
            const int32_t iy = y - top;
            if (iy < 0 || iy >= in_h) { for (int32_t x = 0; x < ow; x++) o[x] = value; continue; }
            for (int32_t x = 0; x < left; x++) o[x] = value;
            memcpy(o + left, s + (size_t)iy * in_w, sizeof(float) * (size_t)in_w);
            for (int32_t x = left + in_w; x < ow; x++) o[x] = value;
        }
    }
}

void sb_add(const float *restrict a, const float *restrict b, float *restrict dst, size_t count, int32_t relu) {
    if (relu) for (size_t i = 0; i < count; i++) { float v = a[i] + b[i]; dst[i] = v > 0.0f ? v : 0.0f; }
    else      for (size_t i = 0; i < count; i++) dst[i] = a[i] + b[i];
}

void sb_softmax(float *data, int32_t count) {
    if (count <= 0) return;
    float m = data[0];
    for (int32_t i = 1; i < count; i++) m = data[i] > m ? data[i] : m;
    double sum = 0.0;
    for (int32_t i = 0; i < count; i++) { data[i] = expf(data[i] - m); sum += data[i]; }
    const float inv = (float)(1.0 / sum);
    for (int32_t i = 0; i < count; i++) data[i] *= inv;
}

sb_cpu_features sb_cpu_detect(void) {
    sb_cpu_features f;
    memset(&f, 0, sizeof f);
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    f.avx2 = __builtin_cpu_supports("avx2");
    f.fma = __builtin_cpu_supports("fma");
    f.avx512f = __builtin_cpu_supports("avx512f");
    f.avx512bw = __builtin_cpu_supports("avx512bw");
    f.avx512vl = __builtin_cpu_supports("avx512vl");
    f.avx512dq = __builtin_cpu_supports("avx512dq");
    f.avx512vnni = __builtin_cpu_supports("avx512vnni");
#endif
    return f;
}
