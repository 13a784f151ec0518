// Persistent worker pool (see sb_parallel.h).
#include "sb_parallel.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SB_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define SB_PAUSE() __asm__ __volatile__("yield")
#else
#define SB_PAUSE() ((void)0)
#endif

// About 50-100 microseconds of spinning before a worker goes to sleep.
#define SB_SPIN_ROUNDS 20000

struct sb_pool {
    int32_t size;
    pthread_t *threads;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic uint64_t generation;   // bumped once per task
    _Atomic int32_t pending;       // workers still running the current task
    _Atomic int32_t stopping;
    sb_task_fn task;
    void *context;
};

typedef struct { sb_pool *pool; int32_t index; } sb_worker_arg;

static void *sb_worker(void *raw) {
    sb_worker_arg arg = *(sb_worker_arg *)raw;
    free(raw);
    sb_pool *pool = arg.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t now = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spin = 0; now == seen && spin < SB_SPIN_ROUNDS; spin++) {
            SB_PAUSE();
            now = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (now == seen) {
            pthread_mutex_lock(&pool->lock);
            while ((now = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
                   !atomic_load(&pool->stopping))
                pthread_cond_wait(&pool->wake, &pool->lock);
            pthread_mutex_unlock(&pool->lock);
        }
        if (atomic_load(&pool->stopping)) return NULL;
        seen = now;
        pool->task(pool->context, arg.index, pool->size);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel);
    }
}

sb_pool *sb_pool_create(int32_t threads) {
    if (threads < 1) threads = 1;
    sb_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->size = threads;
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
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
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    for (int32_t i = 1; i < pool->size; i++) pthread_join(pool->threads[i], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->lock);
    free(pool->threads);
    free(pool);
}

int32_t sb_pool_size(const sb_pool *pool) { return pool ? pool->size : 1; }

void sb_pool_run(sb_pool *pool, sb_task_fn task, void *context) {
    if (!pool || pool->size == 1) { task(context, 0, 1); return; }
    pool->task = task;
    pool->context = context;
    atomic_store_explicit(&pool->pending, pool->size - 1, memory_order_release);
    pthread_mutex_lock(&pool->lock);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_acq_rel);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    task(context, 0, pool->size);
    while (atomic_load_explicit(&pool->pending, memory_order_acquire) > 0) SB_PAUSE();
}
