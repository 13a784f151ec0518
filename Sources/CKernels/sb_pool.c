// Persistent worker pool (see sb_parallel.h).
//
// A run publishes a job (function, context, chunk count) under a new generation number, then
// the caller and every awake worker claim chunk indices from one counter until none is left.
// Generation and next chunk share one 64-bit word, so a claim is a compare-and-swap that fails
// if the job it was read for has ended: a worker that wakes late can never run a chunk of a
// finished job, nor a stale function on a new one. The caller waits only for chunks that have
// been claimed (by a thread that is therefore running, or was descheduled mid-chunk), never for
// a worker that has not started: if the workers are slow to wake it runs every chunk itself.
//
// Publication protocol. Closing a job stores (generation, SB_CLOSED) into the word before the
// next job's fields are written with release stores; a worker reads the fields with acquire
// loads after loading a word of generation g. If it saw any field of job g + 1, the close of g
// happens before its compare-and-swap, which then fails; if the swap succeeds, every field it
// read belongs to job g.
#define _POSIX_C_SOURCE 200809L   // nanosleep under -std=c11
#include "sb_parallel.h"
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SB_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SB_PAUSE() __asm__ __volatile__("yield")
#else
#define SB_PAUSE() ((void)0)
#endif

// Pause rounds an idle worker spins before it sleeps on the condition variable: ~0.45 ms on the
// Zen 5 VM this was tuned on (22 ns a pause), so the gaps between the layers of one pass cost no
// wake-up while a pool idle between inferences sleeps.
#define SB_IDLE_SPIN 20000
// Pause rounds the caller spins for the last claimed chunks before it sleeps (~45 us there). A
// chunk held that long usually belongs to a descheduled thread; sleeping frees this core, so the
// kernel can move that thread here.
#define SB_DONE_SPIN 2000

#define SB_CLOSED 0xFFFFFFFFu
#define SB_WORD(gen, next) (((uint64_t)(gen) << 32) | (uint32_t)(next))
#define SB_GEN(word) ((uint32_t)((word) >> 32))
#define SB_NEXT(word) ((uint32_t)(word))

struct sb_pool {
    int32_t size;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;           // workers sleeping for a new generation
    pthread_cond_t finished;       // the caller sleeping for the last chunks
    _Atomic int32_t sleepers;      // workers on `wake`
    _Atomic int32_t caller_asleep; // the caller on `finished`
    _Atomic int32_t stopping;
    _Atomic int32_t delay_thread, delay_wake_us, delay_chunk_us;   // sb_pool_set_test_delay
    // The current job; written by the caller only while no job is open.
    _Atomic(sb_chunk_fn) fn;
    _Atomic(sb_task_fn) task;      // set instead of fn by sb_pool_run
    _Atomic(void *) context;
    _Atomic int32_t chunks;
    _Alignas(64) _Atomic uint64_t word;   // generation << 32 | next chunk to claim
    _Alignas(64) _Atomic int32_t done;    // chunks of the current job finished
    char pad[60];
};

typedef struct { sb_pool *pool; int32_t index; } sb_worker_arg;

static void sleep_us(int32_t us) {
    if (us <= 0) return;
    struct timespec t = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
    while (nanosleep(&t, &t) != 0 && errno == EINTR) {}
}

/// Claims and runs chunks of the job of `w`'s generation until none is left (or the job is
/// closed); `w` was loaded with acquire. Runs on the caller (thread 0) and on the workers.
static void participate(sb_pool *pool, uint64_t w, int32_t thread) {
    const uint32_t gen = SB_GEN(w);
    if (SB_NEXT(w) == SB_CLOSED) return;
    const sb_chunk_fn fn = atomic_load_explicit(&pool->fn, memory_order_acquire);
    const sb_task_fn task = atomic_load_explicit(&pool->task, memory_order_acquire);
    void *const context = atomic_load_explicit(&pool->context, memory_order_acquire);
    const int32_t chunks = atomic_load_explicit(&pool->chunks, memory_order_acquire);
    const int32_t delayed = thread != 0 && atomic_load_explicit(&pool->delay_thread, memory_order_relaxed) == thread;
    while (SB_GEN(w) == gen && SB_NEXT(w) < (uint32_t)chunks) {
        if (!atomic_compare_exchange_weak_explicit(&pool->word, &w, w + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;   // w now holds the current word
        const int32_t chunk = (int32_t)SB_NEXT(w);
        if (delayed) sleep_us(atomic_load_explicit(&pool->delay_chunk_us, memory_order_relaxed));
        if (task) task(context, chunk, chunks);
        else fn(context, chunk, chunks, thread);
        if (atomic_fetch_add_explicit(&pool->done, 1, memory_order_seq_cst) + 1 == chunks && thread != 0 &&
            atomic_load_explicit(&pool->caller_asleep, memory_order_seq_cst)) {
            pthread_mutex_lock(&pool->lock);
            pthread_cond_broadcast(&pool->finished);
            pthread_mutex_unlock(&pool->lock);
        }
        w = atomic_load_explicit(&pool->word, memory_order_acquire);
    }
}

static void *sb_worker(void *raw) {
    sb_worker_arg arg = *(sb_worker_arg *)raw;
    free(raw);
    sb_pool *pool = arg.pool;
    uint32_t seen = 0;
    for (;;) {
        uint64_t w = atomic_load_explicit(&pool->word, memory_order_acquire);
        for (int spin = 0; SB_GEN(w) == seen && spin < SB_IDLE_SPIN; spin++) {
            SB_PAUSE();
            w = atomic_load_explicit(&pool->word, memory_order_acquire);
        }
        if (SB_GEN(w) == seen) {
            pthread_mutex_lock(&pool->lock);
            atomic_fetch_add_explicit(&pool->sleepers, 1, memory_order_seq_cst);
            while (SB_GEN(w = atomic_load_explicit(&pool->word, memory_order_seq_cst)) == seen &&
                   !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->wake, &pool->lock);
            atomic_fetch_sub_explicit(&pool->sleepers, 1, memory_order_relaxed);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = SB_GEN(w);
        if (atomic_load_explicit(&pool->delay_thread, memory_order_relaxed) == arg.index) {
            sleep_us(atomic_load_explicit(&pool->delay_wake_us, memory_order_relaxed));
            w = atomic_load_explicit(&pool->word, memory_order_acquire);
            if (SB_GEN(w) != seen) continue;   // that job is over; look at the current one
        }
        participate(pool, w, arg.index);
    }
}

sb_pool *sb_pool_create(int32_t threads) {
    if (threads < 1) threads = 1;
    sb_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->size = threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pthread_cond_init(&pool->finished, NULL);
    atomic_init(&pool->word, SB_WORD(0, SB_CLOSED));
    atomic_init(&pool->delay_thread, -1);
    pool->threads = calloc((size_t)threads, sizeof(pthread_t));
    if (!pool->threads) { free(pool); return NULL; }
    for (int32_t i = 1; i < threads; i++) {
        sb_worker_arg *arg = malloc(sizeof *arg);
        if (!arg) { pool->size = i; sb_pool_destroy(pool); return NULL; }
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->threads[i], NULL, sb_worker, arg) != 0) {
            free(arg);
            pool->size = i;
            sb_pool_destroy(pool);
            return NULL;
        }
    }
    return pool;
}

void sb_pool_destroy(sb_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->lock);
    atomic_store(&pool->stopping, 1);
    const uint64_t w = atomic_load(&pool->word);
    atomic_store(&pool->word, SB_WORD(SB_GEN(w) + 1, SB_CLOSED));
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int32_t i = 1; i < pool->size; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->finished);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

int32_t sb_pool_size(const sb_pool *pool) { return pool ? pool->size : 1; }

int32_t sb_pool_chunks(const sb_pool *pool, int32_t units, int32_t per_thread) {
    const int64_t want = (int64_t)sb_pool_size(pool) * (per_thread > 1 ? per_thread : 1);
    if (sb_pool_size(pool) == 1 || units <= 1) return 1;
    return units < want ? units : (int32_t)want;
}

void sb_pool_set_test_delay(sb_pool *pool, int32_t thread, int32_t wake_us, int32_t chunk_us) {
    if (!pool) return;
    atomic_store(&pool->delay_wake_us, wake_us);
    atomic_store(&pool->delay_chunk_us, chunk_us);
    atomic_store(&pool->delay_thread, thread);
}

static void run(sb_pool *pool, sb_chunk_fn fn, sb_task_fn task, void *context, int32_t chunks) {
    // The previous job is closed (SB_CLOSED) and all its chunks are done: no thread reads the
    // fields until the new generation is published below.
    atomic_store_explicit(&pool->fn, fn, memory_order_release);
    atomic_store_explicit(&pool->task, task, memory_order_release);
    atomic_store_explicit(&pool->context, context, memory_order_release);
    atomic_store_explicit(&pool->chunks, chunks, memory_order_release);
    atomic_store_explicit(&pool->done, 0, memory_order_relaxed);
    const uint32_t gen = SB_GEN(atomic_load_explicit(&pool->word, memory_order_relaxed)) + 1;
    const uint64_t open = SB_WORD(gen, 0);
    atomic_store_explicit(&pool->word, open, memory_order_seq_cst);
    if (atomic_load_explicit(&pool->sleepers, memory_order_seq_cst) > 0) {
        pthread_mutex_lock(&pool->lock);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->lock);
    }
    participate(pool, open, 0);
    // Every chunk is claimed; wait for the ones other threads are still running.
    for (int spin = 0; atomic_load_explicit(&pool->done, memory_order_acquire) < chunks; spin++) {
        if (spin < SB_DONE_SPIN) { SB_PAUSE(); continue; }
        pthread_mutex_lock(&pool->lock);
        atomic_store_explicit(&pool->caller_asleep, 1, memory_order_seq_cst);
        while (atomic_load_explicit(&pool->done, memory_order_seq_cst) < chunks)
            pthread_cond_wait(&pool->finished, &pool->lock);
        atomic_store_explicit(&pool->caller_asleep, 0, memory_order_relaxed);
        pthread_mutex_unlock(&pool->lock);
    }
    atomic_store_explicit(&pool->word, SB_WORD(gen, SB_CLOSED), memory_order_relaxed);
}

void sb_pool_run_chunks(sb_pool *pool, sb_chunk_fn fn, void *context, int32_t chunks) {
    if (chunks <= 0) return;
    if (!pool || pool->size == 1 || chunks == 1) {
        for (int32_t c = 0; c < chunks; c++) fn(context, c, chunks, 0);
        return;
    }
    run(pool, fn, NULL, context, chunks);
}

void sb_pool_run(sb_pool *pool, sb_task_fn task, void *context) {
    if (!pool || pool->size == 1) { task(context, 0, 1); return; }
    run(pool, NULL, task, context, pool->size);
}
