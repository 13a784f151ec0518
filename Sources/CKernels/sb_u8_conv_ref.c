// Plain reference twins of the uint8 activation kernels (sb_q8_conv.h): written for
// obviousness, not speed.
#include "sb_q8_conv.h"
#include <math.h>
#include <string.h>

void sb_im2col_u8_ref(const uint8_t *src, uint8_t *dst, const sb_window *g, uint8_t pad_value) {
    const size_t cols = (size_t)g->out_h * g->out_w;
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++) {
                size_t row = ((size_t)c * g->k_h + ky) * g->k_w + kx;
                for (int32_t oy = 0; oy < g->out_h; oy++)
                    for (int32_t ox = 0; ox < g->out_w; ox++) {
                        int32_t iy = oy * g->stride_h - g->pad_top + ky;
                        int32_t ix = ox * g->stride_w - g->pad_left + kx;
                        uint8_t v = pad_value;
                        if (iy >= 0 && iy < g->in_h && ix >= 0 && ix < g->in_w)
                            v = src[((size_t)c * g->in_h + iy) * g->in_w + ix];
                        dst[row * cols + (size_t)oy * g->out_w + ox] = v;
                    }
            }
}

void sb_maxpool_u8_ref(const uint8_t *src, uint8_t *dst, const sb_window *g) {
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t oy = 0; oy < g->out_h; oy++)
            for (int32_t ox = 0; ox < g->out_w; ox++) {
                int32_t best = 0;
                for (int32_t ky = 0; ky < g->k_h; ky++)
                    for (int32_t kx = 0; kx < g->k_w; kx++) {
                        int32_t iy = oy * g->stride_h - g->pad_top + ky;
                        int32_t ix = ox * g->stride_w - g->pad_left + kx;
                        if (iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w) continue;
                        int32_t v = src[((size_t)c * g->in_h + iy) * g->in_w + ix];
                        if (v > best) best = v;
                    }
                dst[((size_t)c * g->out_h + oy) * g->out_w + ox] = (uint8_t)best;
            }
}

void sb_quantize_u8_ref(const float *src, uint8_t *dst, size_t count, float scale, int32_t zp, int32_t relu) {
    for (size_t i = 0; i < count; i++) {
        float x = src[i];
        if (relu && x < 0.0f) x = 0.0f;
        float q = nearbyintf(x / scale) + (float)zp;   // default rounding: half to even
        if (q < 0.0f) q = 0.0f;
        if (q > 255.0f) q = 255.0f;
        dst[i] = (uint8_t)q;
    }
}

void sb_global_avgpool_u8_ref(const uint8_t *src, float *dst, int32_t channels, int32_t plane,
                              float scale, int32_t zp) {
    for (int32_t c = 0; c < channels; c++) {
        int64_t sum = 0;
        for (int32_t i = 0; i < plane; i++) sum += src[(size_t)c * plane + i];
        dst[c] = scale * (float)((double)(sum - (int64_t)zp * plane) / plane);
    }
}

void sb_q8_conv2d_ref(const sb_q8_conv_plan *plan, const int8_t *weights, const uint8_t *input,
                      const uint8_t *residual, void *output, uint8_t *scratch, int32_t *acc) {
    const sb_window *w = &plan->window;
    const int32_t m = plan->out_channels, n = w->out_h * w->out_w, k = w->channels * w->k_h * w->k_w;
    sb_im2col_u8_ref(input, scratch, w, (uint8_t)plan->input_zp);
    sb_q8_gemm_acc_ref(weights, m, k, k, scratch, n, n, plan->input_zp, acc);
    sb_q8_epilogue ep = plan->epilogue;
    ep.residual = residual;
    ep.ld_residual = n;
    sb_q8_epilogue_ref(acc, m, n, &ep, output, n);
}

void sb_dense_s8_f32_ref(const int8_t *w, const float *scale, const float *bias, const float *x, float *y,
                         int32_t m, int32_t k, int32_t relu) {
    for (int32_t r = 0; r < m; r++) {
        float sum = 0.0f;
        for (int32_t j = 0; j < k; j++) sum += (float)w[(size_t)r * k + j] * x[j];
        float v = sum * scale[r] + (bias ? bias[r] : 0.0f);
        y[r] = relu && v < 0.0f ? 0.0f : v;
    }
}
