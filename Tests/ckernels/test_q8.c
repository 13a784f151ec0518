// Twin test of the int8 GEMM: every available variant against the reference loops on
// seeded random shapes (ResNet's and awkward remainders). Accumulators and requantised
// outputs must be exactly equal. Also checks the dispatcher and prints a small throughput
// report (never asserted).
//
// Usage: test_q8 [--quick] [--no-bench] [--dispatch-only] [--seed N] [--expect-best NAME]
//                [--expect-selected NAME] [--expect-unavailable NAME]...
//   --expect-best        the dispatcher's choice for this CPU, ignoring the environment
//   --expect-selected    sb_q8_select_kernel() with the inherited SMARTBIN_Q8_KERNEL
//   --expect-unavailable a variant this CPU must not offer (forcing it must be refused)
#define _POSIX_C_SOURCE 200809L
#include "sb_int8.h"
#include "sb_kernels.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int passed, failed;

/// Whether a variant packs B from a convolution's input (a 3x3 stride-1 window as the probe).
static int sb_q8_variant_implicit(int32_t kernel) {
    sb_window g = { .channels = 1, .in_h = 8, .in_w = 8, .k_h = 3, .k_w = 3, .stride_h = 1, .stride_w = 1,
                    .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1, .out_h = 8, .out_w = 8 };
    return sb_q8_conv_implicit(kernel, &g);
}
static uint64_t rng_state = 0x5eed5eedULL;

static uint64_t rnd(void) {   // splitmix64
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static int32_t rnd_in(int32_t lo, int32_t hi) { return lo + (int32_t)(rnd() % (uint64_t)(hi - lo + 1)); }
static float rnd_f(float lo, float hi) { return lo + (hi - lo) * (float)(rnd() >> 40) / (float)(1 << 24); }

static void *xalloc(size_t n) {
    void *p = NULL;
    if (posix_memalign(&p, 64, n ? (n + 63) / 64 * 64 : 64) != 0) { perror("posix_memalign"); exit(2); }
    return p;
}

typedef struct shape { int32_t m, k, n; } shape;

/// One epilogue configuration of the test matrix.
typedef struct config { int32_t type, bias, residual, relu; const char *name; } config;
static const config configs[] = {
    { SB_Q8_OUT_I32, 0, 0, 0, "i32" },
    { SB_Q8_OUT_U8, 1, 0, 1, "u8+bias+relu" },
    { SB_Q8_OUT_U8, 1, 1, 1, "u8+bias+residual+relu" },
    { SB_Q8_OUT_S8, 1, 1, 0, "s8+bias+residual" },
    { SB_Q8_OUT_S8, 1, 0, 1, "s8+bias+relu" },
    { SB_Q8_OUT_F32, 1, 1, 1, "f32+bias+residual+relu" },
    { SB_Q8_OUT_F32, 0, 0, 0, "f32" },
};
enum { NCONFIG = sizeof configs / sizeof configs[0] };

static size_t elem_size(int32_t type) { return type == SB_Q8_OUT_U8 || type == SB_Q8_OUT_S8 ? 1 : 4; }

/// Tests one shape on every available variant; returns the number of failed variant checks.
static void test_shape(shape s, int32_t splits, int *fails) {
    const int32_t lda = s.k + rnd_in(0, 3), ldb = s.n + rnd_in(0, 5), ldc = s.n + rnd_in(0, 2);
    const int32_t zp = rnd_in(0, 255) & (rnd() & 1 ? 0xff : 0);   // half the time zp = 0
    int8_t *a = xalloc((size_t)s.m * lda);
    uint8_t *b = xalloc((size_t)s.k * ldb), *res = xalloc((size_t)s.m * ldc);
    for (size_t i = 0; i < (size_t)s.m * lda; i++) a[i] = (int8_t)rnd();
    for (size_t i = 0; i < (size_t)s.k * ldb; i++) b[i] = (uint8_t)rnd();
    for (size_t i = 0; i < (size_t)s.m * ldc; i++) res[i] = (uint8_t)rnd();
    // Extremes: a row of -128 against a column of 255 (largest |acc|).
    for (int32_t p = 0; p < s.k; p++) { a[p] = -128; b[(size_t)p * ldb] = 255; }
    float *scale = xalloc(sizeof(float) * (size_t)s.m), *bias = xalloc(sizeof(float) * (size_t)s.m);
    // Scale so that outputs spread over the int8 range: |acc| ~ 75 * 128 * sqrt(K).
    float spread = 1.0f;
    for (float t = 1.0f; t * t < (float)s.k; t += 1.0f) spread = t;
    for (int32_t i = 0; i < s.m; i++) {
        scale[i] = rnd_f(0.5f, 2.0f) * 100.0f / (9600.0f * spread);
        bias[i] = rnd_f(-40.0f, 40.0f);
    }
    int32_t *acc = xalloc(sizeof(int32_t) * (size_t)s.m * s.n);
    sb_q8_gemm_acc_ref(a, s.m, s.k, lda, b, s.n, ldb, zp, acc);
    const size_t csize = (size_t)s.m * ldc * 4;
    unsigned char *want = xalloc(csize), *got = xalloc(csize);

    for (int32_t kern = 0; kern < SB_Q8_KERNEL_COUNT; kern++) {
        if (!sb_q8_kernel_available(kern)) continue;
        const char *name = sb_q8_kernel_name(kern);
        size_t psize = sb_q8_packed_weights_size(kern, s.m, s.k);
        void *packed = xalloc(psize);
        if (sb_q8_pack_weights(kern, a, s.m, s.k, lda, packed, psize) != SB_Q8_OK) {
            fprintf(stderr, "%s: pack failed for %dx%d\n", name, s.m, s.k);
            fails[kern]++;
            free(packed);
            continue;
        }
        size_t wsize = sb_q8_workspace_size(kern, s.k);
        void *ws = xalloc(wsize);
        for (int ci = 0; ci < NCONFIG; ci++) {
            const config cf = configs[ci];
            sb_q8_epilogue ep = {
                .scale = scale, .bias = cf.bias ? bias : NULL,
                .residual = cf.residual ? res : NULL, .ld_residual = ldc,
                .residual_scale = rnd_f(0.1f, 1.0f), .residual_zp = rnd_in(0, 255),
                .out_zp = cf.type == SB_Q8_OUT_U8 ? rnd_in(0, 30) : rnd_in(-10, 10),
                .relu = cf.relu, .out_type = cf.type,
            };
            if (cf.type == SB_Q8_OUT_F32) {   // real units: bigger scale, no rounding
                ep.out_zp = 0;
            }
            memset(want, 0xAB, csize);
            memset(got, 0xAB, csize);
            sb_q8_epilogue_ref(acc, s.m, s.n, &ep, want, ldc);
            // Whole matrix in one call, or split into a grid of (splits x splits) ranges
            // with arbitrary (unaligned) bounds, as a thread pool would.
            int32_t mcut[5] = { 0, s.m, 0, 0, 0 }, ncut[5] = { 0, s.n, 0, 0, 0 }, parts = 1;
            if (splits > 1 && (ci & 1)) {
                parts = splits;
                for (int32_t i = 0; i <= parts; i++) {
                    mcut[i] = i == parts ? s.m : (int32_t)((int64_t)s.m * i / parts) + (i ? rnd_in(0, 1) : 0);
                    ncut[i] = i == parts ? s.n : (int32_t)((int64_t)s.n * i / parts) + (i ? rnd_in(0, 3) : 0);
                    if (mcut[i] > s.m) mcut[i] = s.m;
                    if (ncut[i] > s.n) ncut[i] = s.n;
                    if (i && mcut[i] < mcut[i - 1]) mcut[i] = mcut[i - 1];
                    if (i && ncut[i] < ncut[i - 1]) ncut[i] = ncut[i - 1];
                }
            }
            int rc = SB_Q8_OK;
            for (int32_t i = 0; i < parts && rc == SB_Q8_OK; i++)
                for (int32_t j = 0; j < parts && rc == SB_Q8_OK; j++)
                    rc = sb_q8_gemm(packed, b, ldb, zp, mcut[i], mcut[i + 1], ncut[j], ncut[j + 1],
                                    &ep, got, ldc, ws, wsize);
            if (rc != SB_Q8_OK) {
                fprintf(stderr, "%s: sb_q8_gemm returned %d for M=%d K=%d N=%d\n", name, rc, s.m, s.k, s.n);
                fails[kern]++;
                continue;
            }
            int ok = 1;
            const size_t es = elem_size(cf.type);
            for (int32_t i = 0; i < s.m && ok; i++)
                if (memcmp(want + (size_t)i * ldc * es, got + (size_t)i * ldc * es, (size_t)s.n * es) != 0) {
                    ok = 0;
                    for (int32_t j = 0; j < s.n; j++) {
                        size_t at = ((size_t)i * ldc + j) * es;
                        if (memcmp(want + at, got + at, es) != 0) {
                            long w = es == 1 ? (long)want[at] : (long)*(int32_t *)(want + at);
                            long g = es == 1 ? (long)got[at] : (long)*(int32_t *)(got + at);
                            if (fails[kern] < 5)
                                fprintf(stderr, "%s: M=%d K=%d N=%d zp=%d %s: first mismatch at [%d][%d]: want %ld got %ld (raw)\n",
                                        name, s.m, s.k, s.n, zp, cf.name, i, j, w, g);
                            break;
                        }
                    }
                }
            if (!ok) fails[kern]++;
        }
        free(ws);
        free(packed);
    }
    free(a); free(b); free(res); free(scale); free(bias); free(acc); free(want); free(got);
}

/// The plain unfold (as sb_im2col_u8_ref): dst [C*kh*kw x oh*ow], `pad` outside the input.
static void unfold_ref(const uint8_t *src, uint8_t *dst, const sb_window *g, uint8_t pad) {
    const int32_t n = g->out_h * g->out_w;
    for (int32_t c = 0; c < g->channels; c++)
        for (int32_t ky = 0; ky < g->k_h; ky++)
            for (int32_t kx = 0; kx < g->k_w; kx++)
                for (int32_t oy = 0; oy < g->out_h; oy++)
                    for (int32_t ox = 0; ox < g->out_w; ox++) {
                        const int32_t iy = oy * g->stride_h - g->pad_top + ky, ix = ox * g->stride_w - g->pad_left + kx;
                        const size_t row = ((size_t)c * g->k_h + ky) * g->k_w + kx;
                        dst[row * n + (size_t)oy * g->out_w + ox] = iy < 0 || iy >= g->in_h || ix < 0 || ix >= g->in_w
                            ? pad : src[((size_t)c * g->in_h + iy) * g->in_w + ix];
                    }
}

/// sb_q8_gemm_conv (B packed straight from the input) against unfold + reference GEMM +
/// reference epilogue, on every variant that offers it; the others must refuse it.
static void test_conv(sb_window g, int32_t m, int *fails) {
    g.out_h = (g.in_h + g.pad_top + g.pad_bottom - g.k_h) / g.stride_h + 1;
    g.out_w = (g.in_w + g.pad_left + g.pad_right - g.k_w) / g.stride_w + 1;
    const int32_t k = g.channels * g.k_h * g.k_w, n = g.out_h * g.out_w;
    const int32_t zp = rnd_in(0, 255);
    const size_t in_size = (size_t)g.channels * g.in_h * g.in_w;
    // The input sits at the start and end of its own allocations, so a load outside the planes
    // that was not masked off would be caught by a sanitizer or a guard page.
    uint8_t *input = xalloc(in_size);
    int8_t *a = xalloc((size_t)m * k);
    uint8_t *cols = xalloc((size_t)k * n), *res = xalloc((size_t)m * n);
    for (size_t i = 0; i < in_size; i++) input[i] = (uint8_t)rnd();
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (int8_t)rnd();
    for (size_t i = 0; i < (size_t)m * n; i++) res[i] = (uint8_t)rnd();
    float *scale = xalloc(sizeof(float) * (size_t)m), *bias = xalloc(sizeof(float) * (size_t)m);
    float spread = 1.0f;
    for (float t = 1.0f; t * t < (float)k; t += 1.0f) spread = t;
    for (int32_t i = 0; i < m; i++) { scale[i] = rnd_f(0.5f, 2.0f) * 100.0f / (9600.0f * spread); bias[i] = rnd_f(-40.0f, 40.0f); }
    int32_t *acc = xalloc(sizeof(int32_t) * (size_t)m * n);
    unfold_ref(input, cols, &g, (uint8_t)zp);
    sb_q8_gemm_acc_ref(a, m, k, k, cols, n, n, zp, acc);
    sb_q8_epilogue ep = { .scale = scale, .bias = bias, .residual = rnd() & 1 ? res : NULL, .ld_residual = n,
                          .residual_scale = 0.4f, .residual_zp = rnd_in(0, 255), .out_zp = rnd_in(0, 40),
                          .relu = (int32_t)(rnd() & 1), .out_type = SB_Q8_OUT_U8 };
    uint8_t *want = xalloc((size_t)m * n), *got = xalloc((size_t)m * n);
    sb_q8_epilogue_ref(acc, m, n, &ep, want, n);
    for (int32_t kern = 0; kern < SB_Q8_KERNEL_COUNT; kern++) {
        if (!sb_q8_kernel_available(kern)) continue;
        size_t psize = sb_q8_packed_weights_size(kern, m, k), wsize = sb_q8_workspace_size(kern, k);
        void *packed = xalloc(psize), *ws = xalloc(wsize);
        sb_q8_pack_weights(kern, a, m, k, k, packed, psize);
        memset(got, 0xAB, (size_t)m * n);
        const int implicit = sb_q8_conv_implicit(kern, &g);
        // Two column ranges and two row ranges with unaligned cuts, as threads would split.
        const int32_t mc = m > 1 ? rnd_in(1, m - 1) : m, nc = n > 1 ? rnd_in(1, n - 1) : n;
        int rc = SB_Q8_OK;
        const int32_t mr[3] = { 0, mc, m }, nr[3] = { 0, nc, n };
        for (int i = 0; i < 2 && rc == SB_Q8_OK; i++)
            for (int j = 0; j < 2 && rc == SB_Q8_OK; j++)
                rc = sb_q8_gemm_conv(packed, input, &g, zp, mr[i], mr[i + 1], nr[j], nr[j + 1], &ep, got, n, ws, wsize);
        if (!implicit) {
            if (rc != SB_Q8_E_UNSUPPORTED) {
                fprintf(stderr, "%s: sb_q8_gemm_conv must refuse a window it cannot pack (rc %d)\n", sb_q8_kernel_name(kern), rc);
                fails[kern]++;
            }
        } else if (rc != SB_Q8_OK || memcmp(want, got, (size_t)m * n) != 0) {
            if (fails[kern] < 5)
                fprintf(stderr, "%s: conv M=%d C=%d %dx%d in %dx%d stride %d pad %d,%d,%d,%d: rc %d, output differs\n",
                        sb_q8_kernel_name(kern), m, g.channels, g.k_h, g.k_w, g.in_h, g.in_w, g.stride_h,
                        g.pad_top, g.pad_left, g.pad_bottom, g.pad_right, rc);
            fails[kern]++;
        }
        free(packed); free(ws);
    }
    free(input); free(a); free(cols); free(res); free(scale); free(bias); free(acc); free(want); free(got);
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

/// Median time of single-threaded calls per variant, with the ratio to the scalar variant.
static void bench(int32_t m, int32_t k, int32_t n, double min_seconds) {
    int8_t *a = xalloc((size_t)m * k);
    uint8_t *b = xalloc((size_t)k * n), *c = xalloc((size_t)m * n);
    for (size_t i = 0; i < (size_t)m * k; i++) a[i] = (int8_t)rnd();
    for (size_t i = 0; i < (size_t)k * n; i++) b[i] = (uint8_t)rnd();
    float *scale = xalloc(sizeof(float) * (size_t)m);
    for (int32_t i = 0; i < m; i++) scale[i] = 1e-4f;
    sb_q8_epilogue ep = { .scale = scale, .out_zp = 0, .relu = 1, .out_type = SB_Q8_OUT_U8 };
    static double times[1000];
    double ref_median = 0;
    for (int32_t kern = 0; kern < SB_Q8_KERNEL_COUNT; kern++) {
        if (!sb_q8_kernel_available(kern)) continue;
        size_t psize = sb_q8_packed_weights_size(kern, m, k), wsize = sb_q8_workspace_size(kern, k);
        void *packed = xalloc(psize), *ws = xalloc(wsize);
        sb_q8_pack_weights(kern, a, m, k, k, packed, psize);
        sb_q8_gemm(packed, b, n, 3, 0, m, 0, n, &ep, c, n, ws, wsize);   // warm up
        double total = 0;
        int reps = 0;
        while ((total < min_seconds || reps < 3) && reps < 1000) {
            double t0 = now();
            sb_q8_gemm(packed, b, n, 3, 0, m, 0, n, &ep, c, n, ws, wsize);
            times[reps] = now() - t0;
            total += times[reps++];
        }
        qsort(times, (size_t)reps, sizeof times[0], cmp_double);
        const double median = times[reps / 2], macs = (double)m * n * k;
        if (kern == SB_Q8_KERNEL_REF) ref_median = median;
        printf("bench %-10s M=%-4d K=%-4d N=%-5d median %8.3f ms of %4d  %7.1f GOPS (%6.1f G MAC/s)  %6.1fx ref\n",
               sb_q8_kernel_name(kern), m, k, n, median * 1e3, reps, 2 * macs / median * 1e-9,
               macs / median * 1e-9, ref_median > 0 ? ref_median / median : 0.0);
        free(packed); free(ws);
    }
    free(a); free(b); free(c); free(scale);
}

/// The dispatcher: names, environment override and refusal of unsupported variants.
static void test_dispatch(const char *expect_best, const char *expect_selected,
                          char **unavailable, int n_unavailable) {
    int ok = 1;
    const int32_t best = sb_q8_best_kernel();
    const int32_t selected = sb_q8_select_kernel();   // honours SMARTBIN_Q8_KERNEL as inherited
    printf("dispatch: selected %s (SMARTBIN_Q8_KERNEL=%s)\n",
           selected >= 0 ? sb_q8_kernel_name(selected) : "error", getenv("SMARTBIN_Q8_KERNEL") ? getenv("SMARTBIN_Q8_KERNEL") : "unset");
    if (expect_selected && (selected < 0 || strcmp(expect_selected, sb_q8_kernel_name(selected)) != 0)) {
        fprintf(stderr, "dispatch: expected selected kernel %s, got %d\n", expect_selected, selected);
        ok = 0;
    }
    printf("dispatch: best kernel on this CPU is %s; available:", sb_q8_kernel_name(best));
    for (int32_t k = 0; k < SB_Q8_KERNEL_COUNT; k++)
        if (sb_q8_kernel_available(k)) printf(" %s", sb_q8_kernel_name(k));
    printf("\n");
    if (expect_best && strcmp(expect_best, sb_q8_kernel_name(best)) != 0) {
        fprintf(stderr, "dispatch: expected best kernel %s, got %s\n", expect_best, sb_q8_kernel_name(best));
        ok = 0;
    }
    for (int i = 0; i < n_unavailable; i++) {
        int32_t k = sb_q8_kernel_from_name(unavailable[i]);
        if (k < 0 || sb_q8_kernel_available(k)) {
            fprintf(stderr, "dispatch: %s must not be available here\n", unavailable[i]);
            ok = 0;
        }
        setenv("SMARTBIN_Q8_KERNEL", unavailable[i], 1);
        if (sb_q8_select_kernel() != SB_Q8_E_UNSUPPORTED) {
            fprintf(stderr, "dispatch: forcing %s must return SB_Q8_E_UNSUPPORTED\n", unavailable[i]);
            ok = 0;
        }
        // Weights packed for it (packing is portable) must be refused by the GEMM.
        int8_t a[4] = { 1, 2, 3, 4 };
        uint8_t bm[4] = { 1, 2, 3, 4 };
        int32_t c[1];
        if (k >= 0 && sb_q8_packed_weights_size(k, 1, 4) > 0) {
            size_t ps = sb_q8_packed_weights_size(k, 1, 4), ws = sb_q8_workspace_size(k, 4);
            void *p = xalloc(ps), *w = xalloc(ws);
            sb_q8_pack_weights(k, a, 1, 4, 4, p, ps);
            sb_q8_epilogue ep = { .out_type = SB_Q8_OUT_I32 };
            if (sb_q8_gemm(p, bm, 1, 0, 0, 1, 0, 1, &ep, c, 1, w, ws) != SB_Q8_E_UNSUPPORTED) {
                fprintf(stderr, "dispatch: sb_q8_gemm must refuse weights packed for %s\n", unavailable[i]);
                ok = 0;
            }
            free(p); free(w);
        }
    }
    setenv("SMARTBIN_Q8_KERNEL", "bogus", 1);
    if (sb_q8_select_kernel() != SB_Q8_E_UNKNOWN) { fprintf(stderr, "dispatch: bogus name accepted\n"); ok = 0; }
    setenv("SMARTBIN_Q8_KERNEL", "ref", 1);
    if (sb_q8_select_kernel() != SB_Q8_KERNEL_REF) { fprintf(stderr, "dispatch: ref not selectable\n"); ok = 0; }
    setenv("SMARTBIN_Q8_KERNEL", "auto", 1);
    if (sb_q8_select_kernel() != best) { fprintf(stderr, "dispatch: auto is not the best\n"); ok = 0; }
    unsetenv("SMARTBIN_Q8_KERNEL");
    if (sb_q8_select_kernel() != best) { fprintf(stderr, "dispatch: unset is not the best\n"); ok = 0; }
    printf("%-10s %s\n", "dispatch", ok ? "ok" : "FAILED");
    if (ok) passed++; else failed++;
}

/// Every int8 GEMM of ResNet50 v1.5 (after conv1) with the best variant, one thread: the sum of
/// per-shape medians times their counts, so GEMM changes can be judged without the engine.
static void bench_resnet50(void) {
    static const struct { int32_t m, k, n, count; } convs[] = {
        { 64, 64, 3136, 1 }, { 64, 256, 3136, 2 }, { 64, 576, 3136, 3 }, { 256, 64, 3136, 4 },
        { 128, 256, 3136, 1 }, { 128, 512, 784, 3 }, { 128, 1152, 784, 4 }, { 512, 128, 784, 4 },
        { 512, 256, 784, 1 }, { 256, 512, 784, 1 }, { 256, 1024, 196, 5 }, { 256, 2304, 196, 6 },
        { 1024, 256, 196, 6 }, { 1024, 512, 196, 1 }, { 512, 1024, 196, 1 }, { 512, 2048, 49, 2 },
        { 512, 4608, 49, 3 }, { 2048, 512, 49, 3 }, { 2048, 1024, 49, 1 },
    };
    const int32_t kern = sb_q8_best_kernel();
    double total = 0, macs_total = 0;
    static double times[200];
    for (size_t i = 0; i < sizeof convs / sizeof convs[0]; i++) {
        const int32_t m = convs[i].m, k = convs[i].k, n = convs[i].n;
        int8_t *a = xalloc((size_t)m * k);
        uint8_t *b = xalloc((size_t)k * n), *c = xalloc((size_t)m * n), *res = xalloc((size_t)m * n);
        for (size_t j = 0; j < (size_t)m * k; j++) a[j] = (int8_t)rnd();
        for (size_t j = 0; j < (size_t)k * n; j++) b[j] = (uint8_t)rnd();
        for (size_t j = 0; j < (size_t)m * n; j++) res[j] = (uint8_t)rnd();
        float *scale = xalloc(sizeof(float) * (size_t)m), *bias = xalloc(sizeof(float) * (size_t)m);
        for (int32_t j = 0; j < m; j++) { scale[j] = 1e-4f; bias[j] = 0.5f; }
        sb_q8_epilogue ep = { .scale = scale, .bias = bias, .out_zp = 3, .relu = 1, .out_type = SB_Q8_OUT_U8 };
        if (m == 256 * (n == 3136) + 512 * (n == 784) + 1024 * (n == 196) + 2048 * (n == 49)) {
            ep.residual = res; ep.ld_residual = n; ep.residual_scale = 0.7f; ep.residual_zp = 5;
        }
        size_t psize = sb_q8_packed_weights_size(kern, m, k), wsize = sb_q8_workspace_size(kern, k);
        void *packed = xalloc(psize), *ws = xalloc(wsize);
        sb_q8_pack_weights(kern, a, m, k, k, packed, psize);
        int reps = 0;
        for (double spent = 0; reps < 200 && (spent < 0.05 || reps < 5); reps++) {
            double t0 = now();
            sb_q8_gemm(packed, b, n, 3, 0, m, 0, n, &ep, c, n, ws, wsize);
            times[reps] = now() - t0;
            spent += times[reps];
        }
        qsort(times, (size_t)reps, sizeof times[0], cmp_double);
        const double median = times[reps / 2], macs = (double)m * n * k;
        printf("resnet50 %-10s M=%-4d K=%-4d N=%-5d x%d  %7.3f ms  %6.1f G MAC/s\n", sb_q8_kernel_name(kern),
               m, k, n, convs[i].count, median * 1e3, macs / median * 1e-9);
        total += median * convs[i].count;
        macs_total += macs * convs[i].count;
        free(a); free(b); free(c); free(res); free(scale); free(bias); free(packed); free(ws);
    }
    printf("resnet50 %-10s all int8 GEMMs after conv1: %.2f ms, %.2f G MAC, %.1f G MAC/s\n",
           sb_q8_kernel_name(kern), total * 1e3, macs_total * 1e-9, macs_total / total * 1e-9);
}

int main(int argc, char **argv) {
    int quick = 0, do_bench = 1, dispatch_only = 0, n_unavailable = 0;
    const char *expect_best = NULL, *expect_selected = NULL;
    char *unavailable[8];
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--quick") == 0) quick = 1;
        else if (strcmp(argv[i], "--no-bench") == 0) do_bench = 0;
        else if (strcmp(argv[i], "--dispatch-only") == 0) dispatch_only = 1;
        else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) rng_state = strtoull(argv[++i], NULL, 0);
        else if (strcmp(argv[i], "--expect-best") == 0 && i + 1 < argc) expect_best = argv[++i];
        else if (strcmp(argv[i], "--expect-selected") == 0 && i + 1 < argc) expect_selected = argv[++i];
        else if (strcmp(argv[i], "--expect-unavailable") == 0 && i + 1 < argc && n_unavailable < 8)
            unavailable[n_unavailable++] = argv[++i];
        else { fprintf(stderr, "usage: %s [--quick] [--no-bench] [--dispatch-only] [--seed N] [--expect-best NAME] [--expect-selected NAME] [--expect-unavailable NAME]...\n", argv[0]); return 2; }
    }
    const uint64_t seed = rng_state;
    printf("test_q8: seed %llu%s\n", (unsigned long long)seed, quick ? " (quick)" : "");
    test_dispatch(expect_best, expect_selected, unavailable, n_unavailable);
    if (dispatch_only) {
        printf("%d passed, %d failed\n", passed, failed);
        return failed ? 1 : 0;
    }

    int fails[SB_Q8_KERNEL_COUNT] = { 0 };
    // ResNet-50 convolutions as GEMMs (M = Cout, K = Cin*kh*kw, N = output pixels), the FC
    // layer (N = 1), then awkward random shapes.
    static const shape resnet[] = {
        { 64, 147, 12544 }, { 64, 64, 3136 }, { 64, 576, 3136 }, { 256, 64, 3136 },
        { 128, 1152, 784 }, { 512, 128, 784 }, { 256, 2304, 196 }, { 1024, 256, 196 },
        { 512, 4608, 49 }, { 2048, 512, 49 }, { 1000, 2048, 1 },
    };
    int n_shapes = 0, n_convs = 0;
    for (size_t i = 0; i < sizeof resnet / sizeof resnet[0]; i++) {
        shape s = resnet[i];
        if (quick && (double)s.m * s.k * s.n > 3e7) s.n = s.n > 97 ? 97 : s.n;   // keep qemu fast
        test_shape(s, 3, fails);
        n_shapes++;
    }
    const int randoms = quick ? 25 : 60;
    for (int i = 0; i < randoms; i++) {
        shape s = { rnd_in(1, 70), rnd_in(1, 300), rnd_in(1, 150) };
        if (i % 10 == 0) s.k = rnd_in(1, 9);
        test_shape(s, i % 3 ? 2 : 1, fails);
        n_shapes++;
    }
    // Convolutions with B packed from the input: ResNet-50's unfolded windows, then random ones.
    static const struct { int32_t c, size, kernel, stride, pad, m; } rconv[] = {
        { 64, 56, 3, 1, 1, 64 }, { 128, 56, 3, 2, 1, 16 }, { 256, 28, 3, 2, 1, 8 }, { 512, 14, 3, 2, 1, 8 },
        { 256, 14, 3, 1, 1, 8 }, { 512, 7, 3, 1, 1, 8 }, { 256, 56, 1, 2, 0, 8 }, { 1024, 14, 1, 2, 0, 8 },
        { 3, 224, 7, 2, 3, 8 },
    };
    for (size_t i = 0; i < sizeof rconv / sizeof rconv[0]; i++) {
        sb_window g = { .channels = rconv[i].c, .in_h = rconv[i].size, .in_w = rconv[i].size,
                        .k_h = rconv[i].kernel, .k_w = rconv[i].kernel, .stride_h = rconv[i].stride,
                        .stride_w = rconv[i].stride, .pad_top = rconv[i].pad, .pad_left = rconv[i].pad,
                        .pad_bottom = rconv[i].pad, .pad_right = rconv[i].pad };
        if (quick && rconv[i].size > 28) { g.in_h = 19; g.in_w = rconv[i].size == 224 ? 40 : 23; }
        test_conv(g, rconv[i].m, fails);
        n_convs++;
    }
    for (int i = 0; i < randoms; i++) {
        const int32_t ks = (int32_t[]){ 1, 1, 2, 3, 3, 5, 7 }[rnd_in(0, 6)];
        sb_window g = { .channels = rnd_in(1, 9), .k_h = ks, .k_w = ks == 2 ? 3 : ks, .stride_h = rnd_in(1, 3),
                        .stride_w = rnd_in(1, 3) };
        g.in_h = g.k_h + rnd_in(0, 20); g.in_w = g.k_w + rnd_in(0, 80);
        g.pad_top = rnd_in(0, g.k_h / 2 + 1); g.pad_left = rnd_in(0, g.k_w / 2 + 1);
        g.pad_bottom = rnd_in(0, g.k_h / 2); g.pad_right = rnd_in(0, g.k_w / 2);
        test_conv(g, rnd_in(1, 40), fails);
        n_convs++;
    }
    for (int32_t k = 0; k < SB_Q8_KERNEL_COUNT; k++) {
        if (!sb_q8_kernel_available(k)) {
            printf("%-10s skipped (not available on this CPU/architecture)\n", sb_q8_kernel_name(k));
            continue;
        }
        printf("%-10s %s: %d shapes x %d epilogues vs reference, %d convolutions (%s), MR=%d NR=%d\n",
               sb_q8_kernel_name(k), fails[k] ? "FAILED" : "ok", n_shapes, NCONFIG, n_convs,
               sb_q8_variant_implicit(k) ? "B packed from the input" : "refused, unfold first",
               sb_q8_block_m(k), sb_q8_block_n(k));
        if (fails[k]) failed++; else passed++;
    }
    if (do_bench) {
        bench(256, 2304, 196, quick ? 0.0 : 0.3);
        bench(64, 576, 3136, quick ? 0.0 : 0.3);
        if (!quick) bench_resnet50();
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
