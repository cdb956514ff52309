// GEMM on Intel AMX tiles in "bf16x3" precision.
//
// Each weight is rounded once to 24 bits (16 significant bits, relative error at most 2^-16): its top
// 16 bits are the bf16 "hi" part and the remainder is exact both as a bf16 "lo" and as the float's next
// 8 bits "lo8". AMX accumulates hi·hi + hi·lo + lo·hi in float32, the activations split the same way
// per call; the dropped lo·lo term leaves a relative error of about 1e-5.
//
// Calls of at most 16 rows (one tile of rows: one sentence) use each weight for one block of rows only,
// so streaming the weights costs about as much as the products. They read only hi and lo8, 3 bytes a
// weight instead of 4, and rebuild the lo tiles in the L1 cache: more of a small model's weights then
// stay in the last-level cache.
//
// Attention's two products (MARK: Attention) run on the same tiles, their operands split per call.
//
// Packed layout: three planes (hi, lo8, lo), each ordered by panel of 32 output columns, half panel of
// 16 columns, step of 32 k. Per (panel, half, step) hi and lo hold a 1 KiB tile in VNNI order (row r
// holds k = 2r and 2r + 1 of each column), lo8 the same elements, one byte each.
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
#define TILE_ELEMENTS 512  // bf16 elements of a tile: one (panel, half, step) of a plane
#define GROUP_BYTES (768 * 1024)  // split rows of one group: they stay in the L2 cache
#define CHUNK 4       // panels per claimed unit of work

static inline int steps_of(int k) { return (k + STEP - 1) / STEP; }
static inline int panels_of(int n) { return (n + SHOAL_PANEL - 1) / SHOAL_PANEL; }

// Tiles per plane: one per (panel, half, step).
static inline size_t plane_tiles(int n, int k) { return (size_t)panels_of(n) * 2 * steps_of(k); }
// Bytes of one 16-row block split for `steps` k steps: a hi and a lo tile per step.
static inline size_t block_split_bytes(int steps) { return (size_t)steps * 2 * TILE_BYTES; }

size_t shoal_amx_packed_bytes(int n, int k) { return plane_tiles(n, k) * (2 * TILE_BYTES + TILE_ELEMENTS); }

static inline uint16_t bf16_round(float x) {
    uint32_t bits;
    memcpy(&bits, &x, 4);
    return (uint16_t)((bits + 0x7FFFu + ((bits >> 16) & 1u)) >> 16);
}

static inline float float_of_bits(uint32_t bits) {
    float x;
    memcpy(&x, &bits, 4);
    return x;
}

// Element index in a plane of the weight at (column, kk).
static inline size_t plane_index(int steps, int column, int kk) {
    int panel = column / SHOAL_PANEL, half = column % SHOAL_PANEL / 16, c = column % 16;
    size_t tile = ((size_t)panel * 2 + half) * steps + kk / STEP;
    return tile * TILE_ELEMENTS + (kk % STEP / 2) * 32 + c * 2 + kk % 2;
}

void shoal_amx_pack(const float *w, int n, int k, void *packed) {
    int steps = steps_of(k);
    size_t elements = plane_tiles(n, k) * TILE_ELEMENTS;
    uint16_t *hi = packed;
    uint8_t *lo8 = (uint8_t *)(hi + elements);
    uint16_t *lo = (uint16_t *)(lo8 + elements);
    memset(packed, 0, shoal_amx_packed_bytes(n, k));
    for (int column = 0; column < n; column++) {
        for (int kk = 0; kk < k; kk++) {
            uint32_t bits;
            memcpy(&bits, &w[(size_t)column * k + kk], 4);
            bits = (bits + 0x7Fu + ((bits >> 8) & 1u)) & ~0xFFu;  // round to nearest even at 24 bits
            size_t e = plane_index(steps, column, kk);
            hi[e] = (uint16_t)(bits >> 16);
            lo[e] = bf16_round(float_of_bits(bits) - float_of_bits(bits & 0xFFFF0000u));  // exact
            lo8[e] = (uint8_t)(bits >> 8);
        }
    }
}

#if defined(SHOAL_X86) && defined(__linux__)
#define SHOAL_AMX \
    __attribute__((target("amx-tile,amx-bf16,avx512f,avx512dq,avx512bw,avx512vl,avx512bf16,avx512vbmi,avx2,fma")))

int shoal_has_amx(void) {
    static _Atomic int cached = -1;
    int value = atomic_load(&cached);
    if (value < 0) {
        __builtin_cpu_init();
        value = shoal_isa() >= SHOAL_ISA_AVX512 && __builtin_cpu_supports("amx-tile") && __builtin_cpu_supports("amx-bf16") &&
                __builtin_cpu_supports("avx512bf16") && __builtin_cpu_supports("avx512vbmi") &&
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

static _Thread_local int configured_rows;

// Configures the tiles of this thread: 0-1 accumulate and 2-3 hold activations, `rows` rows each (a
// product of fewer rows takes less time); 4-7 hold weights, 16 rows of k pairs.
SHOAL_AMX static void configure_tiles(int rows) {
    if (configured_rows == rows) return;
    tile_config config;
    memset(&config, 0, sizeof config);
    config.palette = 1;
    for (int t = 0; t < 8; t++) {
        config.rows[t] = t < 4 ? rows : 16;
        config.colsb[t] = 64;
    }
    _tile_loadconfig(&config);
    configured_rows = rows;
}

typedef struct {
    int m, n, k, lda, ldr, ldc, activation, steps, blocks, panels;
    int group_blocks;  // row blocks split together into a thread's buffer
    int groups;        // groups of row blocks
    int chunk_panels;  // panels per chunk
    int chunks;        // chunks per group: the unit of work a thread claims
    uint64_t id;       // tells this call from earlier ones in the per-thread split cache
    _Atomic int *next_group, *next_chunk;  // the next fresh group; per group, its next chunk
    const float *a, *bias, *residual;
    const uint16_t *hi, *lo;  // planes of the packed weights
    const uint8_t *lo8;
    float *c;
    int runs;              // one-block calls: runs of panels, one per two pool items
    _Atomic int *claimed;  // one-block calls, per run: panels taken from the front, plus 0x10000 per one
                           // from the back
    int block;             // 0: c is row-major, ldc apart; else n / block matrices [m, block]
    _Atomic int *failed;   // set when a thread claimed work it could not do (no split buffer)
} amx_job;

// Splits 32 floats (v0, then v1) into bf16 hi, rounded to nearest, and bf16 lo, the remainder rounded.
SHOAL_AMX static inline void split_pair(__m512 v0, __m512 v1, __m512i *hi, __m512i *lo) {
    __m512i h = (__m512i)_mm512_cvtne2ps_pbh(v1, v0);
    __m512 h0 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_castsi512_si256(h)), 16));
    __m512 h1 = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm512_extracti64x4_epi64(h, 1)), 16));
    *hi = h;
    *lo = (__m512i)_mm512_cvtne2ps_pbh(_mm512_sub_ps(v1, h1), _mm512_sub_ps(v0, h0));
}

// Splits 16 rows of A into hi and lo bf16 tiles for every k step: dst holds, per step, the hi tile
// then the lo tile (2 KiB). Steps are the outer loop so the stores fill dst in order; row-major would
// write 1 KiB apart, into a few L1 sets only.
SHOAL_AMX static void split_block(const amx_job *job, int block, uint16_t *dst) {
    int rows = job->m - block * BLOCK < BLOCK ? job->m - block * BLOCK : BLOCK;
    for (int s = 0; s < job->steps; s++) {
        int k0 = s * STEP;
        __mmask16 m0 = shoal_mask(job->k - k0), m1 = shoal_mask(job->k - k0 - 16);
        uint16_t *hi = dst + (size_t)s * 2 * TILE_ELEMENTS, *lo = hi + TILE_ELEMENTS;
        for (int r = 0; r < BLOCK; r++) {
            const float *a = job->a + (size_t)(block * BLOCK + r) * job->lda + k0;
            __m512 v0 = _mm512_setzero_ps(), v1 = _mm512_setzero_ps();
            if (r < rows) {
                v0 = _mm512_maskz_loadu_ps(m0, a);
                v1 = _mm512_maskz_loadu_ps(m1, a + 16);
            }
            __m512i h, l;
            split_pair(v0, v1, &h, &l);
            _mm512_store_si512(hi + r * STEP, h);
            _mm512_store_si512(lo + r * STEP, l);
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
                              shoal_output_row(job->c, job->ldc, job->m, job->block, row0 + r, col0));
    }
}

// One k step of one 16-row block (hi and lo tiles at a) against the four weight tiles of a panel: tile 0
// accumulates columns 0-15, tile 1 columns 16-31.
SHOAL_AMX static inline void block_step(const uint16_t *a, const uint16_t *hi0, const uint16_t *hi1,
                                        const uint16_t *lo0, const uint16_t *lo1) {
    _tile_loadd(2, a, 64);
    _tile_loadd(3, a + TILE_ELEMENTS, 64);
    _tile_loadd(4, hi0, 64);
    _tile_loadd(5, hi1, 64);
    _tile_loadd(6, lo0, 64);
    _tile_loadd(7, lo1, 64);
    _tile_dpbf16ps(0, 2, 6);  // hi·lo, hi·hi, lo·hi: the order of multiply_pair, for identical sums
    _tile_dpbf16ps(1, 2, 7);
    _tile_dpbf16ps(0, 2, 4);
    _tile_dpbf16ps(1, 2, 5);
    _tile_dpbf16ps(0, 3, 4);
    _tile_dpbf16ps(1, 3, 5);
}

// Stores accumulator tiles 0 and 1 as the rows of block `block` in a panel, epilogue included.
SHOAL_AMX static inline void store_block(const amx_job *job, int block, int panel) {
    float result[BLOCK * 32] __attribute__((aligned(64)));
    _tile_stored(0, result, 128);
    _tile_stored(1, result + 16, 128);
    store_rows(job, result, block * BLOCK, BLOCK, panel);
}

// Accumulates one 16-row block, split at a (a hi and a lo tile per k step), against one panel into tiles
// 0 and 1. hi0, hi1, lo0 and lo1 are the panel's first weight tiles; each k step's are `stride` further.
SHOAL_AMX static void multiply_steps(const uint16_t *a, const uint16_t *hi0, const uint16_t *hi1,
                                     const uint16_t *lo0, const uint16_t *lo1, size_t stride, int steps) {
    _tile_zero(0);
    _tile_zero(1);
    for (int s = 0; s < steps; s++) {
        size_t step = (size_t)s * stride;
        block_step(a + (size_t)s * 2 * TILE_ELEMENTS, hi0 + step, hi1 + step, lo0 + step, lo1 + step);
    }
}

// One 16-row block (split at a) against one panel of 32 columns, epilogue included.
SHOAL_AMX static void multiply_block(const amx_job *job, const uint16_t *a, int block, int panel) {
    size_t first = (size_t)panel * 2 * job->steps * TILE_ELEMENTS, second = first + job->steps * TILE_ELEMENTS;
    multiply_steps(a, job->hi + first, job->hi + second, job->lo + first, job->lo + second, TILE_ELEMENTS,
                   job->steps);
    store_block(job, block, panel);
}

// Two 16-row blocks (split at x and at y) against one panel, whose first weight tiles are hi0, hi1, lo0
// and lo1, each k step's `stride` further: tiles 0 and 1 accumulate x's columns 0-15 and 16-31, tiles 2
// and 3 y's. Each tile loaded serves two products or more, 8 loads for 12 products (12 for one block at a
// time), and four independent accumulators hide the products' latency. Tile loads, not products, bound
// this kernel when the core is shared.
SHOAL_AMX static void pair_steps(const uint16_t *x, const uint16_t *y, const uint16_t *hi0, const uint16_t *hi1,
                                 const uint16_t *lo0, const uint16_t *lo1, size_t stride, int steps) {
    _tile_zero(0);
    _tile_zero(1);
    _tile_zero(2);
    _tile_zero(3);
    for (int s = 0; s < steps; s++) {
        const uint16_t *xs = x + (size_t)s * 2 * TILE_ELEMENTS, *ys = y + (size_t)s * 2 * TILE_ELEMENTS;
        size_t step = (size_t)s * stride;
        // hi·lo, then hi·hi (the hi rows stay), then lo·hi (the hi weights stay), the order of block_step
        // for identical sums; each group's loads come before its products.
        _tile_loadd(6, xs, 64);           // first block, hi
        _tile_loadd(4, lo0 + step, 64);   // lo weights, columns 0-15
        _tile_loadd(5, lo1 + step, 64);   // lo weights, columns 16-31
        _tile_loadd(7, ys, 64);           // second block, hi
        _tile_dpbf16ps(0, 6, 4);
        _tile_dpbf16ps(1, 6, 5);
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
        _tile_loadd(4, hi0 + step, 64);   // hi weights
        _tile_loadd(5, hi1 + step, 64);
        _tile_dpbf16ps(0, 6, 4);
        _tile_dpbf16ps(1, 6, 5);
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
        _tile_loadd(6, xs + TILE_ELEMENTS, 64);  // lo rows
        _tile_loadd(7, ys + TILE_ELEMENTS, 64);
        _tile_dpbf16ps(0, 6, 4);
        _tile_dpbf16ps(1, 6, 5);
        _tile_dpbf16ps(2, 7, 4);
        _tile_dpbf16ps(3, 7, 5);
    }
}

// Stores accumulator tiles 0-3 (left by pair_steps) as 32 rows of 32 floats, `ld` floats apart.
SHOAL_AMX static inline void store_pair(float *result, size_t ld) {
    _tile_stored(0, result, ld * 4);
    _tile_stored(1, result + 16, ld * 4);
    _tile_stored(2, result + BLOCK * ld, ld * 4);
    _tile_stored(3, result + BLOCK * ld + 16, ld * 4);
}

// Two 16-row blocks (split at a, one after the other) against one panel, epilogue included.
SHOAL_AMX static void multiply_pair(const amx_job *job, const uint16_t *a, int block, int panel) {
    size_t first = (size_t)panel * 2 * job->steps * TILE_ELEMENTS, second = first + job->steps * TILE_ELEMENTS;
    pair_steps(a, a + (size_t)job->steps * 2 * TILE_ELEMENTS, job->hi + first, job->hi + second, job->lo + first,
               job->lo + second, TILE_ELEMENTS, job->steps);
    float result[2 * BLOCK * 32] __attribute__((aligned(64)));
    store_pair(result, 32);
    store_rows(job, result, block * BLOCK, 2 * BLOCK, panel);
}

// Each thread splits the rows of its group into its own buffer, which stays in its L2 cache while the
// group is multiplied: the split activations never travel through memory or between cores.
static _Thread_local uint16_t *split_buffer;
static _Thread_local size_t split_capacity;
static _Thread_local uint64_t split_job;
static _Thread_local int split_group;
static _Atomic uint64_t job_counter;

// Makes this thread's split buffer hold `bytes`; its contents are then unknown. Returns 0 when it cannot.
static int reserve_split(size_t bytes) {
    split_job = 0;
    if (bytes <= split_capacity) return 1;
    free(split_buffer);
    split_buffer = aligned_alloc(64, bytes);
    split_capacity = split_buffer ? bytes : 0;
    return split_buffer != NULL;
}

// Multiplies one group of row blocks by one chunk of panels, splitting the group first unless this
// thread's buffer already holds it. For each panel the group's blocks are multiplied in pairs, so the
// panel comes from memory once per group and then from cache.
SHOAL_AMX static void multiply_chunk(const amx_job *job, int group, int chunk) {
    int first = group * job->group_blocks;
    int end = first + job->group_blocks < job->blocks ? first + job->group_blocks : job->blocks;
    size_t block_elements = (size_t)job->steps * 2 * TILE_ELEMENTS;
    if (split_job != job->id || split_group != group) {
        if (!reserve_split((size_t)job->group_blocks * block_split_bytes(job->steps))) {
            atomic_store(job->failed, 1);  // the chunk is claimed: nobody else will compute it
            return;
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
    configure_tiles(BLOCK);
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

// MARK: - Calls of one block of rows

// Rebuilds the lo tile of a (panel, half, step) from its hi and lo8 tiles into dst (1 KiB): per element,
// the float32 of hi with lo8 below it, less the float32 of hi alone, is the remainder, exact in bf16.
// lo8 holds the elements in hi's order, so zero-extending its bytes to words lines each up with its hi
// word. Shifts and bitwise selects then build the floats of the even and odd elements of each 32-bit
// pair in place. Byte permutes would take fewer instructions, but these calls ran in 0.93-0.95 of the time
// without them (scripts/kernel-ab.sh): the permutes run on one port only, the others on two.
SHOAL_AMX static inline void expand_lo(const uint16_t *hi, const uint8_t *lo8, uint16_t *dst) {
    const __m512i top = _mm512_set1_epi32((int)0xFFFF0000u), byte1 = _mm512_set1_epi32(0xFF00);
    for (int r = 0; r < BLOCK; r++) {
        __m512i h = _mm512_load_si512(hi + r * 32);  // per 32 bits: the even element's hi, then the odd's
        __m512i l = _mm512_cvtepu8_epi16(_mm256_load_si256((const __m256i *)(lo8 + r * 32)));
        __m512i even_hi = _mm512_slli_epi32(h, 16), odd_hi = _mm512_and_si512(h, top);
        // even_hi | (l << 8 & 0xFF00) and odd_hi | (l >> 8 & 0xFF00): lo8 as bits 8-15 of the float
        __m512i even = _mm512_ternarylogic_epi32(even_hi, _mm512_slli_epi32(l, 8), byte1, 0xF8);
        __m512i odd = _mm512_ternarylogic_epi32(odd_hi, _mm512_srli_epi32(l, 8), byte1, 0xF8);
        __m512 e = _mm512_sub_ps(_mm512_castsi512_ps(even), _mm512_castsi512_ps(even_hi));
        __m512 o = _mm512_sub_ps(_mm512_castsi512_ps(odd), _mm512_castsi512_ps(odd_hi));
        // The remainders' bf16 are their top 16 bits, exactly: e's into the low word, o's into the high.
        _mm512_store_si512(dst + r * 32, _mm512_ternarylogic_epi32(top, _mm512_castps_si512(o),
                                                                   _mm512_srli_epi32(_mm512_castps_si512(e), 16), 0xEA));
    }
}

// Asks for the hi and lo8 tiles of tile index `tile` ahead of their use. A one-block call streams its
// weights from memory, and its tile loads alone leave the memory idle between them: asked for one step
// ahead, a 12-row call ran in 0.89-0.91 of the time (scripts/kernel-ab.sh); further ahead gained less.
static inline void prefetch_tile(const amx_job *job, size_t tile) {
    const char *hi = (const char *)(job->hi + tile * TILE_ELEMENTS);
    const char *lo8 = (const char *)(job->lo8 + tile * TILE_ELEMENTS);
    for (int line = 0; line < TILE_BYTES / 64; line++) _mm_prefetch(hi + 64 * line, _MM_HINT_T0);
    for (int line = 0; line < TILE_BYTES / 128; line++) _mm_prefetch(lo8 + 64 * line, _MM_HINT_T0);
}

// One panel for the single block of rows split at `split`, reading hi and lo8 only.
SHOAL_AMX static void small_panel(const amx_job *job, const uint16_t *split, int panel) {
    size_t first = (size_t)panel * 2 * job->steps, second = first + job->steps;  // tile indices
    uint16_t lo[2 * TILE_ELEMENTS] __attribute__((aligned(64)));
    _tile_zero(0);
    _tile_zero(1);
    for (int s = 0; s < job->steps; s++) {
        prefetch_tile(job, first + s + 1);  // past the last step: the next half's or panel's first
        prefetch_tile(job, second + s + 1);
        expand_lo(job->hi + (first + s) * TILE_ELEMENTS, job->lo8 + (first + s) * TILE_ELEMENTS, lo);
        expand_lo(job->hi + (second + s) * TILE_ELEMENTS, job->lo8 + (second + s) * TILE_ELEMENTS, lo + TILE_ELEMENTS);
        block_step(split + (size_t)s * 2 * TILE_ELEMENTS, job->hi + (first + s) * TILE_ELEMENTS,
                   job->hi + (second + s) * TILE_ELEMENTS, lo, lo + TILE_ELEMENTS);
    }
    store_block(job, 0, panel);
}

// The panels are cut into one run per pair of items; item 2r works run r from its front, item 2r + 1 from
// its back, one panel at a time, until they meet. A run stays with the same two items at every call, so the
// weights each core streams stay in the part of the cache it keeps warm, and a core that is slower than
// its partner (a busy neighbour, a late start) does fewer panels instead of holding up the call. Each
// thread splits the rows into its own buffer when it takes its first panel: in parallel rather than by the
// caller before the call, and read from the thread's own L1 cache rather than from the caller's core.
SHOAL_AMX static void small_task(void *context, int64_t index, int thread) {
    (void)thread;
    const amx_job *job = context;
    if (!reserve_split(block_split_bytes(job->steps))) return;  // no panel taken: small_gemm does them
    configure_tiles(job->m);
    int split = 0;
    int run = (int)(index / 2), from_back = (int)(index & 1);
    int first = run * job->panels / job->runs, count = (run + 1) * job->panels / job->runs - first;
    _Atomic int *claimed = job->claimed + run;
    for (;;) {
        int taken = atomic_load_explicit(claimed, memory_order_relaxed), panel;
        do {
            int front = taken & 0xFFFF, back = taken >> 16;
            if (front + back >= count) return;
            panel = first + (from_back ? count - 1 - back : front);
        } while (!atomic_compare_exchange_weak_explicit(claimed, &taken, taken + (from_back ? 0x10000 : 1),
                                                        memory_order_relaxed, memory_order_relaxed));
        if (!split) {
            split_block(job, 0, split_buffer);
            split = 1;
        }
        small_panel(job, split_buffer, panel);
    }
}

// Runs a one-block call; returns 0, having done nothing, when the calling thread's split buffer cannot be
// allocated or the panels are too many to count in 16 bits.
SHOAL_AMX static int small_gemm(shoal_pool *pool, amx_job *job) {
    if (job->panels > 0xFFFF || !reserve_split(block_split_bytes(job->steps))) return 0;
    int items = shoal_pool_threads(pool);
    job->runs = (items + 1) / 2;
    _Atomic int claimed[job->runs];
    for (int run = 0; run < job->runs; run++) atomic_init(&claimed[run], 0);
    job->claimed = claimed;
    shoal_pool_run(pool, items, small_task, job);
    // Panels of runs whose threads could not allocate their split buffers are left: the caller, whose buffer
    // is reserved, does them.
    for (int run = 0; run < job->runs; run++) small_task(job, 2 * run, 0);
    return 1;
}

static int amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                    const float *bias, const float *residual, int ldr, int activation, float *c, int ldc, int block) {
    if (m <= 0 || n <= 0) return SHOAL_OK;
    int steps = steps_of(k), blocks = (m + BLOCK - 1) / BLOCK, panels = panels_of(n);
    // Groups as large as GROUP_BYTES of split rows allow (fewer passes over the weights), an even
    // number of blocks, but at least one group per thread when there are rows enough.
    int threads = shoal_pool_threads(pool);
    int group_blocks = (int)(GROUP_BYTES / block_split_bytes(steps));
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
    const uint16_t *hi = packed;
    const uint8_t *lo8 = (const uint8_t *)(hi + plane_tiles(n, k) * TILE_ELEMENTS);
    amx_job job = {m, n, k, lda, ldr, ldc, activation, steps, blocks, panels, group_blocks, groups, chunk_panels,
                   (panels + chunk_panels - 1) / chunk_panels, atomic_fetch_add(&job_counter, 1) + 1, &next_group,
                   next_chunk, a, bias, residual, hi, (const uint16_t *)(lo8 + plane_tiles(n, k) * TILE_ELEMENTS),
                   lo8, c};
    _Atomic int failed = 0;
    job.block = block;
    job.failed = &failed;
    if (blocks == 1 && small_gemm(pool, &job)) return SHOAL_OK;
    shoal_pool_run(pool, threads, multiply_task, &job);
    return atomic_load(&failed) ? SHOAL_OUT_OF_MEMORY : SHOAL_OK;
}

int shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                   const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    return amx_gemm(pool, m, n, k, a, lda, packed, bias, residual, ldr, activation, c, ldc, 0);
}

int shoal_amx_gemm_blocks(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                          const float *bias, int activation, float *c, int block) {
    return amx_gemm(pool, m, n, k, a, lda, packed, bias, NULL, 0, activation, c, 0, block);
}

// MARK: - Attention

// Bytes of scratch shoal_amx_attention_head needs for sequences of up to max_len tokens.
size_t shoal_amx_attention_scratch_bytes(int max_len, int head_dim) {
    size_t keys = (size_t)panels_of(max_len) * steps_of(head_dim);
    size_t values = (size_t)panels_of(head_dim) * steps_of(max_len);
    size_t rows = 2 * ((size_t)steps_of(head_dim) + steps_of(max_len));  // two blocks of each
    size_t scores = (size_t)2 * BLOCK * panels_of(max_len) * SHOAL_PANEL * 4;
    return 64 + (keys + values) * 4 * TILE_BYTES + rows * 2 * TILE_BYTES + scores;  // 64: to align the start
}

// Packs the keys (`len` rows `stride` floats apart, `d` floats each) as the weights of Q·Kᵀ: per panel
// of 32 keys and step of 32 dimensions, the hi tiles of keys 0-15 and 16-31, then their lo tiles. Row r
// of a tile holds dimensions 2r and 2r + 1 of each key: a 16 x 16 transpose of the split rows' pairs.
SHOAL_AMX static void pack_keys(const float *keys, size_t stride, int len, int d, uint16_t *dst) {
    int steps = steps_of(d);
    for (int panel = 0; panel < panels_of(len); panel++) {
        for (int s = 0; s < steps; s++) {
            uint16_t *tiles = dst + ((size_t)panel * steps + s) * 4 * TILE_ELEMENTS;
            __mmask16 m0 = shoal_mask(d - s * STEP), m1 = shoal_mask(d - s * STEP - 16);
            for (int half = 0; half < 2; half++) {
                if (panel * SHOAL_PANEL + half * 16 >= len) {  // no key: zero tiles
                    memset(tiles + half * TILE_ELEMENTS, 0, TILE_BYTES);
                    memset(tiles + (2 + half) * TILE_ELEMENTS, 0, TILE_BYTES);
                    continue;
                }
                __m512 hi[16], lo[16];
                for (int c = 0; c < 16; c++) {
                    int key = panel * SHOAL_PANEL + half * 16 + c;
                    const float *k = keys + (size_t)key * stride + s * STEP;
                    __m512 v0 = key < len ? _mm512_maskz_loadu_ps(m0, k) : _mm512_setzero_ps();
                    __m512 v1 = key < len ? _mm512_maskz_loadu_ps(m1, k + 16) : _mm512_setzero_ps();
                    __m512i h, l;
                    split_pair(v0, v1, &h, &l);
                    hi[c] = _mm512_castsi512_ps(h);
                    lo[c] = _mm512_castsi512_ps(l);
                }
                shoal_transpose16(hi);
                shoal_transpose16(lo);
                for (int r = 0; r < 16; r++) {
                    _mm512_store_ps(tiles + half * TILE_ELEMENTS + r * 32, hi[r]);
                    _mm512_store_ps(tiles + (2 + half) * TILE_ELEMENTS + r * 32, lo[r]);
                }
            }
        }
    }
}

// Packs the values as the weights of P·V: per panel of 32 dimensions and step of 32 keys, the hi tiles
// of dimensions 0-15 and 16-31, then their lo tiles. Row r of a tile holds keys 2r and 2r + 1 of each
// dimension: two value rows, split and interleaved.
SHOAL_AMX static void pack_values(const float *values, size_t stride, int len, int d, uint16_t *dst) {
    static const uint16_t interleave[32] __attribute__((aligned(64))) = {
        0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23,
        8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
    const __m512i order = _mm512_load_si512(interleave);
    int steps = steps_of(len);
    for (int panel = 0; panel < panels_of(d); panel++) {
        for (int s = 0; s < steps; s++) {
            uint16_t *tiles = dst + ((size_t)panel * steps + s) * 4 * TILE_ELEMENTS;
            for (int half = 0; half < 2; half++) {
                int col = panel * SHOAL_PANEL + half * 16;
                __mmask16 m = shoal_mask(d - col);
                for (int r = 0; r < 16; r++) {
                    int key = s * STEP + 2 * r;
                    uint16_t *row = tiles + half * TILE_ELEMENTS + r * 32;
                    if (key >= len) {  // no key: zero rows
                        _mm512_store_si512(row, _mm512_setzero_si512());
                        _mm512_store_si512(row + 2 * TILE_ELEMENTS, _mm512_setzero_si512());
                        continue;
                    }
                    const float *v = values + (size_t)key * stride + col;
                    __m512 even = _mm512_maskz_loadu_ps(m, v);
                    __m512 odd = key + 1 < len ? _mm512_maskz_loadu_ps(m, v + stride) : _mm512_setzero_ps();
                    __m512i h, l;
                    split_pair(even, odd, &h, &l);
                    _mm512_store_si512(row, _mm512_permutexvar_epi16(order, h));
                    _mm512_store_si512(row + 2 * TILE_ELEMENTS, _mm512_permutexvar_epi16(order, l));
                }
            }
        }
    }
}

// The product of one 16-row block of split rows (x), or of two (x and y, unless y is NULL), against a
// panel packed by pack_keys or pack_values, stored as 16 or 32 rows of 32 floats, `ld` floats apart.
SHOAL_AMX static void multiply_packed(const uint16_t *x, const uint16_t *y, const uint16_t *tiles, int steps,
                                      float *dst, size_t ld) {
    const uint16_t *hi1 = tiles + TILE_ELEMENTS, *lo0 = tiles + 2 * TILE_ELEMENTS, *lo1 = tiles + 3 * TILE_ELEMENTS;
    if (y) {
        pair_steps(x, y, tiles, hi1, lo0, lo1, 4 * TILE_ELEMENTS, steps);
        store_pair(dst, ld);
        return;
    }
    multiply_steps(x, tiles, hi1, lo0, lo1, 4 * TILE_ELEMENTS, steps);
    _tile_stored(0, dst, ld * 4);
    _tile_stored(1, dst + 16, ld * 4);
}

// Queries and probabilities go through the products two blocks (32 rows) at a time, the last block alone
// when their number is odd.
SHOAL_AMX void shoal_amx_attention_head(const float *q, const float *keys, const float *values, size_t stride, int len,
                                        int d, float *out, size_t ldo, void *scratch) {
    int key_panels = panels_of(len), key_steps = steps_of(d), lp = key_panels * SHOAL_PANEL;
    int value_panels = panels_of(d), value_steps = steps_of(len);
    size_t query_block = (size_t)key_steps * 2 * TILE_ELEMENTS, score_block = (size_t)value_steps * 2 * TILE_ELEMENTS;
    uint16_t *packed_keys = (uint16_t *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    uint16_t *packed_values = packed_keys + (size_t)key_panels * key_steps * 4 * TILE_ELEMENTS;
    uint16_t *split_queries = packed_values + (size_t)value_panels * value_steps * 4 * TILE_ELEMENTS;
    uint16_t *split_scores = split_queries + 2 * query_block;
    float *scores = (float *)(split_scores + 2 * score_block);
    configure_tiles(BLOCK);
    pack_keys(keys, stride, len, d, packed_keys);
    pack_values(values, stride, len, d, packed_values);
    amx_job queries = {.m = len, .k = d, .lda = (int)stride, .steps = key_steps, .a = q};
    for (int block = 0; block * BLOCK < len; block += 2) {
        int pair = (block + 1) * BLOCK < len;
        int rows = len - block * BLOCK < 2 * BLOCK ? len - block * BLOCK : 2 * BLOCK;
        split_block(&queries, block, split_queries);
        if (pair) split_block(&queries, block + 1, split_queries + query_block);
        for (int panel = 0; panel < key_panels; panel++)
            multiply_packed(split_queries, pair ? split_queries + query_block : NULL,
                            packed_keys + (size_t)panel * key_steps * 4 * TILE_ELEMENTS, key_steps,
                            scores + panel * SHOAL_PANEL, lp);
        float scales[2 * BLOCK];  // per row, the softmax's 1 / sum of exponentials
        for (int i = 0; i < rows; i++) scales[i] = 1.0f / shoal_softmax_row512(scores + (size_t)i * lp, len);
        amx_job probabilities = {.m = rows, .k = len, .lda = lp, .steps = value_steps, .a = scores};
        split_block(&probabilities, 0, split_scores);
        if (pair) split_block(&probabilities, 1, split_scores + score_block);
        for (int panel = 0; panel < value_panels; panel++) {
            float result[2 * BLOCK * 32] __attribute__((aligned(64)));
            multiply_packed(split_scores, pair ? split_scores + score_block : NULL,
                            packed_values + (size_t)panel * value_steps * 4 * TILE_ELEMENTS, value_steps, result, 32);
            int col = panel * SHOAL_PANEL;
            __mmask16 m0 = shoal_mask(d - col), m1 = shoal_mask(d - col - 16);
            for (int i = 0; i < rows; i++) {
                __m512 scale = _mm512_set1_ps(scales[i]);
                float *o = out + (size_t)(block * BLOCK + i) * ldo + col;
                _mm512_mask_storeu_ps(o, m0, _mm512_mul_ps(_mm512_load_ps(result + i * 32), scale));
                _mm512_mask_storeu_ps(o + 16, m1, _mm512_mul_ps(_mm512_load_ps(result + i * 32 + 16), scale));
            }
        }
    }
}
#else
int shoal_has_amx(void) { return 0; }

int shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                   const float *bias, const float *residual, int ldr, int activation, float *c, int ldc) {
    (void)pool; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)residual;
    (void)ldr; (void)activation; (void)c; (void)ldc;
    return SHOAL_OK;
}

int shoal_amx_gemm_blocks(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                          const float *bias, int activation, float *c, int block) {
    (void)pool; (void)m; (void)n; (void)k; (void)a; (void)lda; (void)packed; (void)bias; (void)activation; (void)c;
    (void)block;
    return SHOAL_OK;
}

size_t shoal_amx_attention_scratch_bytes(int max_len, int head_dim) {
    (void)max_len; (void)head_dim;
    return 0;
}

void shoal_amx_attention_head(const float *q, const float *keys, const float *values, size_t stride, int len, int d,
                              float *out, size_t ldo, void *scratch) {
    (void)q; (void)keys; (void)values; (void)stride; (void)len; (void)d; (void)out; (void)ldo; (void)scratch;
}
#endif
