// Helpers of quantisation calibration and of the compiled model file (plain C so that they
// run at full speed in debug builds too).
#pragma once
#include <stddef.h>
#include <stdint.h>
#include "sb_kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/// Smallest and largest of `count` floats (NaN ignored); leaves *lo/*hi unchanged when count is 0.
void sb_minmax(const float *src, size_t count, float *lo, float *hi);

/// Adds `count` floats to a histogram of `bins` equal bins over [lo, hi] (values outside go
/// to the first or last bin).
void sb_histogram(const float *src, size_t count, float lo, float hi, int32_t bins, uint64_t *counts);

/// Adds to `sums` [channels*k_h*k_w] the sum of every row of the unfold (sb_im2col) of `src`
/// over the output positions: per channel and kernel tap, the sum of the input pixels the tap
/// reads, padding reading zero. The columns are never built. (Bias correction: the mean input
/// each weight sees.)
void sb_unfold_row_sums(const float *src, const sb_window *g, double *sums);
/// The same for a uint8 tensor, in quantised units: sums of (q - zero_point), padding 0.
void sb_unfold_row_sums_u8(const uint8_t *src, const sb_window *g, int32_t zero_point, double *sums);

/// CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of `size` bytes continuing from `crc`
/// (0 to start).
uint32_t sb_crc32(uint32_t crc, const void *data, size_t size);

#ifdef __cplusplus
}
#endif
