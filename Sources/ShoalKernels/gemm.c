// GEMM against weights packed once at load time. The AVX-512 micro-kernel keeps a ROWS x 32 block of
// the output in 2 * ROWS zmm registers, streams the packed panel (32 floats per k) and broadcasts one
// float of A per row and k; bias, residual and activation are applied before the single store. The AVX2
// micro-kernel does the same on half a panel (16 columns, 2 ymm registers per row) and 6 rows at a time:
// 12 accumulators, 2 weight vectors and 1 broadcast fill 15 of the 16 ymm registers; its panels are
// packed as two halves (shoal_panel_offset). The portable one is
// plain C on 4 rows × 32 columns that compilers vectorise for the target (SSE2, NEON).
#include "ShoalKernels.h"
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 12          // output rows per micro-kernel call
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

static inline int panels_of(int n) { return (n + SHOAL_PANEL - 1) / SHOAL_PANEL; }

size_t shoal_packed_count(int n, int k) { return (size_t)panels_of(n) * SHOAL_PANEL * (size_t)k; }

void shoal_pack(const float *w, int n, int k, float *packed) {
    const int split = shoal_split_panels();
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

static inline float activate(float v, int activation) {
    switch (activation) {
    case SHOAL_ACT_GELU: return shoal_gelu_scalar(v);
    case SHOAL_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case SHOAL_ACT_TANH: return tanhf(v);
    default: return v;
    }
}

static void epilogue_portable(int m, int n, float *x, int ldx, const float *bias, const float *residual, int ldr,
                              int activation) {
    for (int i = 0; i < m; i++) {
        float *row = x + (size_t)i * ldx;
        const float *res = residual ? residual + (size_t)i * ldr : NULL;
        for (int j = 0; j < n; j++) {
            float v = row[j] + (bias ? bias[j] : 0.0f) + (res ? res[j] : 0.0f);
            row[j] = activate(v, activation);
        }
    }
}

#if defined(SHOAL_X86)
SHOAL_AVX512 static void epilogue_avx512(int m, int n, float *x, int ldx, const float *bias, const float *residual,
                                         int ldr, int activation) {
    for (int i = 0; i < m; i++) {
        float *row = x + (size_t)i * ldx;
        for (int col0 = 0; col0 < n; col0 += SHOAL_PANEL) {
            int cols = n - col0 < SHOAL_PANEL ? n - col0 : SHOAL_PANEL;
            __m512 v0 = _mm512_maskz_loadu_ps(shoal_mask(cols), row + col0);
            __m512 v1 = _mm512_maskz_loadu_ps(shoal_mask(cols - 16 > 0 ? cols - 16 : 0), row + col0 + 16);
            shoal_epilogue_row512(v0, v1, i, col0, cols, bias, residual, ldr, activation, row + col0);
        }
    }
}

SHOAL_AVX2 static void epilogue_avx2(int m, int n, float *x, int ldx, const float *bias, const float *residual,
                                     int ldr, int activation) {
    for (int i = 0; i < m; i++) {
        float *row = x + (size_t)i * ldx;
        for (int col0 = 0; col0 < n; col0 += 16) {
            int cols = n - col0 < 16 ? n - col0 : 16;
            __m256 v0 = _mm256_maskload_ps(row + col0, shoal_mask256(cols));
            __m256 v1 = _mm256_maskload_ps(row + col0 + 8, shoal_mask256(cols - 8));
            shoal_epilogue_row256(v0, v1, i, col0, cols, bias, residual, ldr, activation, row + col0);
        }
    }
}
#endif

void shoal_epilogue(int m, int n, float *x, int ldx, const float *bias, const float *residual, int ldr,
                    int activation) {
    switch (shoal_isa()) {
#if defined(SHOAL_X86)
    case SHOAL_ISA_AVX512: epilogue_avx512(m, n, x, ldx, bias, residual, ldr, activation); return;
    case SHOAL_ISA_AVX2: epilogue_avx2(m, n, x, ldx, bias, residual, ldr, activation); return;
#endif
    default: epilogue_portable(m, n, x, ldx, bias, residual, ldr, activation);
    }
}

// Portable micro-kernel: 4 rows × 32 columns of accumulators in plain loops with constant bounds, which
// the compiler unrolls and vectorises for the target's vector unit.
#define PORTABLE_ROWS 4
static void block_portable(const gemm_job *job, int row0, int rows, int panel) {
    const int k = job->k, lda = job->lda;
    const float *b = job->packed + (size_t)panel * SHOAL_PANEL * k;
    const int col0 = panel * SHOAL_PANEL;
    const int cols = job->n - col0 < SHOAL_PANEL ? job->n - col0 : SHOAL_PANEL;
    for (int r0 = 0; r0 < rows; r0 += PORTABLE_ROWS) {
        const int count = rows - r0 < PORTABLE_ROWS ? rows - r0 : PORTABLE_ROWS;
        const float *a[PORTABLE_ROWS];
        for (int i = 0; i < PORTABLE_ROWS; i++) a[i] = job->a + (size_t)(row0 + r0 + (i < count ? i : 0)) * lda;
        float acc[PORTABLE_ROWS][SHOAL_PANEL] = {{0}};
        for (int p = 0; p < k; p++) {
            const float *bp = b + (size_t)p * SHOAL_PANEL;
            for (int i = 0; i < PORTABLE_ROWS; i++) {
                const float ap = a[i][p];
                for (int j = 0; j < SHOAL_PANEL; j++) acc[i][j] += ap * bp[j];
            }
        }
        for (int i = 0; i < count; i++) {
            const int row = row0 + r0 + i;
            float *c = shoal_output_row(job->c, job->ldc, job->m, job->block, row, col0);
            memcpy(c, acc[i], sizeof(float) * (size_t)cols);
            epilogue_portable(1, cols, c, 0, job->bias ? job->bias + col0 : NULL,
                              job->residual ? job->residual + (size_t)row * job->ldr + col0 : NULL, job->ldr,
                              job->activation);
        }
    }
}

#if defined(SHOAL_X86)
SHOAL_AVX512 static inline __attribute__((always_inline)) void
micro_avx512(const gemm_job *job, int row0, const int rows, int panel) {
    const int k = job->k, lda = job->lda;
    const float *b = job->packed + (size_t)panel * SHOAL_PANEL * k;
    const float *a = job->a + (size_t)row0 * lda;
    __m512 acc0[ROWS], acc1[ROWS];
    for (int i = 0; i < rows; i++) acc0[i] = acc1[i] = _mm512_setzero_ps();
    for (int p = 0; p < k; p++) {
        __m512 b0 = _mm512_loadu_ps(b + (size_t)p * SHOAL_PANEL);
        __m512 b1 = _mm512_loadu_ps(b + (size_t)p * SHOAL_PANEL + 16);
        for (int i = 0; i < rows; i++) {
            __m512 ai = _mm512_set1_ps(a[(size_t)i * lda + p]);
            acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
        }
    }
    const int col0 = panel * SHOAL_PANEL;
    const int cols = job->n - col0 < SHOAL_PANEL ? job->n - col0 : SHOAL_PANEL;
    for (int i = 0; i < rows; i++) {
        shoal_epilogue_row512(acc0[i], acc1[i], row0 + i, col0, cols, job->bias, job->residual, job->ldr,
                              job->activation, shoal_output_row(job->c, job->ldc, job->m, job->block, row0 + i, col0));
    }
}

// One specialised copy of the micro-kernel per row count, so the accumulators live in registers.
#define SHOAL_ROWS_CASE(r) case r: micro_avx512(job, row0, r, panel); break;
SHOAL_AVX512 void shoal_gemm_block_avx512(const gemm_job *job, int row0, int rows, int panel) {
    switch (rows) {
        SHOAL_ROWS_CASE(1) SHOAL_ROWS_CASE(2) SHOAL_ROWS_CASE(3) SHOAL_ROWS_CASE(4)
        SHOAL_ROWS_CASE(5) SHOAL_ROWS_CASE(6) SHOAL_ROWS_CASE(7) SHOAL_ROWS_CASE(8)
        SHOAL_ROWS_CASE(9) SHOAL_ROWS_CASE(10) SHOAL_ROWS_CASE(11) SHOAL_ROWS_CASE(12)
    default: break;
    }
}

#define AVX2_ROWS 6
SHOAL_AVX2 static inline __attribute__((always_inline)) void
micro_avx2(const gemm_job *job, int row0, const int rows, int panel, int half) {
    const int k = job->k, lda = job->lda;
    const float *b = job->packed + ((size_t)panel * 2 + half) * 16 * k;  // split panels: halves one after the other
    const float *a = job->a + (size_t)row0 * lda;
    __m256 acc0[AVX2_ROWS], acc1[AVX2_ROWS];
    for (int i = 0; i < rows; i++) acc0[i] = acc1[i] = _mm256_setzero_ps();
    for (int p = 0; p < k; p++) {
        __m256 b0 = _mm256_loadu_ps(b + (size_t)p * 16);
        __m256 b1 = _mm256_loadu_ps(b + (size_t)p * 16 + 8);
        for (int i = 0; i < rows; i++) {
            __m256 ai = _mm256_broadcast_ss(a + (size_t)i * lda + p);
            acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
            acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
        }
    }
    const int col0 = panel * SHOAL_PANEL + half * 16;
    const int cols = job->n - col0 < 16 ? job->n - col0 : 16;
    for (int i = 0; i < rows; i++) {
        shoal_epilogue_row256(acc0[i], acc1[i], row0 + i, col0, cols, job->bias, job->residual, job->ldr,
                              job->activation, shoal_output_row(job->c, job->ldc, job->m, job->block, row0 + i, col0));
    }
}

// Each half panel (16 columns) for all the rows, in blocks of 6: a half (k × 64 bytes, 24 KiB for k = 384)
// stays in the L1 cache while the rows stream past it. A half beyond n is skipped.
#define SHOAL_AVX2_CASE(r) case r: micro_avx2(job, row, r, panel, half); break;
SHOAL_AVX2 void shoal_gemm_block_avx2(const gemm_job *job, int row0, int rows, int panel) {
    for (int half = 0; half < 2; half++) {
        if (panel * SHOAL_PANEL + half * 16 >= job->n) break;
        for (int row = row0; row < row0 + rows; row += AVX2_ROWS) {
            switch (row0 + rows - row < AVX2_ROWS ? row0 + rows - row : AVX2_ROWS) {
                SHOAL_AVX2_CASE(1) SHOAL_AVX2_CASE(2) SHOAL_AVX2_CASE(3)
                SHOAL_AVX2_CASE(4) SHOAL_AVX2_CASE(5) SHOAL_AVX2_CASE(6)
            default: break;
            }
        }
    }
}
#endif

void shoal_gemm_block(const gemm_job *job, int row0, int rows, int panel) {
    switch (shoal_isa()) {
#if defined(SHOAL_X86)
    case SHOAL_ISA_AVX512:
        for (int row = row0; row < row0 + rows; row += ROWS)
            shoal_gemm_block_avx512(job, row, row0 + rows - row < ROWS ? row0 + rows - row : ROWS, panel);
        return;
    case SHOAL_ISA_AVX2: shoal_gemm_block_avx2(job, row0, rows, panel); return;
#endif
    default: block_portable(job, row0, rows, panel);
    }
}

// Task i covers one chunk of rows against one panel; chunks are the outer index so the two threads
// share the chunk of A in the last-level cache.
static void gemm_task(void *context, int64_t index, int thread) {
    (void)thread;
    const gemm_job *job = context;
    int chunk = (int)(index / job->panels), panel = (int)(index % job->panels);
    int start = chunk * job->rows_per_chunk;
    int end = start + job->rows_per_chunk < job->m ? start + job->rows_per_chunk : job->m;
    shoal_gemm_block(job, start, end - start, panel);
}

static void gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const float *packed,
                 const float *bias, const float *residual, int ldr, int activation, float *c, int ldc, int block) {
    if (m <= 0 || n <= 0) return;
    int rows_per_chunk = CHUNK_BYTES / (4 * (k > 0 ? k : 1));
    rows_per_chunk = rows_per_chunk < ROWS ? ROWS : rows_per_chunk / ROWS * ROWS;
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

#define FMA_CHAINS 12  // independent accumulators: more than FMA latency × FMA units on current cores

// Runs `iterations` rounds of one fused multiply-add on each of FMA_CHAINS vector registers, with no
// memory traffic; returns their sum so that none of the work can be dropped.
#if defined(SHOAL_X86)
SHOAL_AVX512 static float fma_chains_avx512(int64_t iterations) {
    __m512 acc[FMA_CHAINS], x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-3f);
    for (int j = 0; j < FMA_CHAINS; j++) acc[j] = _mm512_set1_ps((float)j);
    for (int64_t i = 0; i < iterations; i++)
        for (int j = 0; j < FMA_CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
    for (int j = 1; j < FMA_CHAINS; j++) acc[0] = _mm512_add_ps(acc[0], acc[j]);
    return _mm512_reduce_add_ps(acc[0]);
}

__attribute__((target("avx2,fma"))) static float fma_chains_avx2(int64_t iterations) {
    __m256 acc[FMA_CHAINS], x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-3f);
    for (int j = 0; j < FMA_CHAINS; j++) acc[j] = _mm256_set1_ps((float)j);
    for (int64_t i = 0; i < iterations; i++)
        for (int j = 0; j < FMA_CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
    float lanes[8];
    for (int j = 1; j < FMA_CHAINS; j++) acc[0] = _mm256_add_ps(acc[0], acc[j]);
    _mm256_storeu_ps(lanes, acc[0]);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}
#endif

// Float lanes per fused multiply-add of the widest vector unit the CPU has (0: none the kernels drive).
static int fma_lanes(void) {
    switch (shoal_cpu_isa()) {
    case SHOAL_ISA_AVX512: return 16;
    case SHOAL_ISA_AVX2: return 8;
    default: return 0;
    }
}

typedef struct {
    int64_t iterations;
    int lanes;  // fma_lanes(), asked once per measurement
} fma_job;

static void fma_task(void *context, int64_t index, int thread) {
    (void)index; (void)thread;
    const fma_job *job = context;
    volatile float sink = 0.0f;
#if defined(SHOAL_X86)
    sink = job->lanes == 16 ? fma_chains_avx512(job->iterations) : fma_chains_avx2(job->iterations);
#else
    (void)job;
#endif
    (void)sink;
}

double shoal_fma_peak(shoal_pool *pool, double seconds) {
    fma_job job = {.iterations = 4096, .lanes = fma_lanes()};
    if (job.lanes == 0) return 0.0;
    // Many more tasks than threads, so that a thread that starts late does not leave the others idle.
    int64_t tasks = 16 * (int64_t)shoal_pool_threads(pool);
    double flops_per_iteration = 2.0 * FMA_CHAINS * job.lanes * (double)tasks, best = 0.0;
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
