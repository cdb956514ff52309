// The instruction-set level and its kernel set, chosen once; GEMM against weights packed once at load
// time, split into (row chunk, panel) tasks of the pool; the vector units' FMA ceiling. The kernels of each
// level live in kernels_LEVEL.c.
#include "ShoalKernels.h"
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHUNK_BYTES (256 * 1024)  // rows of A per task: about this much of A stays in L2 across panels

int shoal_cpu_isa(void) {
#if defined(SHOAL_X86)
    static _Atomic int cached = -1;
    int level = atomic_load(&cached);
    if (level < 0) {
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
            __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl"))
            level = SHOAL_ISA_AVX512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
            level = SHOAL_ISA_AVX2;
        else
            level = SHOAL_ISA_GENERIC;
        atomic_store(&cached, level);
    }
    return level;
#else
    return SHOAL_ISA_GENERIC;
#endif
}

int shoal_isa(void) {
    static _Atomic int cached = -1;
    int level = atomic_load(&cached);
    if (level < 0) {
        level = shoal_cpu_isa();
        const char *requested = getenv("SHOAL_ISA");
        int cap = !requested                          ? level
                  : strcmp(requested, "generic") == 0 ? SHOAL_ISA_GENERIC
                  : strcmp(requested, "avx2") == 0    ? SHOAL_ISA_AVX2
                                                      : level;
        level = cap < level ? cap : level;
        atomic_store(&cached, level);
    }
    return level;
}

static const shoal_kernel_set *kernel_set_of(int level) {
    switch (level) {
#if defined(SHOAL_X86)
    case SHOAL_ISA_AVX512: return &shoal_kernels_avx512;
    case SHOAL_ISA_AVX2: return &shoal_kernels_avx2;
#endif
    default: return &shoal_kernels_generic;
    }
}

const shoal_kernel_set *shoal_kernels(void) { return kernel_set_of(shoal_isa()); }

static inline int panels_of(int n) { return (n + SHOAL_PANEL - 1) / SHOAL_PANEL; }

size_t shoal_packed_count(int n, int k) { return (size_t)panels_of(n) * SHOAL_PANEL * (size_t)k; }

void shoal_pack(const float *w, int n, int k, float *packed) {
    const int split = shoal_kernels()->split_panels;
    for (int panel = 0; panel < panels_of(n); panel++) {
        float *dst = packed + (size_t)panel * SHOAL_PANEL * k;
        for (int p = 0; p < k; p++) {
            for (int j = 0; j < SHOAL_PANEL; j++) {
                int col = panel * SHOAL_PANEL + j;
                dst[shoal_panel_offset(k, p, j, split)] = col < n ? w[(size_t)col * k + p] : 0.0f;
            }
        }
    }
}

void shoal_epilogue(int m, int n, float *x, int ldx, const float *bias, const float *residual, int ldr,
                    int activation) {
    shoal_kernels()->epilogue(m, n, x, ldx, bias, residual, ldr, activation);
}

// Task i covers one chunk of rows against one panel; chunks are the outer index so the two threads
// share the chunk of A in the last-level cache.
static void gemm_task(void *context, int64_t index, int thread) {
    (void)thread;
    const gemm_job *job = context;
    int chunk = (int)(index / job->panels), panel = (int)(index % job->panels);
    int start = chunk * job->rows_per_chunk;
    int end = start + job->rows_per_chunk < job->m ? start + job->rows_per_chunk : job->m;
    shoal_kernels()->gemm_block(job, start, end - start, panel);
}

static void gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const float *packed,
                 const float *bias, const float *residual, int ldr, int activation, float *c, int ldc, int block) {
    if (m <= 0 || n <= 0) return;
    int rows_per_chunk = CHUNK_BYTES / (4 * (k > 0 ? k : 1));
    rows_per_chunk = rows_per_chunk < 12 ? 12 : rows_per_chunk / 12 * 12;  // whole blocks of every micro-kernel
    gemm_job job = {m, n, k, lda, ldr, ldc, activation, rows_per_chunk, panels_of(n), a, packed, bias, residual,
                    c, block};
    int chunks = (m + rows_per_chunk - 1) / rows_per_chunk;
    shoal_pool_run(pool, (int64_t)chunks * job.panels, gemm_task, &job);
}

void shoal_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const float *packed,
                const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    gemm(pool, m, n, k, a, lda, packed, bias, residual, ldr, activation, c, ldc, 0);
}

void shoal_gemm_blocks(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const float *packed,
                       const float *bias, int activation, float *c, int block) {
    gemm(pool, m, n, k, a, lda, packed, bias, NULL, 0, activation, c, 0, block);
}

// MARK: - Vector peak

typedef struct {
    int64_t iterations;
    const shoal_kernel_set *set;  // of the CPU's own level, whatever SHOAL_ISA says
} fma_job;

static void fma_task(void *context, int64_t index, int thread) {
    (void)index; (void)thread;
    const fma_job *job = context;
    volatile float sink = job->set->fma_chains(job->iterations);
    (void)sink;
}

double shoal_fma_peak(shoal_pool *pool, double seconds) {
    fma_job job = {.iterations = 4096, .set = kernel_set_of(shoal_cpu_isa())};
    if (!job.set->fma_chains) return 0.0;
    // Many more tasks than threads, so that a thread that starts late does not leave the others idle.
    int64_t tasks = 16 * (int64_t)shoal_pool_threads(pool);
    double flops_per_iteration = 2.0 * SHOAL_FMA_CHAINS * job.set->fma_lanes * (double)tasks, best = 0.0;
    for (int run = 0; run < 4; run++) {  // run 0 only sizes the others to `seconds` each
        struct timespec start, end;
        clock_gettime(CLOCK_MONOTONIC, &start);
        shoal_pool_run(pool, tasks, fma_task, &job);
        clock_gettime(CLOCK_MONOTONIC, &end);
        double elapsed = (double)(end.tv_sec - start.tv_sec) + 1e-9 * (double)(end.tv_nsec - start.tv_nsec);
        double rate = flops_per_iteration * (double)job.iterations / elapsed;
        if (run > 0 && rate / 1e9 > best) best = rate / 1e9;
        job.iterations = (int64_t)(rate * seconds / flops_per_iteration) + 1;
    }
    return best;
}
