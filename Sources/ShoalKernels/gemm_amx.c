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
#define GROUP_BYTES (768 * 1024)  // split rows of one group: they stay in the L2 cache
#define CHUNK 4       // panels per claimed unit of work

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
    int group_blocks;  // row blocks split together into a thread's buffer
    int groups;
    int chunk_panels;  // panels per chunk
    int chunks;        // chunks per group: the unit of work a thread claims
    uint64_t id;       // tells this call from earlier ones in the per-thread split cache
    _Atomic int *next_group, *next_chunk;  // the next fresh group; per group, its next chunk
    const float *a, *bias, *residual;
    const uint16_t *packed;
    float *c;
} amx_job;

// Splits 16 rows of A into hi and lo bf16 tiles for every k step: dst holds, per step, the hi tile
// then the lo tile (2 KiB). Steps are the outer loop so the stores fill dst in order; row-major would
// write 1 KiB apart, into a few L1 sets only.
SHOAL_AMX static void split_block(const amx_job *job, int block, uint16_t *dst) {
    int rows = job->m - block * BLOCK < BLOCK ? job->m - block * BLOCK : BLOCK;
    for (int s = 0; s < job->steps; s++) {
        int k0 = s * STEP;
        __mmask16 m0 = shoal_mask(job->k - k0), m1 = shoal_mask(job->k - k0 - 16 > 0 ? job->k - k0 - 16 : 0);
        uint16_t *hi = dst + (size_t)s * 2 * (TILE_BYTES / 2), *lo = hi + TILE_BYTES / 2;
        for (int r = 0; r < BLOCK; r++) {
            const float *a = job->a + (size_t)(block * BLOCK + r) * job->lda + k0;
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            if (r < rows) {
                v0 = _mm512_maskz_loadu_ps(m0, a);
                v1 = _mm512_maskz_loadu_ps(m1, a + 16);
            }
            __m512bh h = _mm512_cvtne2ps_pbh(v1, v0);
            __m512i hbits = (__m512i)h;
            __m512 h0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(hbits)), 16));
            __m512 h1 = _mm512_castsi512_ps(
                _mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(hbits, 1)), 16));
            __m512bh l = _mm512_cvtne2ps_pbh(_mm512_sub_ps(v1, h1), _mm512_sub_ps(v0, h0));
            _mm512_store_si512(hi + r * STEP, hbits);
            _mm512_store_si512(lo + r * STEP, (__m512i)l);
        }
    }
}

// Applies the epilogue to the rows of a result stored from the accumulator tiles (`rows` from row0).
SHOAL_AMX static void store_rows(const amx_job *job, const float *result, int row0, int rows, int panel) {
    rows = job->m - row0 < rows ? job->m - row0 : rows;
    int col0 = panel * SHOAL_PANEL, cols = job->n - col0 < SHOAL_PANEL ? job->n - col0 : SHOAL_PANEL;
    for (int r = 0; r < rows; r++) {
        shoal_epilogue_row512(_mm512_load_ps(result + r * 32), _mm512_load_ps(result + r * 32 + 16), row0 + r, col0,
                              cols, job->bias, job->residual, job->ldr, job->activation,
                              job->c + (size_t)(row0 + r) * job->ldc + col0);
    }
}

// One 16-row block (split at a) against one panel of 32 columns, epilogue included.
SHOAL_AMX static void multiply_block(const amx_job *job, const uint16_t *a, int block, int panel) {
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
    store_rows(job, result, block * BLOCK, BLOCK, panel);
}

// Two 16-row blocks (split at a, one after the other) against one panel: the B tiles of a k step are
// loaded once for both blocks, which saves a sixth of the tile loads (10 loads for 12 products
// instead of 12).
SHOAL_AMX static void multiply_pair(const amx_job *job, const uint16_t *a, int block, int panel) {
    const size_t half = TILE_BYTES / 2;
    const uint16_t *a0 = a;
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
    store_rows(job, result, block * BLOCK, 2 * BLOCK, panel);
}

// Each thread splits the rows of its group into its own buffer, which stays in its L2 cache while the
// group is multiplied: the split activations never travel through memory or between cores.
static _Thread_local uint16_t *split_buffer;
static _Thread_local size_t split_capacity;
static _Thread_local uint64_t split_job;
static _Thread_local int split_group;
static _Atomic uint64_t job_counter;

// Multiplies one group of row blocks by one chunk of panels, splitting the group first unless this
// thread's buffer already holds it. For each panel the group's blocks are multiplied in pairs, so the
// panel comes from memory once per group and then from cache.
SHOAL_AMX static void multiply_chunk(const amx_job *job, int group, int chunk) {
    int first = group * job->group_blocks;
    int end = first + job->group_blocks < job->blocks ? first + job->group_blocks : job->blocks;
    size_t block_elements = (size_t)job->steps * 2 * (TILE_BYTES / 2);
    if (split_job != job->id || split_group != group) {
        size_t needed = (size_t)job->group_blocks * block_elements * 2;
        if (needed > split_capacity) {
            free(split_buffer);
            split_buffer = aligned_alloc(64, needed);
            split_capacity = split_buffer ? needed : 0;
            split_job = 0;
            if (!split_buffer) return;
        }
        for (int block = first; block < end; block++)
            split_block(job, block, split_buffer + (size_t)(block - first) * block_elements);
        split_job = job->id;
        split_group = group;
    }
    int panel0 = chunk * job->chunk_panels;
    int panel_end = panel0 + job->chunk_panels < job->panels ? panel0 + job->chunk_panels : job->panels;
    for (int panel = panel0; panel < panel_end; panel++) {
        int block = first;
        for (; block + 1 < end; block += 2)
            multiply_pair(job, split_buffer + (size_t)(block - first) * block_elements, block, panel);
        if (block < end) multiply_block(job, split_buffer + (size_t)(block - first) * block_elements, block, panel);
    }
}

// One task per thread. A thread takes a fresh group and claims its panel chunks one at a time; when no
// fresh group is left it helps with the chunks left in the others. A thread the OS deschedules thus
// holds up the call by one chunk at most, and groups are split twice only at the end.
SHOAL_AMX static void multiply_task(void *context, int64_t index, int thread) {
    (void)index;
    (void)thread;
    const amx_job *job = context;
    configure_tiles();
    int group = atomic_fetch_add(job->next_group, 1);
    for (;;) {
        if (group < job->groups) {
            int chunk = atomic_fetch_add(&job->next_chunk[group], 1);
            if (chunk < job->chunks) {
                multiply_chunk(job, group, chunk);
                continue;
            }
            group = atomic_fetch_add(job->next_group, 1);
            if (group < job->groups) continue;
        }
        group = job->groups;
        for (int g = 0; g < job->groups; g++) {
            if (atomic_load_explicit(&job->next_chunk[g], memory_order_relaxed) < job->chunks) {
                group = g;
                break;
            }
        }
        if (group == job->groups) return;
    }
}

void shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                    const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    int steps = steps_of(k), blocks = (m + BLOCK - 1) / BLOCK, panels = panels_of(n);
    // Groups as large as GROUP_BYTES of split rows allow (fewer passes over the weights), an even
    // number of blocks, but at least one group per thread when there are rows enough.
    int threads = shoal_pool_threads(pool);
    int group_blocks = GROUP_BYTES / (steps * 2 * TILE_BYTES);
    int spread = (blocks + threads - 1) / threads;
    group_blocks = spread < group_blocks ? spread : group_blocks;
    group_blocks = group_blocks < 2 ? 2 : group_blocks / 2 * 2;
    int groups = (blocks + group_blocks - 1) / group_blocks;
    _Atomic int next_group = 0, next_chunk[groups];
    for (int g = 0; g < groups; g++) atomic_init(&next_chunk[g], 0);
    // Chunks of up to CHUNK panels, smaller when there are few groups (small batches) so that both
    // threads get about as much of the work: at least 8 chunks per thread in all.
    int chunk_panels = groups * panels / (8 * threads);
    chunk_panels = chunk_panels < 1 ? 1 : chunk_panels > CHUNK ? CHUNK : chunk_panels;
    amx_job job = {m, n, k, lda, ldr, ldc, activation, steps, blocks, panels, group_blocks, groups, chunk_panels,
                   (panels + chunk_panels - 1) / chunk_panels, atomic_fetch_add(&job_counter, 1) + 1, &next_group,
                   next_chunk,
                   a, bias, residual, packed, c};
    shoal_pool_run(pool, threads, multiply_task, &job);
}
#else
int shoal_has_amx(void) { return 0; }

void shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                    const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    (void)pool; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)residual;
    (void)ldr; (void)activation; (void)c; (void)ldc;
}
#endif
