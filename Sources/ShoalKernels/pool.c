// A fork-join pool for short parallel regions (tens of microseconds). Workers spin briefly between
// regions, then sleep on a condition variable so an idle server burns no CPU.
//
// Items are claimed from one 64-bit word holding (region, next index), so a worker that wakes late
// can never claim an item of a region other than the one it saw, and the caller waits only for items
// to be finished, not for every worker to show up: a worker descheduled by the OS does not hold up a
// region it has not joined yet. A region number is odd while the caller writes the next region's task
// and count: no claim on the previous region can then succeed against the new count.
#define _GNU_SOURCE  // pthread_setname_np
#include "ShoalKernels.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define SHOAL_PAUSE() _mm_pause()
#else
#define SHOAL_PAUSE() ((void)0)
#endif

enum { SPIN_NANOSECONDS = 100000 };  // how long an idle worker spins before it sleeps

struct shoal_pool {
    int threads;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    _Atomic uint64_t claim;     // region << 32 | next unclaimed index
    _Atomic int64_t finished;   // items of the current region done
    _Atomic int stop;
    _Atomic int64_t count;
    shoal_task_fn task;
    void *context;
};

typedef struct {
    shoal_pool *pool;
    int index;
} worker_start;

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline uint32_t region_of(uint64_t claim) { return (uint32_t)(claim >> 32); }

// The region a worker may join: an even one it has not seen (odd ones are being set up).
static inline int joinable(uint32_t region, uint32_t seen) { return region != seen && (region & 1u) == 0; }

// Runs items of `region` until none is left.
static void drain(shoal_pool *pool, uint32_t region, int thread) {
    uint64_t claim = atomic_load_explicit(&pool->claim, memory_order_acquire);
    for (;;) {
        if (region_of(claim) != region) return;
        int64_t index = (int64_t)(uint32_t)claim;
        if (index >= atomic_load_explicit(&pool->count, memory_order_relaxed)) return;
        if (!atomic_compare_exchange_weak_explicit(&pool->claim, &claim, claim + 1, memory_order_acq_rel,
                                                   memory_order_acquire))
            continue;
        pool->task(pool->context, index, thread);
        atomic_fetch_add_explicit(&pool->finished, 1, memory_order_release);
        claim = atomic_load_explicit(&pool->claim, memory_order_acquire);
    }
}

void shoal_name_this_thread(const char *name) {
    char kept[16];  // Linux refuses a name of 16 bytes or more
    strncpy(kept, name, sizeof kept - 1);
    kept[sizeof kept - 1] = 0;
#if defined(__APPLE__)
    pthread_setname_np(kept);
#else
    pthread_setname_np(pthread_self(), kept);
#endif
}

static void *worker_main(void *argument) {
    worker_start start = *(worker_start *)argument;
    free(argument);
    shoal_name_this_thread("shoal-pool");
    shoal_pool *pool = start.pool;
    uint32_t seen = 0;
    for (;;) {
        uint32_t region = region_of(atomic_load_explicit(&pool->claim, memory_order_acquire));
        if (!joinable(region, seen)) {
            uint64_t deadline = now_ns() + SPIN_NANOSECONDS;
            for (int spin = 1; !joinable(region, seen); spin++) {
                SHOAL_PAUSE();
                region = region_of(atomic_load_explicit(&pool->claim, memory_order_acquire));
                if (spin % 64 == 0 && now_ns() > deadline) break;
            }
        }
        if (!joinable(region, seen)) {
            pthread_mutex_lock(&pool->mutex);
            while (!joinable(region = region_of(atomic_load_explicit(&pool->claim, memory_order_acquire)), seen) &&
                   !atomic_load(&pool->stop)) {
                pthread_cond_wait(&pool->wake, &pool->mutex);
            }
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->stop)) return NULL;
        seen = region;
        drain(pool, region, start.index);
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
    for (int t = 1; pool->workers && t < pool->threads; t++) {
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
    // Close the previous region first: a worker still draining it can no longer claim an item once the
    // count below changes. Every item of it is finished, so no thread reads these fields now.
    uint32_t region = region_of(atomic_load_explicit(&pool->claim, memory_order_relaxed)) + 2;
    atomic_store_explicit(&pool->claim, (uint64_t)(region - 1) << 32, memory_order_relaxed);
    atomic_thread_fence(memory_order_seq_cst);
    pool->task = task;
    pool->context = context;
    atomic_store_explicit(&pool->count, count, memory_order_relaxed);
    atomic_store_explicit(&pool->finished, 0, memory_order_relaxed);
    pthread_mutex_lock(&pool->mutex);
    atomic_store_explicit(&pool->claim, (uint64_t)region << 32, memory_order_release);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    drain(pool, region, 0);
    for (int spin = 1; atomic_load_explicit(&pool->finished, memory_order_acquire) < count; spin++) {
        SHOAL_PAUSE();
        if (spin % 256 == 0) sched_yield();  // let a descheduled worker finish its item
    }
}
