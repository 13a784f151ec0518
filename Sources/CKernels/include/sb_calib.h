// Helpers of quantisation calibration and of the compiled model file (plain C so that they
// run at full speed in debug builds too).
#pragma once
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Smallest and largest of `count` floats (NaN ignored); leaves *lo/*hi unchanged when count is 0.
void sb_minmax(const float *src, size_t count, float *lo, float *hi);

/// Adds `count` floats to a histogram of `bins` equal bins over [lo, hi] (values outside go
/// to the first or last bin).
void sb_histogram(const float *src, size_t count, float lo, float hi, int32_t bins, uint64_t *counts);

/// CRC-32 (IEEE 802.3, reflected, as zlib's crc32) of `size` bytes continuing from `crc`
/// (0 to start).
uint32_t sb_crc32(uint32_t crc, const void *data, size_t size);

#ifdef __cplusplus
}
#endif
