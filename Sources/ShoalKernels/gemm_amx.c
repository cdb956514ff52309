// GEMM on Intel AMX tiles in "bf16x3" precision: each float32 operand is split into a bf16 high part and
// a bf16 remainder, and hi·hi + hi·lo + lo·hi is accumulated in float32. The dropped lo·lo term and the
// split leave about 16 bits of mantissa per product (relative error ~1e-5), several times the speed of
// the float32 AVX-512 kernel on CPUs with AMX.
//
// Weights are packed once: per panel of 32 output columns and per step of 32 k, four 1 KiB tiles in
// VNNI order (hi cols 0-15, hi cols 16-31, lo cols 0-15, lo cols 16-31). Activations are split per call
// into row blocks of 16 rows (zero-padded) in the same k steps.
#include "ShoalKernels.h"
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

#define STEP 32       // k per tile
#define BLOCK 16      // rows per tile
#define TILE_BYTES 1024
#define GROUP 4       // row blocks per task: fewer, larger tasks for the pool

static inline int steps_of(int k) { return (k + STEP - 1) / STEP; }
static inline int panels_of(int n) { return (n + SHOAL_PANEL - 1) / SHOAL_PANEL; }

size_t shoal_amx_packed_bytes(int n, int k) { return (size_t)panels_of(n) * steps_of(k) * 4 * TILE_BYTES; }

static inline uint16_t bf16_round(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

static inline float bf16_value(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16;
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

void shoal_amx_pack(const float *w, int n, int k, void *packed) {
    uint16_t *out = packed;
    int steps = steps_of(k);
    for (int panel = 0; panel < panels_of(n); panel++) {
        for (int s = 0; s < steps; s++) {
            uint16_t *tiles = out + ((size_t)panel * steps + s) * 4 * (TILE_BYTES / 2);
            for (int half = 0; half < 2; half++) {
                uint16_t *hi = tiles + half * (TILE_BYTES / 2), *lo = tiles + (2 + half) * (TILE_BYTES / 2);
                for (int r = 0; r < STEP / 2; r++) {
                    for (int c = 0; c < 16; c++) {
                        for (int t = 0; t < 2; t++) {
                            int col = panel * SHOAL_PANEL + half * 16 + c, kk = s * STEP + 2 * r + t;
                            float v = col < n && kk < k ? w[(size_t)col * k + kk] : 0.0f;
                            uint16_t h = bf16_round(v);
                            hi[r * 32 + c * 2 + t] = h;
                            lo[r * 32 + c * 2 + t] = bf16_round(v - bf16_value(h));
                        }
                    }
                }
            }
        }
    }
}

#if defined(SHOAL_X86) && defined(__linux__)
#define SHOAL_AMX __attribute__((target("amx-tile,amx-bf16,avx512f,avx512dq,avx512bw,avx512vl,avx512bf16,avx2,fma")))

int shoal_has_amx(void) {
    static _Atomic int cached = -1;
    int value = atomic_load(&cached);
    if (value < 0) {
        __builtin_cpu_init();
        value = shoal_has_avx512() && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
                __builtin_cpu_supports("avx512bf16") &&
                syscall(SYS_arch_prctl, 0x1023 /* ARCH_REQ_XCOMP_PERM */, 18 /* XTILEDATA */) == 0;
        atomic_store(&cached, value);
    }
    return value;
}

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static _Thread_local int tiles_configured;

SHOAL_AMX static void configure_tiles(void) {
    if (tiles_configured) return;
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.rows[t] = 16;
        config.colsb[t] = 64;
    }
    _tile_loadconfig(&config);
    tiles_configured = 1;
}

typedef struct {
    int m, n, k, lda, ldr, ldc, activation, steps, blocks, panels;
    const float *a, *bias, *residual;
    const uint16_t *packed;
    uint16_t *split;  // per block, per step: hi tile then lo tile
    float *c;
} amx_job;

// Splits 16 rows of A into hi and lo bf16 tiles for every k step.
SHOAL_AMX static void split_task(void *context, int64_t block, int thread) {
    (void)thread;
    const amx_job *job = context;
    for (int r = 0; r < BLOCK; r++) {
        int row = (int)block * BLOCK + r;
        const float *a = job->a + (size_t)row * job->lda;
        for (int s = 0; s < job->steps; s++) {
            uint16_t *hi = job->split + (((size_t)block * job->steps + s) * 2) * (TILE_BYTES / 2) + r * STEP;
            uint16_t *lo = hi + TILE_BYTES / 2;
            int k0 = s * STEP;
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            if (row < job->m) {
                v0 = _mm512_maskz_loadu_ps(shoal_mask(job->k - k0), a + k0);
                v1 = _mm512_maskz_loadu_ps(shoal_mask(job->k - k0 - 16 > 0 ? job->k - k0 - 16 : 0), a + k0 + 16);
            }
            __m512bh h = _mm512_cvtne2ps_pbh(v1, v0);
            __m512i hbits = (__m512i)h;
            __m512 h0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hbits)), 16));
            __m512 h1 = _mm512_castsi512_ps(
                _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hbits, 1)), 16));
            __m512bh l = _mm512_cvtne2ps_pbh(_mm512_sub_ps(v1, h1), _mm512_sub_ps(v0, h0));
            _mm512_storeu_si512(hi, hbits);
            _mm512_storeu_si512(lo, (__m512i)l);
        }
    }
}

// One 16-row block against one panel of 32 columns, epilogue included.
SHOAL_AMX static void multiply_block(const amx_job *job, int block, int panel) {
    const uint16_t *a = job->split + (size_t)block * job->steps * 2 * (TILE_BYTES / 2);
    const uint16_t *b = job->packed + (size_t)panel * job->steps * 4 * (TILE_BYTES / 2);
    _tile_zero(0);
    _tile_zero(1);
    for (int s = 0; s < job->steps; s++) {
        const uint16_t *as = a + (size_t)s * 2 * (TILE_BYTES / 2), *bs = b + (size_t)s * 4 * (TILE_BYTES / 2);
        _tile_loadd(2, as, 64);
        _tile_loadd(3, as + TILE_BYTES / 2, 64);
        _tile_loadd(4, bs, 64);
        _tile_loadd(5, bs + TILE_BYTES / 2, 64);
        _tile_loadd(6, bs + TILE_BYTES, 64);
        _tile_loadd(7, bs + 3 * (TILE_BYTES / 2), 64);
        _tile_dpbf16ps(0, 2, 4);
        _tile_dpbf16ps(1, 2, 5);
        _tile_dpbf16ps(0, 2, 6);
        _tile_dpbf16ps(1, 2, 7);
        _tile_dpbf16ps(0, 3, 4);
        _tile_dpbf16ps(1, 3, 5);
    }
    float result[BLOCK * 32] __attribute__((aligned(64)));
    _tile_stored(0, result, 128);
    _tile_stored(1, result + 16, 128);
    int row0 = block * BLOCK, rows = job->m - row0 < BLOCK ? job->m - row0 : BLOCK;
    int col0 = panel * SHOAL_PANEL, cols = job->n - col0 < SHOAL_PANEL ? job->n - col0 : SHOAL_PANEL;
    for (int r = 0; r < rows; r++) {
        shoal_epilogue_row512(_mm512_load_ps(result + r * 32), _mm512_load_ps(result + r * 32 + 16), row0 + r, col0,
                              cols, job->bias, job->residual, job->ldr, job->activation,
                              job->c + (size_t)(row0 + r) * job->ldc + col0);
    }
}

// Two 16-row blocks against one panel: the B tiles of a k step are loaded once for both blocks, which
// saves a sixth of the tile loads (10 loads for 12 products instead of 12).
SHOAL_AMX static void multiply_pair(const amx_job *job, int block, int panel) {
    const size_t half = TILE_BYTES / 2;
    const uint16_t *a0 = job->split + (size_t)block * job->steps * 2 * half;
    const uint16_t *a1 = a0 + (size_t)job->steps * 2 * half;
    const uint16_t *b = job->packed + (size_t)panel * job->steps * 4 * half;
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int s = 0; s < job->steps; s++) {
        const uint16_t *x = a0 + (size_t)s * 2 * half, *y = a1 + (size_t)s * 2 * half, *bs = b + (size_t)s * 4 * half;
        _tile_loadd(4, bs, 64);             // hi, columns 0-15
        _tile_loadd(5, bs + half, 64);      // hi, columns 16-31
        _tile_loadd(6, x, 64);              // first block, hi
        _tile_dpbf16ps(0, 6, 4);
        _tile_dpbf16ps(1, 6, 5);
        _tile_loadd(7, y, 64);              // second block, hi
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
        _tile_loadd(6, x + half, 64);       // first block, lo
        _tile_dpbf16ps(0, 6, 4);
        _tile_dpbf16ps(1, 6, 5);
        _tile_loadd(7, y + half, 64);       // second block, lo
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
        _tile_loadd(4, bs + 2 * half, 64);  // lo, columns 0-15
        _tile_loadd(5, bs + 3 * half, 64);  // lo, columns 16-31
        _tile_loadd(6, x, 64);
        _tile_dpbf16ps(0, 6, 4);
        _tile_dpbf16ps(1, 6, 5);
        _tile_loadd(7, y, 64);
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
    }
    float result[2 * BLOCK * 32] __attribute__((aligned(64)));
    _tile_stored(0, result, 128);
    _tile_stored(1, result + 16, 128);
    _tile_stored(2, result + BLOCK * 32, 128);
    _tile_stored(3, result + BLOCK * 32 + 16, 128);
    int row0 = block * BLOCK, rows = job->m - row0 < 2 * BLOCK ? job->m - row0 : 2 * BLOCK;
    int col0 = panel * SHOAL_PANEL, cols = job->n - col0 < SHOAL_PANEL ? job->n - col0 : SHOAL_PANEL;
    for (int r = 0; r < rows; r++) {
        shoal_epilogue_row512(_mm512_load_ps(result + r * 32), _mm512_load_ps(result + r * 32 + 16), row0 + r, col0,
                              cols, job->bias, job->residual, job->ldr, job->activation,
                              job->c + (size_t)(row0 + r) * job->ldc + col0);
    }
}

// Task i: up to GROUP row blocks against one panel; panels vary fastest so both threads share A.
SHOAL_AMX static void multiply_task(void *context, int64_t index, int thread) {
    (void)thread;
    const amx_job *job = context;
    configure_tiles();
    int group = (int)(index / job->panels), panel = (int)(index % job->panels);
    int end = (group + 1) * GROUP < job->blocks ? (group + 1) * GROUP : job->blocks;
    int block = group * GROUP;
    for (; block + 1 < end; block += 2) multiply_pair(job, block, panel);
    if (block < end) multiply_block(job, block, panel);
}

static _Thread_local uint16_t *split_buffer;
static _Thread_local size_t split_capacity;

void shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                    const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    int steps = steps_of(k), blocks = (m + BLOCK - 1) / BLOCK;
    size_t needed = (size_t)blocks * steps * 2 * TILE_BYTES;
    if (needed > split_capacity) {
        free(split_buffer);
        split_buffer = aligned_alloc(64, needed);
        split_capacity = split_buffer ? needed : 0;
        if (!split_buffer) return;
    }
    amx_job job = {m, n, k, lda, ldr, ldc, activation, steps, blocks, panels_of(n), a, bias, residual, packed,
                   split_buffer, c};
    shoal_pool_run(pool, blocks, split_task, &job);
    shoal_pool_run(pool, (int64_t)((blocks + GROUP - 1) / GROUP) * job.panels, multiply_task, &job);
}
#else
int shoal_has_amx(void) { return 0; }

void shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                    const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    (void)pool; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)residual;
    (void)ldr; (void)activation; (void)c; (void)ldc;
}
#endif
