// A fork-join pool for short parallel regions (tens of microseconds): workers spin briefly between
// regions, then sleep on a condition variable so an idle server burns no CPU.
#include "ShoalKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SHOAL_PAUSE() _mm_pause()
#else
#define SHOAL_PAUSE() ((void)0)
#endif

enum { SPIN_ROUNDS = 200000 };  // about 100 µs of pause instructions before sleeping

struct shoal_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic uint64_t generation;
    _Atomic int64_t next;
    _Atomic int active;
    _Atomic int stop;
    int64_t count;
    shoal_task_fn task;
    void *context;
};

typedef struct {
    shoal_pool *pool;
    int index;
} worker_start;

static void drain(shoal_pool *pool, int thread) {
    int64_t i;
    while ((i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed)) < pool->count) {
        pool->task(pool->context, i, thread);
    }
}

static void *worker_main(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    shoal_pool *pool = start.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t current = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int spin = 0; current == seen && spin < SPIN_ROUNDS; spin++) {
            SHOAL_PAUSE();
            current = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (current == seen) {
            pthread_mutex_lock(&pool->mutex);
            while ((current = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
                   !atomic_load(&pool->stop)) {
                pthread_cond_wait(&pool->wake, &pool->mutex);
            }
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = current;
        drain(pool, start.index);
        atomic_fetch_sub_explicit(&pool->active, 1, memory_order_release);
    }
}

shoal_pool *shoal_pool_create(int threads) {
    shoal_pool *pool = calloc(1, sizeof(shoal_pool));
    if (!pool) return NULL;
    pool->threads = threads < 1 ? 1 : threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->workers = calloc((size_t)pool->threads, sizeof(pthread_t));
    int started = 1;
    for (int t = 1; t < pool->threads; t++) {
        worker_start *start = malloc(sizeof(worker_start));
        if (!start) break;
        *start = (worker_start){pool, t};
        if (pthread_create(&pool->workers[t], NULL, worker_main, start) != 0) {
            free(start);
            break;
        }
        started++;
    }
    pool->threads = started;
    return pool;
}

void shoal_pool_destroy(shoal_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stop, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int t = 1; t < pool->threads; t++) pthread_join(pool->workers[t], NULL);
    pthread_cond_destroy(&pool->wake);
    pthread_mutex_destroy(&pool->mutex);
    free(pool->workers);
    free(pool);
}

int shoal_pool_threads(const shoal_pool *pool) { return pool ? pool->threads : 1; }

void shoal_pool_run(shoal_pool *pool, int64_t count, shoal_task_fn task, void *context) {
    if (count <= 0) return;
    if (!pool || pool->threads == 1 || count == 1) {
        for (int64_t i = 0; i < count; i++) task(context, i, 0);
        return;
    }
    pool->task = task;
    pool->context = context;
    pool->count = count;
    atomic_store_explicit(&pool->next, 0, memory_order_relaxed);
    atomic_store_explicit(&pool->active, pool->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    drain(pool, 0);
    while (atomic_load_explicit(&pool->active, memory_order_acquire) > 0) SHOAL_PAUSE();
}
