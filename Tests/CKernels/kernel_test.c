// Tests every public kernel of ShoalKernels against a plain scalar reference written here (double
// accumulation), at the instruction-set level shoal_isa() picks (the environment variable SHOAL_ISA lowers
// it), with pools of 1 and 2 threads; and, in golden mode, runs the all-MiniLM-L6-v2 forward pass on the
// kernels and compares it with the embeddings of the public fixture. Built and run by
// scripts/test-kernels.sh, natively and for aarch64 under qemu.
//
// Usage: kernel_test [-q]                                       kernel checks
//        kernel_test [-q] golden MODEL_DIR FIXTURE_JSON [THREADS] forward pass of all fixture items as one
//                                                                  batch on a pool of THREADS (default 2)
//        -q prints failures and the summary only.
// Exit status: 0 when every check passed, 1 when one failed, 2 on bad usage or unreadable input.
//
// Tolerances are bounds on the float32 algorithm, in units of U = 2^-24 (the relative error of one
// rounding): a sum of k products accumulated in float32, in any order, is within k·U·Σ|terms| of the
// exact sum; each extra addition or multiplication adds one U of its operands. Each check prints its
// largest |Δ| and its worst Δ/tolerance, which shows how much of the bound was used.
#include "ShoalKernels.h"
#include "golden.h"
#include "check.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// |activation'| ≤ 1.13 (GELU's steepest slope, near x = 1.5), 1 for ReLU and tanh: an error in the
// activation's input grows by at most this much.
#define LIPSCHITZ 1.2
// AMX products run in bf16x3: each operand keeps 16 significant bits (error ≤ 2^-17 relative) and the
// dropped lo·lo term is below 2^-16 relative, so a product is within about 2^-15 of exact; 4x margin.
#define AMX_PRECISION 0x1p-13

static const int M_LIST[] = {1, 2, 5, 6, 7, 12, 13, 16, 17, 25, 33, 37, 70};
static const int N_LIST[] = {1, 7, 16, 17, 32, 33, 100};
static const int K_LIST[] = {1, 40, 64, 384};
#define COUNT(array) ((int)(sizeof(array) / sizeof((array)[0])))

static const char *ACT_NAMES[] = {"none", "gelu", "relu", "tanh"};

// MARK: - References

static double act_ref(double v, int act) {
    switch (act) {
    case SHOAL_ACT_GELU: return 0.5 * v * (1.0 + erf(v / sqrt(2.0)));
    case SHOAL_ACT_RELU: return v > 0 ? v : 0;
    case SHOAL_ACT_TANH: return tanh(v);
    default: return v;
    }
}

// Error of the kernel's activation of an exactly known input v (the input's own error is the caller's).
// GELU: the erf approximation is within 6 ulp of erf (worst measured 5.6, at |x| ≈ 3.94), an absolute
// error e of erf moves GELU by 0.5·|v|·e; the vector paths' reciprocal and Newton step add up to 2 ulp
// and the products 2 more: 12 U of (|GELU| + |v|/2). tanh: tanhf is within 2 ulp (4 U).
static double act_tol(double v, double want, int act) {
    switch (act) {
    case SHOAL_ACT_GELU: return 12 * U * (fabs(want) + 0.5 * fabs(v));
    case SHOAL_ACT_TANH: return 4 * U * fabs(want);
    default: return 0;
    }
}

// MARK: - Thread pool and packing

typedef struct {
    _Atomic int *hits;
    int threads;
    _Atomic int bad_thread;
} pool_probe;

static void probe_task(void *context, int64_t index, int thread) {
    pool_probe *probe = context;
    atomic_fetch_add(&probe->hits[index], 1);
    if (thread < 0 || thread >= probe->threads) atomic_store(&probe->bad_thread, 1);
}

// Every index of every region runs exactly once, on a thread number the pool has.
static void test_pool(int threads) {
    enum { REGIONS = 300 };
    static const int counts[] = {0, 1, 2, 7, 1000};
    shoal_pool *pool = shoal_pool_create(threads);
    int lost = 0, twice = 0;
    pool_probe probe = {calloc(1000, sizeof(_Atomic int)), shoal_pool_threads(pool), 0};
    for (int c = 0; c < COUNT(counts); c++) {
        for (int region = 0; region < REGIONS; region++) {
            for (int i = 0; i < counts[c]; i++) atomic_store(&probe.hits[i], 0);
            shoal_pool_run(pool, counts[c], probe_task, &probe);
            for (int i = 0; i < counts[c]; i++) {
                int hits = atomic_load(&probe.hits[i]);
                lost += hits == 0;
                twice += hits > 1;
            }
        }
    }
    expect(shoal_pool_threads(pool) == threads, "pool threads=%d: shoal_pool_threads says %d", threads,
           shoal_pool_threads(pool));
    expect(!lost && !twice && !atomic_load(&probe.bad_thread),
           "pool threads=%d: %d regions each of counts 0,1,2,7,1000 (items lost %d, run twice %d, bad thread %d)",
           threads, REGIONS, lost, twice, atomic_load(&probe.bad_thread));
    free(probe.hits);
    shoal_pool_destroy(pool);
}

// shoal_pack's layout: panel p, k index q, lane j holds w[p·32 + j][q], zero past n; in rows of 32 lanes,
// or at the AVX2 level in two halves of 16 lanes, each k rows of 16. Exact.
static void test_pack(void) {
    static const int shapes[][2] = {{1, 1}, {7, 40}, {32, 64}, {33, 5}, {100, 17}};
    tally t = {0};
    for (int s = 0; s < COUNT(shapes); s++) {
        int n = shapes[s][0], k = shapes[s][1];
        size_t count = shoal_packed_count(n, k);
        float *w = random_floats((size_t)n * k, -1, 1), *packed = floats(count + GUARD);
        shoal_pack(w, n, k, packed);
        const int split = shoal_isa() == SHOAL_ISA_AVX2;
        where(split ? "n=%d k=%d packed[((2·panel + lane/16)·k + q)·16 + lane%%16]" : "n=%d k=%d packed[(panel·k + q)·32 + lane]",
              n, k);
        expect(count == (size_t)((n + SHOAL_PANEL - 1) / SHOAL_PANEL) * SHOAL_PANEL * k,
               "shoal_packed_count(%d, %d) = %zu", n, k, count);
        for (size_t e = 0; e < count; e++) {
            size_t panel = e / ((size_t)SHOAL_PANEL * k), q, lane;
            if (split) {
                size_t half = e / ((size_t)16 * k);  // counted over the whole buffer: 2·panel + half of the panel
                q = e / 16 % k;
                lane = half % 2 * 16 + e % 16;
            } else {
                q = e / SHOAL_PANEL % k;
                lane = e % SHOAL_PANEL;
            }
            size_t j = panel * SHOAL_PANEL + lane;
            compare(&t, (int)e, -1, packed[e], j < (size_t)n ? w[j * k + q] : 0.0f, 0);
        }
        compare_untouched(&t, packed + count, GUARD);
        free(w);
        free(packed);
    }
    report(&t, "shoal_pack layout (n, k: 1,1 7,40 32,64 33,5 100,17), exact");
}

// MARK: - Elementwise

// x from -7 to 7 in steps of 2^-10, plus tiny, large and signed-zero inputs.
static int erf_inputs(float *x) {
    static const float extra[] = {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-8f, -1e-8f, 10.0f, -10.0f, 100.0f, -100.0f};
    int count = 0;
    for (int i = -7 * 1024; i <= 7 * 1024; i++) x[count++] = (float)i / 1024.0f;
    for (int i = 0; i < COUNT(extra); i++) x[count++] = extra[i];
    return count;
}

// shoal_erf within 8 ulp of erf (the approximation is a few ulp from erff; worst measured 5.6);
// shoal_gelu within the GELU tolerance of act_tol.
static void test_erf_gelu(void) {
    float x[15 * 1024];
    int count = erf_inputs(x);
    tally te = {0}, tg = {0};
    where("x");
    for (int i = 0; i < count; i++) {
        double want = erf((double)x[i]);
        double ulp = ldexp(1.0, ilogb(fmax(fabs(want), 0x1p-126)) - 23);
        compare(&te, i, -1, shoal_erf(x[i]), want, 8 * ulp);
        want = act_ref(x[i], SHOAL_ACT_GELU);
        compare(&tg, i, -1, shoal_gelu(x[i]), want, act_tol(x[i], want, SHOAL_ACT_GELU));
    }
    report(&te, "shoal_erf vs erf() on [-7, 7] step 2^-10 and extremes, 8 ulp");
    report(&tg, "shoal_gelu vs 0.5·x·(1 + erf(x/√2)) on the same inputs");
}

// Each probability within (n + 40)·U of itself: x - max is exact to 16 U absolute (|x| ≤ 8), which moves
// exp by 16 U relative; expf adds 2 U; the sum of n exponentials n·U plus their 18 U; the division 1 U.
static void test_softmax(void) {
    static const int widths[] = {1, 2, 7, 8, 33, 100, 384};
    for (int w = 0; w < COUNT(widths); w++) {
        int n = widths[w], rows = 3;
        float *x = random_floats((size_t)rows * n, -8, 8);
        double *want = calloc((size_t)rows * n, sizeof(double));
        for (int r = 0; r < rows; r++) {
            const float *row = x + (size_t)r * n;
            double *p = want + (size_t)r * n, max = row[0], sum = 0;
            for (int j = 1; j < n; j++) max = fmax(max, row[j]);
            for (int j = 0; j < n; j++) p[j] = exp(row[j] - max);
            for (int j = 0; j < n; j++) sum += p[j];
            for (int j = 0; j < n; j++) p[j] /= sum;
        }
        shoal_softmax_rows(rows, n, x);
        tally t = {0};
        where("rows=3 n=%d x[row][col]", n);
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < n; j++) {
                double p = want[(size_t)r * n + j];
                compare(&t, r, j, x[(size_t)r * n + j], p, (n + 40) * U * p);
            }
        report(&t, "shoal_softmax_rows rows=3 n=%d, x in [-8, 8]", n);
        free(x);
        free(want);
    }
}

// act(x + bias + residual): two additions (2 U of |x| + |bias| + |residual|) through the activation.
static void test_epilogue(void) {
    static const int ms[] = {1, 5, 13}, ns[] = {1, 7, 16, 17, 40, 100};
    for (int options = 0; options < 16; options++) {
        int with_bias = options & 1, with_residual = options >> 1 & 1, act = options >> 2;
        tally t = {0};
        for (int mi = 0; mi < COUNT(ms); mi++)
            for (int ni = 0; ni < COUNT(ns); ni++) {
                int m = ms[mi], n = ns[ni], ldx = n + 3, ldr = n + 1;
                float *x = random_floats((size_t)m * ldx + GUARD, -4, 4), *original = copy(x, (size_t)m * ldx + GUARD);
                float *bias = with_bias ? random_floats(n, -1, 1) : NULL;
                float *residual = with_residual ? random_floats((size_t)m * ldr, -2, 2) : NULL;
                shoal_epilogue(m, n, x, ldx, bias, residual, ldr, act);
                where("m=%d n=%d ldx=%d x[row][col]", m, n, ldx);
                for (int i = 0; i < m; i++)
                    for (int j = 0; j < n; j++) {
                        double a = original[(size_t)i * ldx + j], b = bias ? bias[j] : 0;
                        double r = residual ? residual[(size_t)i * ldr + j] : 0, v = a + b + r, want = act_ref(v, act);
                        double tol = LIPSCHITZ * 2 * U * (fabs(a) + fabs(b) + fabs(r)) + act_tol(v, want, act);
                        compare(&t, i, j, x[(size_t)i * ldx + j], want, tol);
                    }
                compare_padding(&t, x, original, m, n, ldx, (size_t)m * ldx + GUARD);
                free(x);
                free(original);
                free(bias);
                free(residual);
            }
        report(&t, "shoal_epilogue bias=%d residual=%d act=%s, m 1,5,13 × n 1,7,16,17,40,100", with_bias,
               with_residual, ACT_NAMES[act]);
    }
}

// MARK: - GEMM

typedef struct {
    int with_bias, with_residual, act;
    int amx;    // shoal_amx_gemm (bf16x3) instead of shoal_gemm
    int block;  // 0: row-major output; else the block layout of shoal_gemm_blocks
} gemm_options;

// Runs the GEMM that `o` names on weights w ([n, k], row-major), packing them as that GEMM needs.
static void run_gemm(shoal_pool *pool, const gemm_options *o, int m, int n, int k, const float *a, int lda,
                     const float *w, const float *bias, const float *residual, int ldr, float *c, int ldc) {
    if (o->amx) {
        void *packed = aligned_alloc(64, (shoal_amx_packed_bytes(n, k) + 63) / 64 * 64);
        shoal_amx_pack(w, n, k, packed);
        int status = o->block ? shoal_amx_gemm_blocks(pool, m, n, k, a, lda, packed, bias, o->act, c, o->block)
                              : shoal_amx_gemm(pool, m, n, k, a, lda, packed, bias, residual, ldr, o->act, c, ldc);
        free(packed);
        if (status != SHOAL_OK) {
            fprintf(stderr, "shoal_amx_gemm %dx%dx%d: status %d\n", m, n, k, status);
            exit(1);
        }
        return;
    }
    float *packed = floats(shoal_packed_count(n, k));
    shoal_pack(w, n, k, packed);
    if (o->block) shoal_gemm_blocks(pool, m, n, k, a, lda, packed, bias, o->act, c, o->block);
    else shoal_gemm(pool, m, n, k, a, lda, packed, bias, residual, ldr, o->act, c, ldc);
    free(packed);
}

// One GEMM of shape (m, n, k) against the double reference: the k-term sum within (k + 2)·U of Σ|a·w|
// (the 2: bias and residual additions), plus AMX_PRECISION of it on AMX, through the activation.
// Row-major output has ldc > n: the padding must stay untouched. Block output is also compared with
// the row-major output of the same kernel, which must match exactly (one micro-kernel computes both).
static void gemm_case(tally *t, tally *same, shoal_pool *pool, const gemm_options *o, int m, int n, int k) {
    int lda = k + 3, ldc = o->block ? n : n + 5, ldr = n + 2;
    size_t size = (size_t)m * ldc + GUARD;
    float *a = random_floats((size_t)m * lda, -1, 1), *w = random_floats((size_t)n * k, -1, 1);
    float *bias = o->with_bias ? random_floats(n, -1, 1) : NULL;
    float *residual = o->with_residual ? random_floats((size_t)m * ldr, -2, 2) : NULL;
    float *c = floats(size);
    run_gemm(pool, o, m, n, k, a, lda, w, bias, residual, ldr, c, ldc);
    where("%s m=%d n=%d k=%d lda=%d ldc=%d%s%.0d c[row][col]", o->amx ? "amx" : "float32", m, n, k, lda, ldc,
          o->block ? " block=" : "", o->block);
    double precision = o->amx ? AMX_PRECISION : 0;
    for (int i = 0; i < m; i++)
        for (int j = 0; j < n; j++) {
            double dot = 0, magnitude = 0;
            for (int p = 0; p < k; p++) {
                double term = (double)a[(size_t)i * lda + p] * w[(size_t)j * k + p];
                dot += term;
                magnitude += fabs(term);
            }
            double b = bias ? bias[j] : 0, r = residual ? residual[(size_t)i * ldr + j] : 0;
            double v = dot + b + r, want = act_ref(v, o->act);
            double tol = LIPSCHITZ * (((k + 2) * U + precision) * magnitude + 2 * U * (fabs(b) + fabs(r))) +
                         act_tol(v, want, o->act);
            size_t at = o->block ? ((size_t)(j / o->block) * m + i) * o->block + j % o->block : (size_t)i * ldc + j;
            compare(t, i, j, c[at], want, tol);
        }
    if (o->block) {
        gemm_options rows = *o;
        rows.block = 0;
        float *c_rows = floats((size_t)m * n);
        run_gemm(pool, &rows, m, n, k, a, lda, w, bias, NULL, 0, c_rows, n);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
                compare(same, i, j, c[((size_t)(j / o->block) * m + i) * o->block + j % o->block],
                        c_rows[(size_t)i * n + j], 0);
        compare_untouched(t, c + (size_t)m * n, GUARD);
        free(c_rows);
    } else {
        compare_padding(t, c, NULL, m, n, ldc, size);
    }
    free(a);
    free(w);
    free(bias);
    free(residual);
    free(c);
}

static const char *engine_name(int amx) { return amx ? "shoal_amx_gemm" : "shoal_gemm"; }

// Every m of M_LIST against each (n, k), with bias and residual: tails of the 32-column panels, of the
// micro-kernels' row blocks (12 AVX-512, 6 AVX2, 4 portable, 16 AMX) and of the vector lanes.
static void test_gemm_shapes(shoal_pool *pool, int amx) {
    gemm_options o = {1, 1, SHOAL_ACT_NONE, amx, 0};
    for (int ni = 0; ni < COUNT(N_LIST); ni++)
        for (int ki = 0; ki < COUNT(K_LIST); ki++) {
            tally t = {0};
            for (int mi = 0; mi < COUNT(M_LIST); mi++) gemm_case(&t, NULL, pool, &o, M_LIST[mi], N_LIST[ni], K_LIST[ki]);
            report(&t, "%s threads=%d n=%d k=%d, m 1..70 (13 sizes), bias+residual", engine_name(amx),
                   shoal_pool_threads(pool), N_LIST[ni], K_LIST[ki]);
        }
}

// Every combination of bias, residual and activation on a few shapes.
static void test_gemm_epilogues(shoal_pool *pool, int amx) {
    static const int shapes[][3] = {{1, 1, 1}, {13, 33, 40}, {70, 100, 64}, {7, 17, 384}};
    for (int options = 0; options < 16; options++) {
        gemm_options o = {options & 1, options >> 1 & 1, options >> 2, amx, 0};
        tally t = {0};
        for (int s = 0; s < COUNT(shapes); s++) gemm_case(&t, NULL, pool, &o, shapes[s][0], shapes[s][1], shapes[s][2]);
        report(&t, "%s threads=%d bias=%d residual=%d act=%s, (m,n,k) 1,1,1 13,33,40 70,100,64 7,17,384",
               engine_name(amx), shoal_pool_threads(pool), o.with_bias, o.with_residual, ACT_NAMES[o.act]);
    }
}

// A long k: shoal_gemm then splits m into several chunks of rows (256 KiB of A each: 24 rows at k 2048).
static void test_gemm_chunks(shoal_pool *pool, int amx) {
    gemm_options o = {1, 1, SHOAL_ACT_GELU, amx, 0};
    tally t = {0};
    gemm_case(&t, NULL, pool, &o, 70, 40, 2048);
    gemm_case(&t, NULL, pool, &o, 25, 33, 4096);
    report(&t, "%s threads=%d (m,n,k) 70,40,2048 25,33,4096 (several row chunks), gelu", engine_name(amx),
           shoal_pool_threads(pool));
}

// The block layout, and that it holds exactly the row-major output.
static void test_gemm_blocks(shoal_pool *pool, int amx) {
    static const int layouts[][2] = {{32, 32}, {64, 32}, {64, 64}, {96, 32}, {384, 32}, {256, 128}};
    static const int ks[] = {7, 64};
    for (int l = 0; l < COUNT(layouts); l++)
        for (int act = SHOAL_ACT_NONE; act <= SHOAL_ACT_GELU; act++) {
            gemm_options o = {1, 0, act, amx, layouts[l][1]};
            tally t = {0}, same = {0};
            for (int mi = 0; mi < COUNT(M_LIST); mi++)
                for (int ki = 0; ki < COUNT(ks); ki++) gemm_case(&t, &same, pool, &o, M_LIST[mi], layouts[l][0], ks[ki]);
            report(&t, "%s_blocks threads=%d n=%d block=%d act=%s, m 1..70, k 7,64", engine_name(amx),
                   shoal_pool_threads(pool), layouts[l][0], layouts[l][1], ACT_NAMES[act]);
            report(&same, "%s_blocks threads=%d n=%d block=%d act=%s equals row-major output, exact", engine_name(amx),
                   shoal_pool_threads(pool), layouts[l][0], layouts[l][1], ACT_NAMES[act]);
        }
}

// MARK: - Layer norm and embeddings

// Reference layer norm of x (n values, exact inputs) into want; tol gets the bound of the float32
// two-pass algorithm: the mean is within n·U of mean|x|, which shifts every output by |γ|/σ times that;
// the variance within (n + 2)·U relative, so 1/σ within (n/2 + 3)·U; the final products 4 U.
static void layer_norm_ref(int n, const float *x, const float *gamma, const float *beta, float eps, double *want,
                           double *tol) {
    double mean = 0, mean_abs = 0, variance = 0;
    for (int j = 0; j < n; j++) {
        mean += x[j];
        mean_abs += fabs(x[j]);
    }
    mean /= n;
    mean_abs /= n;
    for (int j = 0; j < n; j++) variance += (x[j] - mean) * (x[j] - mean);
    double inv_sigma = 1.0 / sqrt(variance / n + eps);
    for (int j = 0; j < n; j++) {
        double normal = (x[j] - mean) * inv_sigma, g = fabs(gamma[j]);
        want[j] = normal * gamma[j] + beta[j];
        tol[j] = g * ((n + 1) * U * mean_abs * inv_sigma + (n / 2.0 + 3) * U * fabs(normal)) +
                 4 * U * (fabs(normal) * g + fabs(beta[j]));
    }
}

static void test_layer_norm(shoal_pool *pool) {
    static const int widths[] = {1, 3, 8, 17, 40, 64, 100, 384}, row_counts[] = {1, 5, 16, 17, 70};
    const float eps = 1e-5f;
    for (int w = 0; w < COUNT(widths); w++) {
        int n = widths[w];
        tally t = {0};
        double *want = malloc(sizeof(double) * n), *tol = malloc(sizeof(double) * n);
        for (int ri = 0; ri < COUNT(row_counts); ri++) {
            int rows = row_counts[ri];
            float *x = random_floats((size_t)rows * n + GUARD, -1, 2), *original = copy(x, (size_t)rows * n + GUARD);
            float *gamma = random_floats(n, 0.5f, 1.5f), *beta = random_floats(n, -0.5f, 0.5f);
            shoal_layer_norm(pool, rows, n, x, gamma, beta, eps);
            where("rows=%d n=%d x[row][col]", rows, n);
            for (int r = 0; r < rows; r++) {
                layer_norm_ref(n, original + (size_t)r * n, gamma, beta, eps, want, tol);
                for (int j = 0; j < n; j++) compare(&t, r, j, x[(size_t)r * n + j], want[j], tol[j]);
            }
            compare_untouched_as(&t, x + (size_t)rows * n, original + (size_t)rows * n, GUARD);
            free(x);
            free(original);
            free(gamma);
            free(beta);
        }
        report(&t, "shoal_layer_norm threads=%d n=%d, rows 1,5,16,17,70, x in [-1, 2]", shoal_pool_threads(pool), n);
        free(want);
        free(tol);
    }
}

// The three embeddings are added as the kernel adds them, (word + position) + type in float32, so the
// reference sees the same sum and the check covers the gathers and the layer norm.
static void test_embed(shoal_pool *pool) {
    static const int hiddens[] = {8, 40, 384}, token_counts[] = {1, 17, 40};
    static const char *variants[] = {"type ids given", "type ids NULL (all 0)", "no type table"};
    enum { VOCAB = 50, POSITIONS = 64, TYPES = 2 };
    const float eps = 1e-12f;
    for (int hi = 0; hi < COUNT(hiddens); hi++)
        for (int variant = 0; variant < 3; variant++) {
            int h = hiddens[hi];
            float *word = random_floats((size_t)VOCAB * h, -1, 1), *position = random_floats((size_t)POSITIONS * h, -1, 1);
            float *type = variant < 2 ? random_floats((size_t)TYPES * h, -1, 1) : NULL;
            float *gamma = random_floats(h, 0.5f, 1.5f), *beta = random_floats(h, -0.5f, 0.5f);
            float *sum = malloc(sizeof(float) * h);
            double *want = malloc(sizeof(double) * h), *tol = malloc(sizeof(double) * h);
            tally t = {0};
            for (int ti = 0; ti < COUNT(token_counts); ti++) {
                int tokens = token_counts[ti];
                int32_t *ids = malloc(sizeof(int32_t) * tokens), *positions = malloc(sizeof(int32_t) * tokens);
                int32_t *type_ids = malloc(sizeof(int32_t) * tokens);
                for (int i = 0; i < tokens; i++) {
                    ids[i] = (int32_t)(next_random() % VOCAB);
                    positions[i] = (int32_t)(next_random() % POSITIONS);
                    type_ids[i] = (int32_t)(next_random() % TYPES);
                }
                float *out = floats((size_t)tokens * h + GUARD);
                shoal_embed(pool, tokens, h, ids, positions, variant == 0 ? type_ids : NULL, word, position, type, gamma,
                            beta, eps, out);
                where("tokens=%d hidden=%d out[token][col]", tokens, h);
                for (int i = 0; i < tokens; i++) {
                    int ty = variant == 0 ? type_ids[i] : 0;
                    for (int j = 0; j < h; j++) {
                        float wp = word[(size_t)ids[i] * h + j] + position[(size_t)positions[i] * h + j];
                        sum[j] = type ? wp + type[(size_t)ty * h + j] : wp;
                    }
                    layer_norm_ref(h, sum, gamma, beta, eps, want, tol);
                    for (int j = 0; j < h; j++) compare(&t, i, j, out[(size_t)i * h + j], want[j], tol[j]);
                }
                compare_untouched(&t, out + (size_t)tokens * h, GUARD);
                free(ids);
                free(positions);
                free(type_ids);
                free(out);
            }
            report(&t, "shoal_embed threads=%d hidden=%d %s, tokens 1,17,40", shoal_pool_threads(pool), h,
                   variants[variant]);
            free(word);
            free(position);
            free(type);
            free(gamma);
            free(beta);
            free(sum);
            free(want);
            free(tol);
        }
}

// MARK: - Attention

// A batch of sequences of these lengths: 1, the 32-key panel's edges and past them, past 64.
static const int SEQUENCE_LENGTHS[] = {5, 1, 33, 70, 2, 17, 32, 64};

// out[i] = softmax(q_i · Kᵀ) · V for one sequence and head, in double, with the tolerance: a score within
// Es = (d + 2)·U·Σ|q·k| (+ AMX_PRECISION of it), and x - max rounded to U·|x - max|; a probability then
// within 2·Es relative (its score and the sum's), exp 8 U, the sum of len terms len·U; the product with
// V len·U more and the final scaling 2 U, each relative to Σ p·|v|.
static void attention_ref(const float *rows, int hidden, int start, int len, int head, int d, int amx, double *want,
                          double *tol) {
    double *scores = malloc(sizeof(double) * len), *magnitude = malloc(sizeof(double) * len);
    double precision = amx ? AMX_PRECISION : 0;
    for (int i = 0; i < len; i++) {
        const float *q = rows + (size_t)(start + i) * 3 * hidden + head * d;
        double max = -INFINITY, sum = 0, score_error = 0;
        for (int j = 0; j < len; j++) {
            const float *key = rows + (size_t)(start + j) * 3 * hidden + hidden + head * d;
            double s = 0, m = 0;
            for (int x = 0; x < d; x++) {
                s += (double)q[x] * key[x];
                m += fabs((double)q[x] * key[x]);
            }
            scores[j] = s;
            magnitude[j] = m;
            max = fmax(max, s);
        }
        for (int j = 0; j < len; j++) {
            score_error = fmax(score_error, ((d + 2) * U + precision) * magnitude[j] + U * fabs(scores[j] - max));
            sum += scores[j] = exp(scores[j] - max);
        }
        double relative = 4 * score_error + (2.0 * len + 12) * U + 2 * precision;
        for (int x = 0; x < d; x++) {
            double o = 0, weighted = 0;
            for (int j = 0; j < len; j++) {
                double v = rows[(size_t)(start + j) * 3 * hidden + 2 * hidden + head * d + x];
                o += scores[j] / sum * v;
                weighted += scores[j] / sum * fabs(v);
            }
            want[(size_t)i * d + x] = o;
            tol[(size_t)i * d + x] = relative * weighted;
        }
    }
    free(scores);
    free(magnitude);
}

// The head-major layout of the same queries, keys and values: 3·heads matrices [tokens, d], all heads'
// queries, then all keys, then all values (what shoal_gemm_blocks with block d writes).
static float *head_major_of(const float *rows, int tokens, int heads, int d) {
    int hidden = heads * d;
    float *out = floats((size_t)tokens * 3 * hidden);
    for (int part = 0; part < 3; part++)
        for (int h = 0; h < heads; h++)
            for (int t = 0; t < tokens; t++)
                memcpy(out + (((size_t)part * heads + h) * tokens + t) * d, rows + (size_t)t * 3 * hidden + part * hidden + h * d,
                       sizeof(float) * d);
    return out;
}

static void attention_case(shoal_pool *pool, int heads, int d, int head_major, int amx) {
    int sequences = COUNT(SEQUENCE_LENGTHS), hidden = heads * d, max_len = 0;
    int32_t offsets[COUNT(SEQUENCE_LENGTHS) + 1] = {0};
    for (int s = 0; s < sequences; s++) {
        offsets[s + 1] = offsets[s] + SEQUENCE_LENGTHS[s];
        max_len = SEQUENCE_LENGTHS[s] > max_len ? SEQUENCE_LENGTHS[s] : max_len;
    }
    int tokens = offsets[sequences];
    // Queries pre-scaled by 1/√d as the contract asks: scores of about unit spread, softmax neither flat
    // nor one-hot.
    float *rows = random_floats((size_t)tokens * 3 * hidden, -2, 2);
    for (int t = 0; t < tokens; t++)
        for (int j = 0; j < 3 * hidden; j++) {
            float *x = rows + (size_t)t * 3 * hidden + j;
            *x = j < hidden ? *x / sqrtf((float)d) : j >= 2 * hidden ? *x / 2 : *x;
        }
    float *qkv = head_major ? head_major_of(rows, tokens, heads, d) : rows;
    float *context = floats((size_t)tokens * hidden + GUARD);
    size_t per_thread = shoal_attention_scratch_count(max_len, d);
    float *scratch = floats(per_thread * shoal_pool_threads(pool));
    shoal_attention(pool, sequences, offsets, heads, d, qkv, head_major, context, scratch, amx);
    double *want = malloc(sizeof(double) * max_len * d), *tol = malloc(sizeof(double) * max_len * d);
    tally t = {0};
    for (int s = 0; s < sequences; s++)
        for (int h = 0; h < heads; h++) {
            int len = SEQUENCE_LENGTHS[s];
            attention_ref(rows, hidden, offsets[s], len, h, d, amx, want, tol);
            where("sequence %d (len %d) head %d context[token][col]", s, len, h);
            for (int i = 0; i < len; i++)
                for (int x = 0; x < d; x++)
                    compare(&t, offsets[s] + i, h * d + x, context[(size_t)(offsets[s] + i) * hidden + h * d + x],
                            want[(size_t)i * d + x], tol[(size_t)i * d + x]);
        }
    compare_untouched(&t, context + (size_t)tokens * hidden, GUARD);
    report(&t, "shoal_attention threads=%d heads=%d head_dim=%d head_major=%d amx=%d, lengths 5,1,33,70,2,17,32,64",
           shoal_pool_threads(pool), heads, d, head_major, amx);
    if (qkv != rows) free(qkv);
    free(rows);
    free(context);
    free(scratch);
    free(want);
    free(tol);
}

static void test_attention(shoal_pool *pool, int amx) {
    static const int shapes[][2] = {{2, 32}, {3, 64}, {1, 40}, {2, 16}};  // heads, head_dim
    for (int s = 0; s < COUNT(shapes); s++)
        for (int head_major = 0; head_major < 2; head_major++) attention_case(pool, shapes[s][0], shapes[s][1], head_major, amx);
}

// MARK: - Pooling

static const char *POOLING_NAMES[] = {"mean", "cls", "max"};

// Pooling of `len` rows of x into want (before normalising), with error[j] the bound on the kernel's
// output j: CLS and max copy values exactly; the mean's sum of len values is within len·U of Σ|x| and
// its division adds 1 U.
static void pool_ref(const float *x, int len, int h, int pooling, double *want, double *error) {
    for (int j = 0; j < h; j++) {
        double v = x[j], magnitude = fabs(x[j]);
        for (int i = 1; i < len; i++) {
            double e = x[(size_t)i * h + j];
            magnitude += fabs(e);
            v = pooling == SHOAL_POOL_MEAN ? v + e : pooling == SHOAL_POOL_MAX ? fmax(v, e) : v;
        }
        want[j] = pooling == SHOAL_POOL_MEAN ? v / len : v;
        error[j] = pooling == SHOAL_POOL_MEAN ? (len + 1) * U * magnitude / len : 0;
    }
}

// Normalising: the sum of squares is within (hidden + 2)·U relative, so the norm within (hidden/2 + 3)·U,
// plus 2 U for the scaling; an input error e_j moves output j by e_j / norm, and the norm by at most
// max e / norm.
static void test_pool_tokens(void) {
    static const int lengths[] = {1, 4, 33, 70}, hiddens[] = {7, 384};
    int sequences = COUNT(lengths);
    int32_t offsets[COUNT(lengths) + 1] = {0};
    for (int s = 0; s < sequences; s++) offsets[s + 1] = offsets[s] + lengths[s];
    for (int hi = 0; hi < COUNT(hiddens); hi++)
        for (int pooling = SHOAL_POOL_MEAN; pooling <= SHOAL_POOL_MAX; pooling++)
            for (int normalize = 0; normalize < 2; normalize++) {
                int h = hiddens[hi];
                float *x = random_floats((size_t)offsets[sequences] * h, -1, 1.5f), *out = floats((size_t)sequences * h + GUARD);
                shoal_pool_tokens(sequences, offsets, h, x, pooling, normalize, out);
                double *want = malloc(sizeof(double) * h), *error = malloc(sizeof(double) * h);
                tally t = {0};
                for (int s = 0; s < sequences; s++) {
                    pool_ref(x + (size_t)offsets[s] * h, lengths[s], h, pooling, want, error);
                    double norm = 0, max_error = 0;
                    for (int j = 0; j < h; j++) {
                        norm += want[j] * want[j];
                        max_error = fmax(max_error, error[j]);
                    }
                    norm = sqrt(norm);
                    where("sequence %d (len %d) out[sequence][col]", s, lengths[s]);
                    for (int j = 0; j < h; j++) {
                        double w = normalize ? want[j] / norm : want[j];
                        double tol = normalize ? (error[j] + max_error) / norm + (h / 2.0 + 5) * U * fabs(w) : error[j];
                        compare(&t, s, j, out[(size_t)s * h + j], w, tol);
                    }
                }
                compare_untouched(&t, out + (size_t)sequences * h, GUARD);
                report(&t, "shoal_pool_tokens %s normalize=%d hidden=%d, lengths 1,4,33,70", POOLING_NAMES[pooling],
                       normalize, h);
                free(x);
                free(out);
                free(want);
                free(error);
            }
}

// MARK: - Capabilities

static const char *isa_name(int level) {
    return level == SHOAL_ISA_AVX512 ? "avx512" : level == SHOAL_ISA_AVX2 ? "avx2" : "generic";
}

// SHOAL_ISA, when it names a level this CPU has, is the level that runs: otherwise a run meant for one
// level would silently test another.
static void test_isa(void) {
    const char *requested = getenv("SHOAL_ISA");
    if (!requested || !*requested) return;
    int level = strcmp(requested, "generic") == 0 ? SHOAL_ISA_GENERIC
                : strcmp(requested, "avx2") == 0  ? SHOAL_ISA_AVX2
                : strcmp(requested, "avx512") == 0 ? SHOAL_ISA_AVX512
                                                   : -1;
    expect(level >= 0, "SHOAL_ISA=%s names a level (generic, avx2 or avx512)", requested);
    if (level >= 0 && level <= shoal_cpu_isa())
        expect(shoal_isa() == level, "SHOAL_ISA=%s runs level %s", requested, isa_name(shoal_isa()));
}

// The vector ceiling is positive exactly when the CPU has AVX2 + FMA (it ignores SHOAL_ISA by contract).
static void test_fma_peak(shoal_pool *pool) {
    double peak = shoal_fma_peak(pool, 0.01);
    if (shoal_cpu_isa() >= SHOAL_ISA_AVX2)
        expect(peak > 0, "shoal_fma_peak threads=%d = %.1f GFLOP/s, positive with AVX2 + FMA", shoal_pool_threads(pool), peak);
    else
        expect(peak == 0, "shoal_fma_peak threads=%d = %.1f GFLOP/s, 0 without AVX2 + FMA", shoal_pool_threads(pool), peak);
}

// MARK: - Main

static int kernel_tests(void) {
    printf("kernel tests at level %s (cpu: %s, SHOAL_ISA=%s), AMX %s\n", isa_name(shoal_isa()), isa_name(shoal_cpu_isa()),
           getenv("SHOAL_ISA") ? getenv("SHOAL_ISA") : "unset", shoal_has_amx() ? "available" : "not available");
    test_isa();
    for (int threads = 1; threads <= 3; threads++) test_pool(threads);
    test_pack();
    test_erf_gelu();
    test_softmax();
    test_epilogue();
    test_pool_tokens();
    for (int threads = 1; threads <= 2; threads++) {
        shoal_pool *pool = shoal_pool_create(threads);
        test_fma_peak(pool);
        test_layer_norm(pool);
        test_embed(pool);
        for (int amx = 0; amx <= 1; amx++) {
            if (amx && !shoal_has_amx()) {
                skip("AMX kernels threads=%d: this CPU, OS or SHOAL_ISA level runs no AMX tiles", threads);
                continue;
            }
            test_gemm_shapes(pool, amx);
            test_gemm_epilogues(pool, amx);
            test_gemm_chunks(pool, amx);
            test_gemm_blocks(pool, amx);
            test_attention(pool, amx);
        }
        shoal_pool_destroy(pool);
    }
    return summary("kernel tests", isa_name(shoal_isa()));
}

int main(int argc, char **argv) {
    int first = 1;
    if (argc > 1 && strcmp(argv[1], "-q") == 0) {
        set_quiet(1);
        first = 2;
    }
    int rest = argc - first;
    if (rest == 0) return kernel_tests();
    if ((rest == 3 || rest == 4) && strcmp(argv[first], "golden") == 0)
        return golden_check(argv[first + 1], argv[first + 2], rest == 4 ? atoi(argv[first + 3]) : 2, isa_name(shoal_isa()));
    fprintf(stderr, "usage: kernel_test [-q]\n       kernel_test [-q] golden MODEL_DIR FIXTURE_JSON [THREADS]\n");
    return 2;
}
