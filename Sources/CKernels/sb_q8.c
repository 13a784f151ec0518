// int8 GEMM: variant dispatch, weight and activation packing, and the blocked driver.
// The micro-kernels are in sb_q8_<variant>.c, the shared epilogue in sb_q8_epilogue.c.
#include "sb_q8_internal.h"
#include "sb_q8_conv.h"
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMD
#define HWCAP_ASIMD (1UL << 1)
#endif
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#endif
#if defined(__x86_64__)
#include <emmintrin.h>
#endif
#if defined(__aarch64__)
#include <arm_neon.h>
#endif

static const char *const names[SB_Q8_KERNEL_COUNT] = {
    "ref", "avx2", "avx512vnni", "avxvnni", "neon", "dotprod"
};

static const sb_q8_variant *variant(int32_t kernel) {
    switch (kernel) {
    case SB_Q8_KERNEL_REF: return &sb_q8_variant_ref;
#if defined(__x86_64__)
    case SB_Q8_KERNEL_AVX2: return &sb_q8_variant_avx2;
    case SB_Q8_KERNEL_AVX512VNNI: return &sb_q8_variant_avx512vnni;
    case SB_Q8_KERNEL_AVXVNNI: return &sb_q8_variant_avxvnni;
#endif
#if defined(__aarch64__)
    case SB_Q8_KERNEL_NEON: return &sb_q8_variant_neon;
    case SB_Q8_KERNEL_DOTPROD: return &sb_q8_variant_dotprod;
#endif
    default: return NULL;
    }
}

const char *sb_q8_kernel_name(int32_t kernel) {
    return kernel >= 0 && kernel < SB_Q8_KERNEL_COUNT ? names[kernel] : NULL;
}

int32_t sb_q8_kernel_from_name(const char *name) {
    if (name == NULL) return SB_Q8_E_UNKNOWN;
    for (int32_t k = 0; k < SB_Q8_KERNEL_COUNT; k++)
        if (strcmp(name, names[k]) == 0) return k;
    return SB_Q8_E_UNKNOWN;
}

static int32_t cpu_has(int32_t kernel) {
    switch (kernel) {
    case SB_Q8_KERNEL_REF: return 1;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    // __builtin_cpu_supports reports AVX-512 / AVX state only when the OS enables it (XCR0).
    case SB_Q8_KERNEL_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") != 0;
    case SB_Q8_KERNEL_AVX512VNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    case SB_Q8_KERNEL_AVXVNNI:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni");
#endif
#if defined(__aarch64__) && defined(__linux__)
    case SB_Q8_KERNEL_NEON: return (getauxval(AT_HWCAP) & HWCAP_ASIMD) != 0;
    case SB_Q8_KERNEL_DOTPROD:
        return (getauxval(AT_HWCAP) & HWCAP_ASIMD) && (getauxval(AT_HWCAP) & HWCAP_ASIMDDP);
#elif defined(__aarch64__)
    case SB_Q8_KERNEL_NEON: return 1;   // ASIMD is part of the base aarch64 ABI
#endif
    default: return 0;
    }
}

int32_t sb_q8_kernel_available(int32_t kernel) {
    return variant(kernel) != NULL && cpu_has(kernel);
}

int32_t sb_q8_best_kernel(void) {
    // Fastest first (measured on Zen 4; the 512-bit form doubles the work per instruction).
    static const int32_t order[] = {
        SB_Q8_KERNEL_AVX512VNNI, SB_Q8_KERNEL_AVXVNNI, SB_Q8_KERNEL_AVX2,
        SB_Q8_KERNEL_DOTPROD, SB_Q8_KERNEL_NEON
    };
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (sb_q8_kernel_available(order[i])) return order[i];
    return SB_Q8_KERNEL_REF;
}

int32_t sb_q8_select_kernel(void) {
    const char *env = getenv("SMARTBIN_Q8_KERNEL");
    if (env == NULL || env[0] == '\0' || strcmp(env, "auto") == 0) return sb_q8_best_kernel();
    int32_t k = sb_q8_kernel_from_name(env);
    if (k < 0) return k;
    return sb_q8_kernel_available(k) ? k : SB_Q8_E_UNSUPPORTED;
}

int32_t sb_q8_block_m(int32_t kernel) {
    const sb_q8_variant *v = variant(kernel);
    return v ? v->format.mr : SB_Q8_E_UNSUPPORTED;
}

int32_t sb_q8_block_n(int32_t kernel) {
    const sb_q8_variant *v = variant(kernel);
    return v ? v->format.nr : SB_Q8_E_UNSUPPORTED;
}

// MARK: Packed weights.

#define SB_Q8_MAGIC 0x38515342u   // "BSQ8"

typedef struct packed_header {
    uint32_t magic;
    int32_t kernel, m, k, kp, mp;
    int32_t rowsum_offset, data_offset;   // bytes from the header
    int32_t reserved[8];
} packed_header;
_Static_assert(sizeof(packed_header) == 64, "header keeps the packed data 64-byte aligned");

static size_t round_up(size_t x, size_t to) { return (x + to - 1) / to * to; }

static int32_t shape_ok(int32_t m, int32_t k) { return m > 0 && k > 0 && k <= 65536; }

size_t sb_q8_packed_weights_size(int32_t kernel, int32_t m, int32_t k) {
    const sb_q8_variant *v = variant(kernel);
    if (v == NULL || !shape_ok(m, k)) return 0;
    const sb_q8_format f = v->format;
    size_t mp = round_up((size_t)m, (size_t)f.mr), kp = round_up((size_t)k, (size_t)f.kg);
    return sizeof(packed_header) + round_up(mp * sizeof(int32_t), 64) + mp * kp * (size_t)f.a_bytes;
}

int32_t sb_q8_pack_weights(int32_t kernel, const int8_t *a, int32_t m, int32_t k, int32_t lda,
                           void *dst, size_t dst_size) {
    const sb_q8_variant *v = variant(kernel);
    if (v == NULL) return SB_Q8_E_UNSUPPORTED;
    if (!shape_ok(m, k) || lda < k || a == NULL || dst == NULL || ((uintptr_t)dst & 63))
        return SB_Q8_E_ARGUMENT;
    size_t need = sb_q8_packed_weights_size(kernel, m, k);
    if (dst_size < need) return SB_Q8_E_BUFFER;
    const sb_q8_format f = v->format;
    const int32_t mp = (int32_t)round_up((size_t)m, (size_t)f.mr);
    const int32_t kp = (int32_t)round_up((size_t)k, (size_t)f.kg);
    packed_header h;
    memset(&h, 0, sizeof h);
    h.magic = SB_Q8_MAGIC;
    h.kernel = kernel; h.m = m; h.k = k; h.kp = kp; h.mp = mp;
    h.rowsum_offset = (int32_t)sizeof h;
    h.data_offset = h.rowsum_offset + (int32_t)round_up((size_t)mp * sizeof(int32_t), 64);
    memcpy(dst, &h, sizeof h);
    int32_t *rowsum = (int32_t *)((char *)dst + h.rowsum_offset);
    for (int32_t r = 0; r < mp; r++) {
        int32_t s = 0;
        if (r < m)
            for (int32_t j = 0; j < k; j++) s += a[(size_t)r * lda + j];
        rowsum[r] = s;
    }
    int8_t *d8 = (int8_t *)((char *)dst + h.data_offset);
    int16_t *d16 = (int16_t *)d8;
    size_t i = 0;
    for (int32_t mb = 0; mb < mp; mb += f.mr)
        for (int32_t kg = 0; kg < kp; kg += f.kg)
            for (int32_t r = 0; r < f.mr; r++)
                for (int32_t t = 0; t < f.kg; t++, i++) {
                    int32_t row = mb + r, col = kg + t;
                    int8_t w = row < m && col < k ? a[(size_t)row * lda + col] : 0;
                    if (f.a_bytes == 2) d16[i] = w; else d8[i] = w;
                }
    return SB_Q8_OK;
}

int32_t sb_q8_packed_kernel(const void *packed_a) {
    if (packed_a == NULL) return SB_Q8_E_PACKED;
    packed_header h;
    memcpy(&h, packed_a, sizeof h);
    return h.magic == SB_Q8_MAGIC && variant(h.kernel) != NULL ? h.kernel : SB_Q8_E_PACKED;
}

// MARK: Activation panels.

// Columns packed per chunk: the chunk (Kp x NC) stays within ~256 KiB of L2 while every
// MR-row block of A sweeps it.
static int32_t chunk_columns(const sb_q8_format *f, int32_t kp) {
    size_t per_col = (size_t)kp * (f->b_mode == SB_Q8_B_S16 ? 2 : 1);
    size_t nc = (256u * 1024u) / per_col / (size_t)f->nr * (size_t)f->nr;
    if (nc < (size_t)f->nr) nc = (size_t)f->nr;
    if (nc > 4096) nc = 4096;
    return (int32_t)nc;
}

size_t sb_q8_workspace_size(int32_t kernel, int32_t k) {
    const sb_q8_variant *v = variant(kernel);
    if (v == NULL || !shape_ok(1, k)) return 0;
    const sb_q8_format f = v->format;
    size_t kp = round_up((size_t)k, (size_t)f.kg);
    size_t elem = f.b_mode == SB_Q8_B_S16 ? 2 : 1;
    return kp * (size_t)chunk_columns(&f, (int32_t)kp) * elem;
}

static const uint8_t zero_row[4096];

/// Packs B[0:k, n:n+cols] (cols <= NR) into one panel [Kp/kg][NR][kg].
static void pack_panel(const sb_q8_format *f, const uint8_t *b, int32_t ldb, int32_t k, int32_t kp,
                       int32_t zp, int32_t n, int32_t cols, void *dst) {
    const int32_t nr = f->nr, kg = f->kg;
    if (f->b_mode != SB_Q8_B_S16 && kg == 4 && cols == nr && nr % 16 == 0) {
        // 4-row byte interleave: out[g][j][t] = b[4g + t][n + j], 16 columns at a time.
        uint8_t *out = dst;
        for (int32_t g = 0; g < kp; g += 4) {
            const uint8_t *r[4];
            for (int32_t t = 0; t < 4; t++)
                r[t] = g + t < k ? b + (size_t)(g + t) * ldb + n : zero_row;
            for (int32_t j = 0; j < nr; j += 16, out += 64) {
#if defined(__x86_64__)
                __m128i r0 = _mm_loadu_si128((const __m128i *)(r[0] + (g + 0 < k ? j : 0)));
                __m128i r1 = _mm_loadu_si128((const __m128i *)(r[1] + (g + 1 < k ? j : 0)));
                __m128i r2 = _mm_loadu_si128((const __m128i *)(r[2] + (g + 2 < k ? j : 0)));
                __m128i r3 = _mm_loadu_si128((const __m128i *)(r[3] + (g + 3 < k ? j : 0)));
                if (f->b_mode == SB_Q8_B_S8X) {
                    const __m128i flip = _mm_set1_epi8((char)0x80);
                    r0 = _mm_xor_si128(r0, flip); r1 = _mm_xor_si128(r1, flip);
                    r2 = _mm_xor_si128(r2, flip); r3 = _mm_xor_si128(r3, flip);
                }
                __m128i a01l = _mm_unpacklo_epi8(r0, r1), a01h = _mm_unpackhi_epi8(r0, r1);
                __m128i a23l = _mm_unpacklo_epi8(r2, r3), a23h = _mm_unpackhi_epi8(r2, r3);
                _mm_storeu_si128((__m128i *)out + 0, _mm_unpacklo_epi16(a01l, a23l));
                _mm_storeu_si128((__m128i *)out + 1, _mm_unpackhi_epi16(a01l, a23l));
                _mm_storeu_si128((__m128i *)out + 2, _mm_unpacklo_epi16(a01h, a23h));
                _mm_storeu_si128((__m128i *)out + 3, _mm_unpackhi_epi16(a01h, a23h));
#elif defined(__aarch64__)
                uint8x16x4_t v;
                v.val[0] = vld1q_u8(r[0] + (g + 0 < k ? j : 0));
                v.val[1] = vld1q_u8(r[1] + (g + 1 < k ? j : 0));
                v.val[2] = vld1q_u8(r[2] + (g + 2 < k ? j : 0));
                v.val[3] = vld1q_u8(r[3] + (g + 3 < k ? j : 0));
                if (f->b_mode == SB_Q8_B_S8X)
                    for (int t = 0; t < 4; t++) v.val[t] = veorq_u8(v.val[t], vdupq_n_u8(0x80));
                vst4q_u8(out, v);
#else
                for (int32_t jj = 0; jj < 16; jj++)
                    for (int32_t t = 0; t < 4; t++) {
                        uint8_t x = g + t < k ? r[t][j + jj] : 0;
                        out[jj * 4 + t] = f->b_mode == SB_Q8_B_S8X ? (uint8_t)(x ^ 0x80) : x;
                    }
#endif
            }
        }
        return;
    }
    if (f->b_mode == SB_Q8_B_S16) {
        // out[g][j][t] = b[g*kg + t][n + j] - zp; zero outside the range.
        int16_t *out = dst;
        for (int32_t g = 0; g < kp; g += kg)
            for (int32_t t = 0; t < kg; t++) {
                int16_t *o = out + (size_t)g * nr + t;
                if (g + t >= k) {
                    for (int32_t j = 0; j < nr; j++) o[(size_t)j * kg] = 0;
                    continue;
                }
                const uint8_t *row = b + (size_t)(g + t) * ldb + n;
                for (int32_t j = 0; j < cols; j++) o[(size_t)j * kg] = (int16_t)(row[j] - zp);
                for (int32_t j = cols; j < nr; j++) o[(size_t)j * kg] = 0;
            }
        return;
    }
    // Byte forms, general case (last panel of a range, or small NR).
    uint8_t *out = dst;
    const uint8_t flip = f->b_mode == SB_Q8_B_S8X ? 0x80 : 0;
    for (int32_t g = 0; g < kp; g += kg)
        for (int32_t t = 0; t < kg; t++) {
            uint8_t *o = out + (size_t)g * nr + t;
            if (g + t >= k) {
                for (int32_t j = 0; j < nr; j++) o[(size_t)j * kg] = 0;
                continue;
            }
            const uint8_t *row = b + (size_t)(g + t) * ldb + n;
            for (int32_t j = 0; j < cols; j++) o[(size_t)j * kg] = row[j] ^ flip;
            for (int32_t j = cols; j < nr; j++) o[(size_t)j * kg] = 0;
        }
}

// MARK: Driver.

/// Where B comes from: a uint8 matrix, or the unfold of a convolution's input read while packing.
typedef struct b_source {
    const uint8_t *b;          // matrix B [K x ldb], or NULL for a convolution
    int32_t ldb;
    const uint8_t *input;      // convolution input planes (c4 planes if c4)
    const sb_window *window;
    int32_t c4;                // input in padded c4 planes, weights in c4 K order (sb_q8_conv_c4.c)
} b_source;

/// Checks packed weights and their B source for a product over rows [0, m1) and columns
/// [0, n1); fills the header and variant. SB_Q8_OK or an error code.
static int32_t check_operand(const void *packed_a, const b_source *src, int32_t b_zero_point,
                             int32_t m1, int32_t n1, packed_header *h, const sb_q8_variant **out) {
    if (packed_a == NULL) return SB_Q8_E_ARGUMENT;
    memcpy(h, packed_a, sizeof *h);
    if (h->magic != SB_Q8_MAGIC || !shape_ok(h->m, h->k)) return SB_Q8_E_PACKED;
    const sb_q8_variant *v = variant(h->kernel);
    if (v == NULL || !cpu_has(h->kernel)) return SB_Q8_E_UNSUPPORTED;
    const sb_q8_format f = v->format;
    if (h->kp % f.kg || h->mp % f.mr || h->kp < h->k || h->mp < h->m) return SB_Q8_E_PACKED;
    if (m1 > h->m || (src->b && src->ldb < n1) || b_zero_point < 0 || b_zero_point > 255)
        return SB_Q8_E_ARGUMENT;
    if (src->b == NULL) {
        const sb_window *g = src->window;
        if (src->input == NULL || g == NULL) return SB_Q8_E_ARGUMENT;
        if (!(src->c4 ? sb_q8_conv_c4_supported(h->kernel, g) : sb_q8_conv_implicit(h->kernel, g)))
            return SB_Q8_E_UNSUPPORTED;
        const int32_t k = src->c4 ? sb_q8_c4_reduction(g) : g->channels * g->k_h * g->k_w;
        if (k != h->k || n1 > g->out_h * g->out_w) return SB_Q8_E_ARGUMENT;
    }
    *out = v;
    return SB_Q8_OK;
}

/// Packs the panels of columns [nb, nb + ncur) of B into `dst`, one `panel` bytes apart.
static void pack_panels(const sb_q8_format *f, const packed_header *h, const b_source *src,
                        int32_t b_zero_point, int32_t nb, int32_t ncur, size_t panel, char *dst) {
    const int32_t panels = (ncur + f->nr - 1) / f->nr;
    int32_t p = 0;
#if defined(__x86_64__)
    // A uint8 matrix into 32-column byte panels: two full panels at a time where the CPU has VBMI.
    if (src->b != NULL && f->b_mode == SB_Q8_B_U8 && f->kg == 4 && f->nr == 32 && sb_q8_have_vbmi())
        for (; (p + 2) * f->nr <= ncur; p += 2)
            sb_q8_pack_two_panels_vbmi(src->b, src->ldb, h->k, h->kp, nb + p * f->nr, (uint8_t *)dst + (size_t)p * panel,
                                       (uint8_t *)dst + (size_t)(p + 1) * panel);
#endif
    for (; p < panels; p++) {
        int32_t cols = ncur - p * f->nr < f->nr ? ncur - p * f->nr : f->nr;
#if defined(__x86_64__)
        if (src->b == NULL && src->c4) {
            sb_q8_pack_conv_panel_c4_avx512(src->input, src->window, h->kp, nb + p * f->nr, cols, f->nr,
                                            (uint8_t *)dst + (size_t)p * panel);
            continue;
        }
        if (src->b == NULL) {
            sb_q8_pack_conv_panel_avx512(src->input, src->window, h->k, h->kp, (uint8_t)b_zero_point,
                                         nb + p * f->nr, cols, f->nr, (uint8_t *)dst + (size_t)p * panel);
            continue;
        }
#endif
        pack_panel(f, src->b, src->ldb, h->k, h->kp, b_zero_point, nb + p * f->nr, cols, dst + (size_t)p * panel);
    }
}

static int32_t b_correction(const sb_q8_format *f, int32_t b_zero_point) {
    return f->b_mode == SB_Q8_B_U8 ? -b_zero_point : f->b_mode == SB_Q8_B_S8X ? 128 - b_zero_point : 0;
}

static int32_t gemm(const void *packed_a, const b_source *src, int32_t b_zero_point,
                    int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                    const sb_q8_epilogue *ep, void *c, int32_t ldc,
                    void *workspace, size_t workspace_size) {
    if (ep == NULL || c == NULL || workspace == NULL) return SB_Q8_E_ARGUMENT;
    packed_header h;
    const sb_q8_variant *v = NULL;
    int32_t rc = check_operand(packed_a, src, b_zero_point, m1, n1, &h, &v);
    if (rc != SB_Q8_OK) return rc;
    const sb_q8_format f = v->format;
    if (m0 < 0 || m0 > m1 || n0 < 0 || n0 > n1 || ldc < n1 || ((uintptr_t)workspace & 63) ||
        ep->out_type < SB_Q8_OUT_U8 || ep->out_type > SB_Q8_OUT_I32 ||
        (ep->out_type != SB_Q8_OUT_I32 && ep->scale == NULL) ||
        (ep->residual != NULL && ep->ld_residual < n1))
        return SB_Q8_E_ARGUMENT;
    if (workspace_size < sb_q8_workspace_size(h.kernel, h.k)) return SB_Q8_E_BUFFER;
    if (m0 == m1 || n0 == n1) return SB_Q8_OK;

    const int32_t *rowsum = (const int32_t *)((const char *)packed_a + h.rowsum_offset);
    const char *adata = (const char *)packed_a + h.data_offset;
    const size_t a_block = (size_t)h.kp * f.mr * f.a_bytes;
    const size_t panel = (size_t)h.kp * f.nr * (f.b_mode == SB_Q8_B_S16 ? 2 : 1);
    const int32_t kgroups = h.kp / f.kg;
    const int32_t corr = b_correction(&f, b_zero_point);
    const int32_t nc = chunk_columns(&f, h.kp);
    _Alignas(64) int32_t tile[SB_Q8_MAX_TILE];
    const sb_q8_store_fn store = v->store ? v->store : sb_q8_store_tile;

    for (int32_t nb = n0; nb < n1; nb += nc) {
        const int32_t ncur = n1 - nb < nc ? n1 - nb : nc;
        const int32_t panels = (ncur + f.nr - 1) / f.nr;
        pack_panels(&f, &h, src, b_zero_point, nb, ncur, panel, workspace);
        for (int32_t mb = m0 / f.mr * f.mr; mb < m1; mb += f.mr) {
            const void *ablk = adata + (size_t)(mb / f.mr) * a_block;
            const int32_t r0 = m0 > mb ? m0 - mb : 0;
            const int32_t r1 = m1 - mb < f.mr ? m1 - mb : f.mr;
            for (int32_t p = 0; p < panels; p++) {
                int32_t cols = ncur - p * f.nr < f.nr ? ncur - p * f.nr : f.nr;
                const void *bp = (const char *)workspace + (size_t)p * panel;
                if (cols < f.nr && v->ukernel_narrow) v->ukernel_narrow(kgroups, ablk, bp, tile, cols);
                else v->ukernel(kgroups, ablk, bp, tile);
                store(tile, f.nr, rowsum + mb, corr, mb, r0, r1, nb + p * f.nr, cols, ep, c, ldc);
            }
        }
    }
    return SB_Q8_OK;
}

// MARK: Pairs.

size_t sb_q8_pair_workspace_size(int32_t kernel, int32_t k1, int32_t k2) {
    const sb_q8_variant *v = variant(kernel);
    if (v == NULL || !shape_ok(1, k1) || !shape_ok(1, k2)) return 0;
    const sb_q8_format f = v->format;
    const size_t kp = round_up((size_t)k1, (size_t)f.kg) + round_up((size_t)k2, (size_t)f.kg);
    const size_t elem = f.b_mode == SB_Q8_B_S16 ? 2 : 1;
    return round_up(kp * (size_t)chunk_columns(&f, (int32_t)kp) * elem, 64);
}

int32_t sb_q8_gemm_pair(const sb_q8_operand *x, const sb_q8_operand *y, float out_scale, int32_t out_zp,
                        int32_t relu, int32_t m0, int32_t m1, int32_t n0, int32_t n1, uint8_t *c,
                        int32_t ldc, void *workspace, size_t workspace_size) {
    if (x == NULL || y == NULL || c == NULL || workspace == NULL || ((uintptr_t)workspace & 63))
        return SB_Q8_E_ARGUMENT;
    const sb_q8_operand *op[2] = { x, y };
    b_source src[2];
    packed_header h[2];
    const sb_q8_variant *v[2] = { NULL, NULL };
    for (int32_t i = 0; i < 2; i++) {
        const sb_q8_epilogue *ep = op[i]->epilogue;
        if (ep == NULL || ep->scale == NULL || ep->residual != NULL || ep->relu || ep->out_type != SB_Q8_OUT_F32)
            return SB_Q8_E_ARGUMENT;
        src[i] = (b_source){ .b = op[i]->b, .ldb = op[i]->ldb, .input = op[i]->input, .window = op[i]->window };
        int32_t rc = check_operand(op[i]->packed, &src[i], op[i]->zero_point, m1, n1, &h[i], &v[i]);
        if (rc != SB_Q8_OK) return rc;
    }
    if (h[0].kernel != h[1].kernel || h[0].m != h[1].m) return SB_Q8_E_ARGUMENT;
    if (m0 < 0 || m0 > m1 || n0 < 0 || n0 > n1 || ldc < n1 || out_zp < 0 || out_zp > 255 ||
        !(out_scale > 0.0f))
        return SB_Q8_E_ARGUMENT;
    if (workspace_size < sb_q8_pair_workspace_size(h[0].kernel, h[0].k, h[1].k)) return SB_Q8_E_BUFFER;
    if (m0 == m1 || n0 == n1) return SB_Q8_OK;

    const sb_q8_variant *var = v[0];
    const sb_q8_format f = var->format;
    const size_t elem = f.b_mode == SB_Q8_B_S16 ? 2 : 1;
    const int32_t nc = chunk_columns(&f, h[0].kp + h[1].kp);
    const char *adata[2];
    size_t a_block[2], panel[2];
    int32_t kgroups[2];
    sb_q8_pair_tiles t;
    _Alignas(64) int32_t tiles[2][SB_Q8_MAX_TILE];
    char *panels_at[2];
    for (int32_t i = 0; i < 2; i++) {
        adata[i] = (const char *)op[i]->packed + h[i].data_offset;
        a_block[i] = (size_t)h[i].kp * f.mr * f.a_bytes;
        panel[i] = (size_t)h[i].kp * f.nr * elem;
        kgroups[i] = h[i].kp / f.kg;
        t.tile[i] = tiles[i];
        t.corr[i] = b_correction(&f, op[i]->zero_point);
        t.ep[i] = op[i]->epilogue;
    }
    t.out_scale = out_scale; t.out_zp = out_zp; t.relu = relu;
    // Operand 0's panels of a chunk first, then operand 1's.
    panels_at[0] = workspace;
    panels_at[1] = (char *)workspace + (size_t)((nc + f.nr - 1) / f.nr) * panel[0];
    const sb_q8_store_pair_fn store = var->store_pair ? var->store_pair : sb_q8_store_pair;

    for (int32_t nb = n0; nb < n1; nb += nc) {
        const int32_t ncur = n1 - nb < nc ? n1 - nb : nc;
        const int32_t panels = (ncur + f.nr - 1) / f.nr;
        for (int32_t i = 0; i < 2; i++)
            pack_panels(&f, &h[i], &src[i], op[i]->zero_point, nb, ncur, panel[i], panels_at[i]);
        for (int32_t mb = m0 / f.mr * f.mr; mb < m1; mb += f.mr) {
            const int32_t r0 = m0 > mb ? m0 - mb : 0;
            const int32_t r1 = m1 - mb < f.mr ? m1 - mb : f.mr;
            for (int32_t i = 0; i < 2; i++)
                t.rowsum[i] = (const int32_t *)((const char *)op[i]->packed + h[i].rowsum_offset) + mb;
            for (int32_t p = 0; p < panels; p++) {
                const int32_t cols = ncur - p * f.nr < f.nr ? ncur - p * f.nr : f.nr;
                for (int32_t i = 0; i < 2; i++) {
                    const void *ablk = adata[i] + (size_t)(mb / f.mr) * a_block[i];
                    const void *bp = panels_at[i] + (size_t)p * panel[i];
                    if (cols < f.nr && var->ukernel_narrow) var->ukernel_narrow(kgroups[i], ablk, bp, tiles[i], cols);
                    else var->ukernel(kgroups[i], ablk, bp, tiles[i]);
                }
                store(&t, f.nr, mb, r0, r1, nb + p * f.nr, cols, c, ldc);
            }
        }
    }
    return SB_Q8_OK;
}

int32_t sb_q8_gemm(const void *packed_a, const uint8_t *b, int32_t ldb, int32_t b_zero_point,
                   int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                   const sb_q8_epilogue *ep, void *c, int32_t ldc,
                   void *workspace, size_t workspace_size) {
    if (b == NULL) return SB_Q8_E_ARGUMENT;
    const b_source src = { .b = b, .ldb = ldb };
    return gemm(packed_a, &src, b_zero_point, m0, m1, n0, n1, ep, c, ldc, workspace, workspace_size);
}

/// The variant can pack convolution panels from the input (the AVX-512 byte form with BMI2)
/// and the window is non-empty; fills the variant's format.
static int32_t panel_packing_possible(int32_t kernel, const sb_window *g, sb_q8_format *format) {
    const sb_q8_variant *v = variant(kernel);
    if (v == NULL || !v->implicit_unfold || !cpu_has(kernel) || g == NULL) return 0;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("bmi2")) return 0;
#endif
    const sb_q8_format f = v->format;
    *format = f;
    return f.b_mode == SB_Q8_B_U8 && f.kg == 4 && f.a_bytes == 1 && f.nr % 16 == 0 && f.nr <= 64 &&
           g->channels > 0 && g->in_h > 0 && g->in_w > 0 && g->out_h > 0 && g->out_w > 0 &&
           g->k_h > 0 && g->k_w > 0 && (g->stride_w == 1 || g->stride_w == 2);
}

int32_t sb_q8_conv_implicit(int32_t kernel, const sb_window *g) {
    sb_q8_format f;
    return panel_packing_possible(kernel, g, &f) && g->k_h * g->k_w <= 64 && g->stride_h > 0 &&
           1 + (f.nr - 1 + g->out_w - 1) / g->out_w <= 16;   // segments of a panel (MAX_LOADS)
}

int32_t sb_q8_gemm_conv(const void *packed_a, const uint8_t *input, const sb_window *g,
                        int32_t b_zero_point, int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                        const sb_q8_epilogue *ep, void *c, int32_t ldc,
                        void *workspace, size_t workspace_size) {
    if (input == NULL || g == NULL) return SB_Q8_E_ARGUMENT;
    const b_source src = { .input = input, .window = g };
    return gemm(packed_a, &src, b_zero_point, m0, m1, n0, n1, ep, c, ldc, workspace, workspace_size);
}

int32_t sb_q8_conv_c4_supported(int32_t kernel, const sb_window *g) {
    sb_q8_format f;
    return panel_packing_possible(kernel, g, &f) && (g->stride_h == 1 || g->stride_h == 2) &&
           g->k_h * g->k_w <= 64 &&   // the packer's tap table
           g->pad_top >= 0 && g->pad_left >= 0 && g->pad_bottom >= 0 && g->pad_right >= 0 &&
           g->in_h + g->pad_top + g->pad_bottom >= g->k_h && g->in_w + g->pad_left + g->pad_right >= g->k_w &&
           g->out_h <= (g->in_h + g->pad_top + g->pad_bottom - g->k_h) / g->stride_h + 1 &&
           g->out_w <= (g->in_w + g->pad_left + g->pad_right - g->k_w) / g->stride_w + 1 &&
           1 + (f.nr - 1 + g->out_w - 1) / g->out_w <= 8;   // segments of a panel
}

int32_t sb_q8_gemm_conv_c4(const void *packed_a, const uint8_t *input_c4, const sb_window *g,
                           int32_t b_zero_point, int32_t m0, int32_t m1, int32_t n0, int32_t n1,
                           const sb_q8_epilogue *ep, void *c, int32_t ldc,
                           void *workspace, size_t workspace_size) {
    if (input_c4 == NULL || g == NULL) return SB_Q8_E_ARGUMENT;
    const b_source src = { .input = input_c4, .window = g, .c4 = 1 };
    return gemm(packed_a, &src, b_zero_point, m0, m1, n0, n1, ep, c, ldc, workspace, workspace_size);
}
