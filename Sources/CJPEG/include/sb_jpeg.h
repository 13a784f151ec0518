// SmartBin's shim over libjpeg(-turbo): decode a JPEG held in memory to packed RGB8 and
// encode RGB, grayscale or Adobe CMYK samples to JPEG bytes.
//
// Every entry point returns an `sb_jpeg_status`. libjpeg's fatal errors are caught with
// setjmp/longjmp (the library default calls exit()), so corrupt or truncated input yields a
// status and a message, never a crash. Imported only by the Imaging module's `JPEG` adapter.
#ifndef SB_JPEG_H
#define SB_JPEG_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Largest width or height, in pixels, that the shim accepts for decoding or encoding.
#define SB_JPEG_MAX_DIMENSION 16384u
/// Largest pixel count (width * height) accepted: 64 Mpx, so at most 192 MiB of RGB output.
#define SB_JPEG_MAX_PIXELS (64u * 1024u * 1024u)
/// Capacity a caller should give the message buffer (libjpeg's JMSG_LENGTH_MAX is 200).
#define SB_JPEG_MESSAGE_CAPACITY 256u

/// Outcome of a shim call.
typedef enum sb_jpeg_status {
    SB_JPEG_OK = 0,
    /// A caller mistake: null pointer, zero size, buffer too small, bad quality or component count.
    SB_JPEG_ERR_ARGUMENT = 1,
    /// libjpeg rejected the data (bad marker, bad Huffman table, ...); the message has its text.
    SB_JPEG_ERR_CORRUPT = 2,
    /// The data ends before the image does (libjpeg only warns and pads with gray; we refuse).
    SB_JPEG_ERR_TRUNCATED = 3,
    /// Width or height above SB_JPEG_MAX_DIMENSION, zero, or too many pixels in total.
    SB_JPEG_ERR_TOO_LARGE = 4,
    /// A colour space the shim cannot turn into RGB (e.g. two components).
    SB_JPEG_ERR_COLOR_SPACE = 5,
    /// An allocation failed.
    SB_JPEG_ERR_NO_MEMORY = 6,
} sb_jpeg_status;

/// Colour space of the encoded data, as far as the shim distinguishes them.
typedef enum sb_jpeg_color {
    SB_JPEG_COLOR_GRAY = 1,
    SB_JPEG_COLOR_RGB = 2,      ///< RGB or YCbCr in the file
    SB_JPEG_COLOR_CMYK = 3,     ///< CMYK or YCCK in the file
    SB_JPEG_COLOR_OTHER = 4,
} sb_jpeg_color;

/// What the header of a JPEG says.
typedef struct sb_jpeg_info {
    uint32_t width;        ///< pixels
    uint32_t height;       ///< pixels
    int32_t components;    ///< components in the file: 1, 3 or 4
    int32_t color;         ///< an sb_jpeg_color
    int32_t adobe;         ///< 1 if an Adobe APP14 marker was seen (CMYK is then stored inverted)
    int32_t warnings;      ///< libjpeg warnings that were tolerated (decode only)
} sb_jpeg_info;

/// Where a failure happened and what libjpeg said about it.
typedef struct sb_jpeg_error {
    /// Decode only: for truncation the input size, otherwise the bytes of input the reader had
    /// consumed when the failure was detected (libjpeg reads slightly ahead). 0 if unknown.
    uint64_t offset;
    /// NUL-terminated message; empty on success.
    char message[SB_JPEG_MESSAGE_CAPACITY];
} sb_jpeg_error;

/// Reads the header of the JPEG in `data[0..<size]` into `info`. Does not decode pixels.
/// Returns SB_JPEG_OK, or a failure status with `error` filled in.
int sb_jpeg_read_info(const uint8_t *data, size_t size, sb_jpeg_info *info,
                      sb_jpeg_error *error);

/// Decodes the JPEG in `data[0..<size]` into `rgb` as packed RGB8, row-major, which must hold
/// at least width * height * 3 bytes (`capacity`). Grayscale is replicated into three channels;
/// CMYK/YCCK is converted with R = (255 - C)(255 - K) / 255 (rounded), the ink values read
/// inverted when an Adobe marker is present. `info` receives the header (may be null).
/// Warnings that mean the data ends early or is damaged fail: premature end of the file in the
/// header or in a multi-scan (progressive) image, or of a data segment (the entropy decoder
/// needed bits that are missing), give SB_JPEG_ERR_TRUNCATED; lost Huffman sync or a bad code
/// gives SB_JPEG_ERR_CORRUPT. Other warnings are counted in `info->warnings`. So a baseline
/// file that lacks only its EOI marker decodes (every pixel was present), with one warning.
int sb_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb, size_t capacity,
                       sb_jpeg_info *info, sb_jpeg_error *error);

/// Encodes `width * height` pixels of `components` interleaved 8-bit samples (1 = grayscale,
/// 3 = RGB, 4 = CMYK in Adobe's inverted convention: 255 means no ink) at `quality` 1...100.
/// On success `*out` holds `*out_size` bytes allocated with malloc; release with sb_jpeg_free.
int sb_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int32_t components,
                   int32_t quality, uint8_t **out, size_t *out_size, sb_jpeg_error *error);

/// Releases a buffer returned by sb_jpeg_encode. Null is ignored.
void sb_jpeg_free(void *buffer);

#ifdef __cplusplus
}
#endif

#endif  // SB_JPEG_H
