// Measured arithmetic peak of one core: independent multiply-add chains in the widest vector
// instruction the CPU has, timed in short bursts; the fastest burst wins. `smartbin bench`
// divides each layer's rate by this to print "% of peak".
#include "sb_peak.h"

#include <stdint.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#elif defined(__aarch64__)
#include <arm_neon.h>
#if defined(__linux__)
#include <sys/auxv.h>
#ifndef HWCAP_ASIMDDP
#define HWCAP_ASIMDDP (1UL << 20)
#endif
#endif
#endif

// Operands read through volatiles, so the compiler can neither fold the chains (1.0 * 0.999999
// + 1e-6 rounds back to 1.0 in float: a fixed point it would otherwise see) nor hoist them.
static volatile float opaque_scale = 0.999999f, opaque_offset = 1e-6f, opaque_start = 1.0f;
static volatile int8_t opaque_u = 3, opaque_s = -2;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

// One burst: `rounds` iterations of ACC independent multiply-adds; returns ops done.
typedef double (*burst_fn)(int64_t rounds, volatile float *sink);

// Twelve chains hide a 4-cycle FMA latency on two pipes with room to spare.
#define CHAINS 12

static double burst_scalar(int64_t rounds, volatile float *sink) {
    float acc[CHAINS];
    for (int i = 0; i < CHAINS; i++) acc[i] = opaque_start + (float)i;
    const float a = opaque_scale, b = opaque_offset;
    for (int64_t r = 0; r < rounds; r++) {
        for (int i = 0; i < CHAINS; i++) acc[i] = acc[i] * a + b;
    }
    float total = 0;
    for (int i = 0; i < CHAINS; i++) total += acc[i];
    *sink = total;
    return (double)rounds * CHAINS * 2;
}

#if defined(__x86_64__)
#define DECLARE_CHAINS(type, init) \
    type c0 = init, c1 = init, c2 = init, c3 = init, c4 = init, c5 = init, \
         c6 = init, c7 = init, c8 = init, c9 = init, c10 = init, c11 = init;
#define EVERY_CHAIN(op) op(c0) op(c1) op(c2) op(c3) op(c4) op(c5) op(c6) op(c7) op(c8) op(c9) op(c10) op(c11)
// An empty asm that "changes" every chain: the compiler can no longer see that chains started
// equal (and merge them) or that a chain only ever adds a constant (and fold the loop).
#define HIDE_CHAINS() __asm__ volatile("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3), "+v"(c4), "+v"(c5), \
                                            "+v"(c6), "+v"(c7), "+v"(c8), "+v"(c9), "+v"(c10), "+v"(c11))

__attribute__((target("avx512f")))
static double burst_avx512(int64_t rounds, volatile float *sink) {
    const __m512 a = _mm512_set1_ps(opaque_scale), b = _mm512_set1_ps(opaque_offset);
    DECLARE_CHAINS(__m512, _mm512_set1_ps(opaque_start))
    for (int64_t r = 0; r < rounds; r++) {
#define STEP(c) c = _mm512_fmadd_ps(c, a, b);
        EVERY_CHAIN(STEP)
        HIDE_CHAINS();
#undef STEP
    }
    __m512 total = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c0, c1), _mm512_add_ps(c2, c3)),
                                 _mm512_add_ps(_mm512_add_ps(c4, c5), _mm512_add_ps(c6, c7)));
    total = _mm512_add_ps(total, _mm512_add_ps(_mm512_add_ps(c8, c9), _mm512_add_ps(c10, c11)));
    *sink = _mm512_reduce_add_ps(total);
    return (double)rounds * CHAINS * 16 * 2;
}

__attribute__((target("avx2,fma")))
static double burst_avx2(int64_t rounds, volatile float *sink) {
    const __m256 a = _mm256_set1_ps(opaque_scale), b = _mm256_set1_ps(opaque_offset);
    DECLARE_CHAINS(__m256, _mm256_set1_ps(opaque_start))
    for (int64_t r = 0; r < rounds; r++) {
#define STEP(c) c = _mm256_fmadd_ps(c, a, b);
        EVERY_CHAIN(STEP)
        HIDE_CHAINS();
#undef STEP
    }
    __m256 total = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(c0, c1), _mm256_add_ps(c2, c3)),
                                 _mm256_add_ps(_mm256_add_ps(c4, c5), _mm256_add_ps(c6, c7)));
    total = _mm256_add_ps(total, _mm256_add_ps(_mm256_add_ps(c8, c9), _mm256_add_ps(c10, c11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, total);
    *sink = lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
    return (double)rounds * CHAINS * 8 * 2;
}

// vpdpbusd: 64 u8 x s8 multiply-adds per 512-bit instruction. Integer chains wrap, harmlessly.
__attribute__((target("avx512f,avx512vnni")))
static double burst_avx512vnni(int64_t rounds, volatile float *sink) {
    const __m512i a = _mm512_set1_epi8(opaque_u), b = _mm512_set1_epi8(opaque_s);
    DECLARE_CHAINS(__m512i, _mm512_setzero_si512())
    for (int64_t r = 0; r < rounds; r++) {
#define STEP(c) c = _mm512_dpbusd_epi32(c, a, b);
        EVERY_CHAIN(STEP)
        HIDE_CHAINS();
#undef STEP
    }
    __m512i total = _mm512_add_epi32(_mm512_add_epi32(_mm512_add_epi32(c0, c1), _mm512_add_epi32(c2, c3)),
                                     _mm512_add_epi32(_mm512_add_epi32(c4, c5), _mm512_add_epi32(c6, c7)));
    total = _mm512_add_epi32(total, _mm512_add_epi32(_mm512_add_epi32(c8, c9), _mm512_add_epi32(c10, c11)));
    *sink = (float)_mm512_reduce_add_epi32(total);
    return (double)rounds * CHAINS * 64 * 2;
}

__attribute__((target("avx2,avxvnni")))
static double burst_avxvnni(int64_t rounds, volatile float *sink) {
    const __m256i a = _mm256_set1_epi8(opaque_u), b = _mm256_set1_epi8(opaque_s);
    DECLARE_CHAINS(__m256i, _mm256_setzero_si256())
    for (int64_t r = 0; r < rounds; r++) {
#define STEP(c) c = _mm256_dpbusd_avx_epi32(c, a, b);
        EVERY_CHAIN(STEP)
        HIDE_CHAINS();
#undef STEP
    }
    __m256i total = _mm256_add_epi32(_mm256_add_epi32(_mm256_add_epi32(c0, c1), _mm256_add_epi32(c2, c3)),
                                     _mm256_add_epi32(_mm256_add_epi32(c4, c5), _mm256_add_epi32(c6, c7)));
    total = _mm256_add_epi32(total, _mm256_add_epi32(_mm256_add_epi32(c8, c9), _mm256_add_epi32(c10, c11)));
    int32_t lanes[8];
    _mm256_storeu_si256((__m256i *)lanes, total);
    *sink = (float)(lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7]);
    return (double)rounds * CHAINS * 32 * 2;
}
#undef DECLARE_CHAINS
#undef EVERY_CHAIN
#undef HIDE_CHAINS
#endif

#if defined(__aarch64__)
static double burst_neon(int64_t rounds, volatile float *sink) {
    const float32x4_t a = vdupq_n_f32(opaque_scale), b = vdupq_n_f32(opaque_offset);
    float32x4_t c[CHAINS];
    for (int i = 0; i < CHAINS; i++) c[i] = vdupq_n_f32(opaque_start);
    for (int64_t r = 0; r < rounds; r++) {
        for (int i = 0; i < CHAINS; i++) {
            c[i] = vfmaq_f32(b, c[i], a);
            __asm__ volatile("" : "+w"(c[i]));
        }
    }
    float32x4_t total = c[0];
    for (int i = 1; i < CHAINS; i++) total = vaddq_f32(total, c[i]);
    *sink = vaddvq_f32(total);
    return (double)rounds * CHAINS * 4 * 2;
}

__attribute__((target("arch=armv8.2-a+dotprod")))
static double burst_sdot(int64_t rounds, volatile float *sink) {
    const int8x16_t a = vdupq_n_s8(opaque_u), b = vdupq_n_s8(opaque_s);
    int32x4_t c[CHAINS];
    for (int i = 0; i < CHAINS; i++) c[i] = vdupq_n_s32(0);
    for (int64_t r = 0; r < rounds; r++) {
        for (int i = 0; i < CHAINS; i++) {
            c[i] = vdotq_s32(c[i], a, b);
            __asm__ volatile("" : "+w"(c[i]));
        }
    }
    int32x4_t total = c[0];
    for (int i = 1; i < CHAINS; i++) total = vaddq_s32(total, c[i]);
    *sink = (float)vaddvq_s32(total);
    return (double)rounds * CHAINS * 16 * 2;
}
#endif

// Bursts of ~2 ms (grown from a small guess), for about `seconds` in all; the best rate wins.
static double measure(burst_fn burst, double seconds) {
    volatile float sink = 0;
    int64_t rounds = 1000;
    for (;;) {
        const double start = now_seconds();
        burst(rounds, &sink);
        const double took = now_seconds() - start;
        if (took >= 0.002 || rounds > ((int64_t)1 << 40)) break;
        rounds *= 2;
    }
    double best = 0;
    const double until = now_seconds() + (seconds > 0 ? seconds : 0.05);
    do {
        const double start = now_seconds();
        const double ops = burst(rounds, &sink);
        const double took = now_seconds() - start;
        if (took > 0 && ops / took > best) best = ops / took;
    } while (now_seconds() < until);
    return best / 1e9;
}

typedef struct {
    burst_fn fp32, int8;
    const char *fp32_isa, *int8_isa;
} peak_choice;

static peak_choice choose(void) {
    peak_choice choice = {burst_scalar, 0, "scalar", "none"};
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) {
        choice.fp32 = burst_avx512;
        choice.fp32_isa = "avx512";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
        choice.fp32 = burst_avx2;
        choice.fp32_isa = "avx2";
    }
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni")) {
        choice.int8 = burst_avx512vnni;
        choice.int8_isa = "avx512vnni";
    } else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("avxvnni")) {
        choice.int8 = burst_avxvnni;
        choice.int8_isa = "avxvnni";
    }
#elif defined(__aarch64__)
    choice.fp32 = burst_neon;
    choice.fp32_isa = "neon";
#if defined(__linux__)
    if (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) {
        choice.int8 = burst_sdot;
        choice.int8_isa = "sdot";
    }
#endif
#endif
    return choice;
}

double sb_peak_fp32_gflops(double seconds) { return measure(choose().fp32, seconds); }

double sb_peak_int8_gops(double seconds) {
    const peak_choice choice = choose();
    return choice.int8 ? measure(choice.int8, seconds) : 0;
}

const char *sb_peak_fp32_isa(void) { return choose().fp32_isa; }
const char *sb_peak_int8_isa(void) { return choose().int8_isa; }
