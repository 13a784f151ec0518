// Plain reference twins of the fast kernels: written for obviousness, not speed.
#include "sb_kernels.h"
#include <math.h>

static float at_or(const float *plane, int32_t h, int32_t w, int32_t y, int32_t x, float fill) {
    if (y < 0 || y >= h || x < 0 || x >= w) return fill;
    return plane[(size_t)y * w + x];
}

void sb_im2col_ref(const float *src, float *dst, const sb_window *g) {
    const size_t cols = (size_t)g->out_h * g->out_w;
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++) {
                size_t row = ((size_t)c * g->k_h + ky) * g->k_w + kx;
                for (int32_t oy = 0; oy < g->out_h; oy++)
                    for (int32_t ox = 0; ox < g->out_w; ox++) {
                        int32_t iy = oy * g->stride_h - g->pad_top + ky;
                        int32_t ix = ox * g->stride_w - g->pad_left + kx;
                        dst[row * cols + (size_t)oy * g->out_w + ox] =
                            at_or(src + (size_t)c * g->in_h * g->in_w, g->in_h, g->in_w, iy, ix, 0.0f);
                    }
            }
}

static void pool_ref(const float *src, float *dst, const sb_window *g, int mode, int32_t include_pad) {
    for (int32_t c = 0; c < g->channels; c++) {
        const float *plane = src + (size_t)c * g->in_h * g->in_w;
        for (int32_t oy = 0; oy < g->out_h; oy++)
            for (int32_t ox = 0; ox < g->out_w; ox++) {
                float best = -INFINITY, sum = 0.0f;
                int32_t inside = 0, window = 0;
                for (int32_t ky = 0; ky < g->k_h; ky++)
                    for (int32_t kx = 0; kx < g->k_w; kx++) {
                        int32_t iy = oy * g->stride_h - g->pad_top + ky;
                        int32_t ix = ox * g->stride_w - g->pad_left + kx;
                        // Window positions past the padded extent (ceil mode) never count.
                        if (iy >= g->in_h + g->pad_bottom || ix >= g->in_w + g->pad_right) continue;
                        window++;
                        if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                        float v = plane[(size_t)iy * g->in_w + ix];
                        if (v > best) best = v;
                        sum += v;
                        inside++;
                    }
                float out;
                if (mode == 0) out = best;
                else out = sum / (float)(include_pad ? window : (inside > 0 ? inside : 1));
                dst[((size_t)c * g->out_h + oy) * g->out_w + ox] = out;
            }
    }
}

void sb_maxpool_ref(const float *src, float *dst, const sb_window *g) { pool_ref(src, dst, g, 0, 0); }

void sb_avgpool_ref(const float *src, float *dst, const sb_window *g, int32_t count_include_pad) {
    pool_ref(src, dst, g, 1, count_include_pad);
}

void sb_global_avgpool_ref(const float *src, float *dst, int32_t channels, int32_t plane) {
    for (int32_t c = 0; c < channels; c++) {
        double sum = 0.0;
        for (int32_t i = 0; i < plane; i++) sum += src[(size_t)c * plane + i];
        dst[c] = (float)(sum / plane);
    }
}

void sb_epilogue_ref(float *data, const float *scale, const float *bias, const float *residual,
                     int32_t channels, int32_t plane, int32_t relu) {
    for (int32_t c = 0; c < channels; c++)
        for (int32_t i = 0; i < plane; i++) {
            size_t k = (size_t)c * plane + i;
            float v = data[k];
            if (scale) v *= scale[c];
            if (bias) v += bias[c];
            if (residual) v += residual[k];
            if (relu && v < 0.0f) v = 0.0f;
            data[k] = v;
        }
}

void sb_pad_ref(const float *src, float *dst, int32_t channels, int32_t in_h, int32_t in_w,
                int32_t top, int32_t left, int32_t bottom, int32_t right, float value) {
    int32_t oh = in_h + top + bottom, ow = in_w + left + right;
    for (int32_t c = 0; c < channels; c++)
        for (int32_t y = 0; y < oh; y++)
            for (int32_t x = 0; x < ow; x++)
                dst[((size_t)c * oh + y) * ow + x] =
                    at_or(src + (size_t)c * in_h * in_w, in_h, in_w, y - top, x - left, value);
}
