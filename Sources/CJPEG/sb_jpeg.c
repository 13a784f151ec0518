// libjpeg(-turbo) decode/encode shim; see include/sb_jpeg.h for the contract.
//
// Structure: each public function owns a context struct and calls a static "body" function
// that contains the setjmp. All state that must survive a longjmp lives in the caller's
// context (reached through a pointer), so no non-volatile local of the setjmp function is
// relied on after the jump.
#include "sb_jpeg.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jerror.h>
#include <jpeglib.h>

_Static_assert(BITS_IN_JSAMPLE == 8, "the shim assumes 8-bit samples");
_Static_assert(sizeof(JSAMPLE) == 1, "JSAMPLE must be one byte so rows can alias uint8_t");
_Static_assert(sizeof(sb_jpeg_info) == 24, "sb_jpeg_info layout is shared with Swift");
_Static_assert(SB_JPEG_MESSAGE_CAPACITY >= JMSG_LENGTH_MAX, "message buffer too small");
_Static_assert((uint64_t)SB_JPEG_MAX_PIXELS * 4u < (uint64_t)SIZE_MAX, "pixel cap overflows size_t");

/// Memory libjpeg may use for its own buffers (coefficients of progressive images, etc.).
/// Beyond this it would need a backing store, which the default manager refuses cleanly.
#define SB_JPEG_MAX_LIBRARY_MEMORY (768L * 1024L * 1024L)

/// Error manager: libjpeg's, plus a jump target and the outcome of warnings.
typedef struct sb_error_mgr {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    /// Status to report when we jump out because of a warning (0: a real libjpeg error).
    int warning_status;
    /// Set after the header of a single-scan image: from then on running out of input is only
    /// a warning, because missing entropy-coded bits are reported separately (JWRN_HIT_MARKER)
    /// and what can still be missing is the EOI marker. Multi-scan (progressive) images never
    /// set it: a file cut between scans decodes without any "hit marker" warning.
    int tolerate_eof;
    /// Tolerated warnings.
    int tolerated_warnings;
    char message[JMSG_LENGTH_MAX];
} sb_error_mgr;

static void sb_error_exit(j_common_ptr cinfo) {
    sb_error_mgr *err = (sb_error_mgr *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, err->message);
    longjmp(err->jump, 1);
}

/// Receives warnings (level -1) and trace messages (level >= 0). Damage warnings abort the
/// decode; the rest are counted. Nothing is printed.
static void sb_emit_message(j_common_ptr cinfo, int msg_level) {
    sb_error_mgr *err = (sb_error_mgr *)cinfo->err;
    if (msg_level >= 0) {
        return;
    }
    cinfo->err->num_warnings++;
    int code = cinfo->err->msg_code;
    int status = 0;
    if (code == JWRN_JPEG_EOF && !err->tolerate_eof) {
        status = SB_JPEG_ERR_TRUNCATED;
    } else if (code == JWRN_HIT_MARKER) {  // the entropy decoder needed bits that are not there
        status = SB_JPEG_ERR_TRUNCATED;
    } else if (code == JWRN_MUST_RESYNC || code == JWRN_HUFF_BAD_CODE) {
        status = SB_JPEG_ERR_CORRUPT;
    }
    if (status != 0) {
        (*cinfo->err->format_message)(cinfo, err->message);
        err->warning_status = status;
        longjmp(err->jump, 1);
    }
    err->tolerated_warnings++;
}

static void sb_output_message(j_common_ptr cinfo) { (void)cinfo; }

static void sb_install_error_mgr(sb_error_mgr *err) {
    memset(err, 0, sizeof(*err));
    jpeg_std_error(&err->pub);
    err->pub.error_exit = sb_error_exit;
    err->pub.emit_message = sb_emit_message;
    err->pub.output_message = sb_output_message;
}

static void sb_set_message(sb_jpeg_error *error, const char *text) {
    if (error == NULL) {
        return;
    }
    snprintf(error->message, sizeof(error->message), "%s", text);
}

static void sb_clear_error(sb_jpeg_error *error) {
    if (error != NULL) {
        error->offset = 0;
        error->message[0] = '\0';
    }
}

// MARK: - Decoding

typedef struct sb_decode_ctx {
    struct jpeg_decompress_struct cinfo;
    sb_error_mgr err;
    const uint8_t *data;
    size_t size;
    uint8_t *rgb;       ///< null: header only
    size_t capacity;
    sb_jpeg_info info;
    char detail[SB_JPEG_MESSAGE_CAPACITY];  ///< our own message for non-libjpeg failures
} sb_decode_ctx;

static int sb_color_of(J_COLOR_SPACE space) {
    switch (space) {
    case JCS_GRAYSCALE: return SB_JPEG_COLOR_GRAY;
    case JCS_RGB:
    case JCS_YCbCr: return SB_JPEG_COLOR_RGB;
    case JCS_CMYK:
    case JCS_YCCK: return SB_JPEG_COLOR_CMYK;
    default: return SB_JPEG_COLOR_OTHER;
    }
}

/// Rounded a * b / 255 for a, b in 0...255.
static inline uint8_t sb_mul_div_255(unsigned a, unsigned b) {
    unsigned t = a * b + 128u;
    return (uint8_t)((t + (t >> 8)) >> 8);
}

static int sb_decode_body(sb_decode_ctx *c) {
    struct jpeg_decompress_struct *cinfo = &c->cinfo;
    if (setjmp(c->err.jump)) {
        return c->err.warning_status != 0 ? c->err.warning_status : SB_JPEG_ERR_CORRUPT;
    }
    jpeg_CreateDecompress(cinfo, JPEG_LIB_VERSION, sizeof(*cinfo));
    cinfo->mem->max_memory_to_use = SB_JPEG_MAX_LIBRARY_MEMORY;
    jpeg_mem_src(cinfo, c->data, (unsigned long)c->size);
    jpeg_read_header(cinfo, TRUE);

    c->info.width = cinfo->image_width;
    c->info.height = cinfo->image_height;
    c->info.components = cinfo->num_components;
    c->info.color = sb_color_of(cinfo->jpeg_color_space);
    c->info.adobe = cinfo->saw_Adobe_marker ? 1 : 0;

    uint64_t pixels = (uint64_t)cinfo->image_width * (uint64_t)cinfo->image_height;
    if (cinfo->image_width == 0 || cinfo->image_height == 0 ||
        cinfo->image_width > SB_JPEG_MAX_DIMENSION || cinfo->image_height > SB_JPEG_MAX_DIMENSION ||
        pixels > SB_JPEG_MAX_PIXELS) {
        snprintf(c->detail, sizeof(c->detail),
                 "image is %ux%u; the limit is %u px per side and %u px in total",
                 (unsigned)cinfo->image_width, (unsigned)cinfo->image_height,
                 SB_JPEG_MAX_DIMENSION, SB_JPEG_MAX_PIXELS);
        return SB_JPEG_ERR_TOO_LARGE;
    }
    int cmyk = 0;
    switch (cinfo->jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_RGB:
    case JCS_YCbCr:
        cinfo->out_color_space = JCS_RGB;  // libjpeg replicates gray into R, G and B
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        cinfo->out_color_space = JCS_CMYK;  // YCCK -> CMYK by libjpeg, CMYK -> RGB below
        cmyk = 1;
        break;
    default:
        snprintf(c->detail, sizeof(c->detail),
                 "unsupported colour space (libjpeg J_COLOR_SPACE %d, %d components)",
                 (int)cinfo->jpeg_color_space, cinfo->num_components);
        return SB_JPEG_ERR_COLOR_SPACE;
    }
    if (c->rgb == NULL) {
        return SB_JPEG_OK;
    }
    size_t row_bytes = (size_t)cinfo->image_width * 3u;
    if (c->capacity < row_bytes * (size_t)cinfo->image_height) {
        snprintf(c->detail, sizeof(c->detail), "output buffer holds %zu bytes, need %zu",
                 c->capacity, row_bytes * (size_t)cinfo->image_height);
        return SB_JPEG_ERR_ARGUMENT;
    }

    c->err.tolerate_eof = !jpeg_has_multiple_scans(cinfo);
    jpeg_start_decompress(cinfo);
    if (cinfo->output_width != cinfo->image_width || cinfo->output_height != cinfo->image_height ||
        cinfo->output_components != (cmyk ? 4 : 3)) {
        snprintf(c->detail, sizeof(c->detail), "unexpected output geometry %ux%ux%d",
                 (unsigned)cinfo->output_width, (unsigned)cinfo->output_height,
                 cinfo->output_components);
        jpeg_abort_decompress(cinfo);
        return SB_JPEG_ERR_COLOR_SPACE;
    }
    // CMYK rows are decoded into a scratch row owned by libjpeg's pool (freed on destroy).
    JSAMPARRAY scratch = NULL;
    if (cmyk) {
        scratch = (*cinfo->mem->alloc_sarray)((j_common_ptr)cinfo, JPOOL_IMAGE,
                                              cinfo->output_width * 4u, 1);
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JDIMENSION y = cinfo->output_scanline;
        uint8_t *dest = c->rgb + (size_t)y * row_bytes;
        if (!cmyk) {
            JSAMPROW row = (JSAMPROW)dest;
            if (jpeg_read_scanlines(cinfo, &row, 1) != 1) {
                snprintf(c->detail, sizeof(c->detail), "libjpeg returned no scanline at row %u",
                         (unsigned)y);
                return SB_JPEG_ERR_CORRUPT;
            }
            continue;
        }
        if (jpeg_read_scanlines(cinfo, scratch, 1) != 1) {
            snprintf(c->detail, sizeof(c->detail), "libjpeg returned no scanline at row %u",
                     (unsigned)y);
            return SB_JPEG_ERR_CORRUPT;
        }
        const JSAMPLE *src = scratch[0];
        int inverted = cinfo->saw_Adobe_marker;
        for (JDIMENSION x = 0; x < cinfo->output_width; x++) {
            unsigned cc = src[4 * x + 0], mm = src[4 * x + 1], yy = src[4 * x + 2],
                     kk = src[4 * x + 3];
            if (!inverted) {  // plain CMYK: 255 means full ink
                cc = 255u - cc;
                mm = 255u - mm;
                yy = 255u - yy;
                kk = 255u - kk;
            }
            // Now 255 means no ink: R = (255 - C)(255 - K) / 255 = c' * k' / 255.
            dest[3 * x + 0] = sb_mul_div_255(cc, kk);
            dest[3 * x + 1] = sb_mul_div_255(mm, kk);
            dest[3 * x + 2] = sb_mul_div_255(yy, kk);
        }
    }
    jpeg_finish_decompress(cinfo);
    return SB_JPEG_OK;
}

static int sb_decode(const uint8_t *data, size_t size, uint8_t *rgb, size_t capacity,
                     sb_jpeg_info *info, sb_jpeg_error *error) {
    sb_clear_error(error);
    if (info != NULL) {
        memset(info, 0, sizeof(*info));
    }
    if (data == NULL || size == 0) {
        sb_set_message(error, "no input bytes");
        return SB_JPEG_ERR_ARGUMENT;
    }
    sb_decode_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        sb_set_message(error, "out of memory");
        return SB_JPEG_ERR_NO_MEMORY;
    }
    sb_install_error_mgr(&c->err);
    c->cinfo.err = &c->err.pub;
    c->data = data;
    c->size = size;
    c->rgb = rgb;
    c->capacity = capacity;

    int status = sb_decode_body(c);

    c->info.warnings = c->err.tolerated_warnings;
    if (error != NULL) {
        if (status == SB_JPEG_ERR_TRUNCATED) {
            error->offset = (uint64_t)size;  // the data ran out at its end
        } else if (c->cinfo.src != NULL && c->cinfo.src->bytes_in_buffer <= size) {
            // The reader's position; libjpeg reads a little ahead of what it has decoded.
            error->offset = (uint64_t)(size - c->cinfo.src->bytes_in_buffer);
        }
        if (status != SB_JPEG_OK) {
            sb_set_message(error, c->detail[0] != '\0' ? c->detail : c->err.message);
        }
    }
    if (info != NULL) {
        *info = c->info;
    }
    // jpeg_destroy is safe after any error (it frees every pool); it never calls error_exit.
    jpeg_destroy_decompress(&c->cinfo);
    free(c);
    return status;
}

int sb_jpeg_read_info(const uint8_t *data, size_t size, sb_jpeg_info *info,
                      sb_jpeg_error *error) {
    return sb_decode(data, size, NULL, 0, info, error);
}

int sb_jpeg_decode_rgb(const uint8_t *data, size_t size, uint8_t *rgb, size_t capacity,
                       sb_jpeg_info *info, sb_jpeg_error *error) {
    if (rgb == NULL) {
        sb_clear_error(error);
        sb_set_message(error, "no output buffer");
        return SB_JPEG_ERR_ARGUMENT;
    }
    return sb_decode(data, size, rgb, capacity, info, error);
}

// MARK: - Encoding

typedef struct sb_encode_ctx {
    struct jpeg_compress_struct cinfo;
    sb_error_mgr err;
    const uint8_t *pixels;
    uint32_t width, height;
    int components;
    int quality;
    unsigned char *out;     ///< owned by libjpeg's memory destination until success
    unsigned long out_size;
} sb_encode_ctx;

static int sb_encode_body(sb_encode_ctx *c) {
    struct jpeg_compress_struct *cinfo = &c->cinfo;
    if (setjmp(c->err.jump)) {
        return SB_JPEG_ERR_CORRUPT;
    }
    jpeg_CreateCompress(cinfo, JPEG_LIB_VERSION, sizeof(*cinfo));
    jpeg_mem_dest(cinfo, &c->out, &c->out_size);
    cinfo->image_width = c->width;
    cinfo->image_height = c->height;
    cinfo->input_components = c->components;
    cinfo->in_color_space = c->components == 1 ? JCS_GRAYSCALE
                            : c->components == 3 ? JCS_RGB
                                                 : JCS_CMYK;
    jpeg_set_defaults(cinfo);  // CMYK: stored as CMYK with an Adobe marker (inverted values)
    jpeg_set_quality(cinfo, c->quality, TRUE);
    jpeg_start_compress(cinfo, TRUE);
    size_t row_bytes = (size_t)c->width * (size_t)c->components;
    while (cinfo->next_scanline < cinfo->image_height) {
        // libjpeg does not write through the row pointer; the cast only drops const.
        JSAMPROW row = (JSAMPROW)(uintptr_t)(c->pixels + (size_t)cinfo->next_scanline * row_bytes);
        jpeg_write_scanlines(cinfo, &row, 1);
    }
    jpeg_finish_compress(cinfo);
    return SB_JPEG_OK;
}

int sb_jpeg_encode(const uint8_t *pixels, uint32_t width, uint32_t height, int32_t components,
                   int32_t quality, uint8_t **out, size_t *out_size, sb_jpeg_error *error) {
    sb_clear_error(error);
    if (out == NULL || out_size == NULL || pixels == NULL) {
        sb_set_message(error, "null argument");
        return SB_JPEG_ERR_ARGUMENT;
    }
    *out = NULL;
    *out_size = 0;
    if (components != 1 && components != 3 && components != 4) {
        sb_set_message(error, "components must be 1 (gray), 3 (RGB) or 4 (CMYK)");
        return SB_JPEG_ERR_ARGUMENT;
    }
    if (quality < 1 || quality > 100) {
        sb_set_message(error, "quality must be in 1...100");
        return SB_JPEG_ERR_ARGUMENT;
    }
    if (width == 0 || height == 0 || width > SB_JPEG_MAX_DIMENSION ||
        height > SB_JPEG_MAX_DIMENSION || (uint64_t)width * height > SB_JPEG_MAX_PIXELS) {
        if (error != NULL) {
            snprintf(error->message, sizeof(error->message),
                     "image is %ux%u; the limit is %u px per side and %u px in total",
                     (unsigned)width, (unsigned)height, SB_JPEG_MAX_DIMENSION, SB_JPEG_MAX_PIXELS);
        }
        return SB_JPEG_ERR_TOO_LARGE;
    }
    sb_encode_ctx *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        sb_set_message(error, "out of memory");
        return SB_JPEG_ERR_NO_MEMORY;
    }
    sb_install_error_mgr(&c->err);
    c->cinfo.err = &c->err.pub;
    c->pixels = pixels;
    c->width = width;
    c->height = height;
    c->components = components;
    c->quality = quality;

    int status = sb_encode_body(c);
    // Destroying releases libjpeg's pools but not the memory destination's buffer.
    jpeg_destroy_compress(&c->cinfo);
    if (status == SB_JPEG_OK) {
        *out = c->out;
        *out_size = (size_t)c->out_size;
    } else {
        sb_set_message(error, c->err.message);
        free(c->out);
    }
    free(c);
    return status;
}

void sb_jpeg_free(void *buffer) { free(buffer); }
