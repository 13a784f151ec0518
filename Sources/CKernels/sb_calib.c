// Calibration statistics and CRC-32 (sb_calib.h).
#include "sb_calib.h"

void sb_minmax(const float *src, size_t count, float *lo, float *hi) {
    float a = *lo, b = *hi;
    for (size_t i = 0; i < count; i++) {
        float v = src[i];
        a = v < a ? v : a;
        b = v > b ? v : b;
    }
    *lo = a;
    *hi = b;
}

void sb_histogram(const float *src, size_t count, float lo, float hi, int32_t bins, uint64_t *counts) {
    if (bins <= 0) return;
    const float width = hi > lo ? (hi - lo) / (float)bins : 1.0f;
    const float inv = 1.0f / width;
    for (size_t i = 0; i < count; i++) {
        float f = (src[i] - lo) * inv;
        int32_t b = f < 0.0f ? 0 : (f >= (float)bins ? bins - 1 : (int32_t)f);
        counts[b]++;
    }
}

static uint32_t table[8][256];
static int table_ready = 0;

static void make_table(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    __atomic_store_n(&table_ready, 1, __ATOMIC_RELEASE);
}

uint32_t sb_crc32(uint32_t crc, const void *data, size_t size) {
    // Building the table twice from two threads is harmless: both write the same values.
    if (!__atomic_load_n(&table_ready, __ATOMIC_ACQUIRE)) make_table();
    const uint8_t *p = data;
    uint32_t c = ~crc;
    while (size >= 8) {   // slicing by 8, little-endian
        uint32_t lo = c ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        c = table[7][lo & 0xFF] ^ table[6][(lo >> 8) & 0xFF] ^ table[5][(lo >> 16) & 0xFF] ^ table[4][lo >> 24] ^
            table[3][hi & 0xFF] ^ table[2][(hi >> 8) & 0xFF] ^ table[1][(hi >> 16) & 0xFF] ^ table[0][hi >> 24];
        p += 8;
        size -= 8;
    }
    while (size--) c = table[0][(c ^ *p++) & 0xFF] ^ (c >> 8);
    return ~c;
}

// Sums of every unfold row (sb_im2col's row c*k_h*k_w + ky*k_w + kx) over the output
// positions, without building the columns: for each channel and tap, the sum of the input
// pixels that tap reads (padding reads zero). Adds into `sums` [channels*k_h*k_w].
void sb_unfold_row_sums(const float *src, const sb_window *g, double *sums) {
    const int32_t plane = g->in_h * g->in_w;
    for (int32_t c = 0; c < g->channels; c++) {
        const float *x = src + (size_t)c * plane;
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++) {
                double s = 0;
                for (int32_t oy = 0; oy < g->out_h; oy++) {
                    const int32_t iy = oy * g->stride_h + ky - g->pad_top;
                    if (iy < 0 || iy >= g->in_h) continue;
                    const float *row = x + (size_t)iy * g->in_w;
                    float r = 0;
                    for (int32_t ox = 0; ox < g->out_w; ox++) {
                        const int32_t ix = ox * g->stride_w + kx - g->pad_left;
                        if (ix >= 0 && ix < g->in_w) r += row[ix];
                    }
                    s += r;
                }
                sums[((size_t)c * g->k_h + ky) * g->k_w + kx] += s;
            }
    }
}

void sb_unfold_row_sums_u8(const uint8_t *src, const sb_window *g, int32_t zero_point, double *sums) {
    const int32_t plane = g->in_h * g->in_w;
    for (int32_t c = 0; c < g->channels; c++) {
        const uint8_t *x = src + (size_t)c * plane;
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++) {
                int64_t s = 0;
                for (int32_t oy = 0; oy < g->out_h; oy++) {
                    const int32_t iy = oy * g->stride_h + ky - g->pad_top;
                    if (iy < 0 || iy >= g->in_h) continue;
                    const uint8_t *row = x + (size_t)iy * g->in_w;
                    int32_t r = 0;
                    for (int32_t ox = 0; ox < g->out_w; ox++) {
                        const int32_t ix = ox * g->stride_w + kx - g->pad_left;
                        if (ix >= 0 && ix < g->in_w) r += (int32_t)row[ix] - zero_point;
                    }
                    s += r;
                }
                sums[((size_t)c * g->k_h + ky) * g->k_w + kx] += (double)s;
            }
    }
}
