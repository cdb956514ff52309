// What the kernel files share: the GEMM job, the packed layout, the kernel sets of the instruction-set
// levels, scalar erf/GELU, the AVX-512 helpers the AMX kernels use too, and the target attributes.
#ifndef SHOAL_KERNELS_INTERNAL_H
#define SHOAL_KERNELS_INTERNAL_H

#include <float.h>
#include <math.h>

#if defined(__x86_64__)
#include <immintrin.h>
#define SHOAL_X86 1
#define SHOAL_AVX512 __attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma")))
#define SHOAL_AVX2 __attribute__((target("avx2,fma")))
#endif

#include "ShoalKernels.h"

// One GEMM call: c = act(a · packedᵀ + bias + residual), split into (row chunk, panel) tasks.
typedef struct {
    int m, n, k, lda, ldr, ldc, activation;
    int rows_per_chunk, panels;
    const float *a, *packed, *bias, *residual;
    float *c;
    int block;  // 0: c is row-major, ldc apart; else n / block matrices [m, block] (see shoal_gemm_blocks)
} gemm_job;

// Where row `row` of c, from column col0 on, is stored: row-major with leading dimension ldc when block
// is 0, else in column block col0 / block of n / block matrices [m, block] stored one after another.
static inline float *shoal_output_row(float *c, int ldc, int m, int block, int row, int col0) {
    if (!block) return c + (size_t)row * ldc + col0;
    return c + ((size_t)(col0 / block) * m + row) * block + col0 % block;
}

static inline int shoal_round32(int n) { return (n + 31) / 32 * 32; }

// Where row p (of k), column j (of 32) of a packed panel is stored: in rows of 32 columns, or split in two
// halves of 16 columns one after the other (k rows of 16 each), so that the AVX2 kernel, which covers half a
// panel per pass, reads one contiguous stream. Rows 128 bytes apart, of which each pass used 64, left half
// the L1 cache's sets unused and half of each line fetched from memory idle until the next pass.
static inline size_t shoal_panel_offset(int k, int p, int j, int split) {
    return split ? ((size_t)(j / 16) * (size_t)k + (size_t)p) * 16 + (size_t)(j % 16) : (size_t)p * SHOAL_PANEL + (size_t)j;
}

#define SHOAL_FMA_CHAINS 12  // independent accumulators of fma_chains: more than FMA latency × FMA units

// The kernels of one instruction-set level (kernels_generic.c, kernels_avx2.c, kernels_avx512.c), each
// tested against the portable set on the same inputs. shoal_kernels() is the set of shoal_isa(), which is read once.
typedef struct {
    int split_panels;  // its panels are packed as two 16-column halves (shoal_panel_offset)
    int fma_lanes;     // floats per fused multiply-add of its vector unit (0: none)
    /// Rows [row0, row0 + rows) of one 32-column panel of job's output.
    void (*gemm_block)(const gemm_job *job, int row0, int rows, int panel);
    void (*epilogue)(int m, int n, float *x, int ldx, const float *bias, const float *residual, int ldr, int activation);
    void (*layer_norm_row)(int n, float *x, const float *gamma, const float *beta, float eps);
    /// exp(row - max) in place over `len` scores; returns their sum.
    float (*softmax_row)(float *row, int len);
    /// Attention's keys as panels: panel row t holds dimension t of the panel's 32 keys (NULL: the portable packing).
    void (*pack_keys)(const float *keys, size_t stride, int len, int d, float *packed);
    /// `iterations` rounds of one FMA on each of SHOAL_FMA_CHAINS registers, no memory traffic (NULL: none).
    float (*fma_chains)(int64_t iterations);
} shoal_kernel_set;

extern const shoal_kernel_set shoal_kernels_generic;
#if defined(__x86_64__)
extern const shoal_kernel_set shoal_kernels_avx2, shoal_kernels_avx512;
#endif
const shoal_kernel_set *shoal_kernels(void);

// erf as a rational function on [-4, 4] (the approximation XLA and Eigen use, a few ulp from erff).
#define SHOAL_ERF_COEFFICIENTS                                                                             \
    const float a1 = -2.72614225801306e-10f, a3 = 2.77068142495902e-08f, a5 = -2.10102402082508e-06f;      \
    const float a7 = -5.69250639462346e-05f, a9 = -7.34990630326855e-04f, a11 = -2.95459980854025e-03f;    \
    const float a13 = -1.60960333262415e-02f;                                                             \
    const float b0 = -1.45660718464996e-05f, b2 = -2.13374055278905e-04f, b4 = -1.68282697438203e-03f;     \
    const float b6 = -7.37332916720468e-03f, b8 = -1.42647390514189e-02f;

static inline float shoal_erf_scalar(float x) {
    SHOAL_ERF_COEFFICIENTS
    x = fminf(fmaxf(x, -4.0f), 4.0f);
    float x2 = x * x;
    float p = fmaf(x2, a1, a3);
    p = fmaf(p, x2, a5);
    p = fmaf(p, x2, a7);
    p = fmaf(p, x2, a9);
    p = fmaf(p, x2, a11);
    p = fmaf(p, x2, a13);
    p *= x;
    float q = fmaf(x2, b0, b2);
    q = fmaf(q, x2, b4);
    q = fmaf(q, x2, b6);
    q = fmaf(q, x2, b8);
    return p / q;
}

static inline float shoal_gelu_scalar(float x) {
    return 0.5f * x * (1.0f + shoal_erf_scalar(x * 0.70710678118654752f));
}

#if defined(SHOAL_X86)
SHOAL_AVX512 static inline __m512 shoal_erf512(__m512 x) {
    SHOAL_ERF_COEFFICIENTS
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-4.0f)), _mm512_set1_ps(4.0f));
    __m512 x2 = _mm512_mul_ps(x, x);
    __m512 p = _mm512_fmadd_ps(x2, _mm512_set1_ps(a1), _mm512_set1_ps(a3));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(a5));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(a7));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(a9));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(a11));
    p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(a13));
    p = _mm512_mul_ps(p, x);
    __m512 q = _mm512_fmadd_ps(x2, _mm512_set1_ps(b0), _mm512_set1_ps(b2));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(b4));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(b6));
    q = _mm512_fmadd_ps(q, x2, _mm512_set1_ps(b8));
    // p / q as p · (1/q): a 14-bit reciprocal and one Newton step (about 1 ulp) instead of a division,
    // which is several times slower and dominated the GELU epilogue.
    __m512 r = _mm512_rcp14_ps(q);
    r = _mm512_fmadd_ps(_mm512_fnmadd_ps(q, r, _mm512_set1_ps(1.0f)), r, r);
    return _mm512_mul_ps(p, r);
}

SHOAL_AVX512 static inline __m512 shoal_gelu512(__m512 x) {
    __m512 e = shoal_erf512(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

// exp(x) for x <= 0 (softmax after subtracting the max): 2^n · p(r), |r| <= ln2/2, degree-6 polynomial.
SHOAL_AVX512 static inline __m512 shoal_exp512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

// Lanes of the first `remaining` elements of a vector of 16 (none when `remaining` is not positive).
SHOAL_AVX512 static inline __mmask16 shoal_mask(int remaining) {
    return remaining >= 16 ? (__mmask16)0xFFFF : remaining <= 0 ? 0 : (__mmask16)((1u << remaining) - 1u);
}

// exp(row - max) in place over `len` scores; returns their sum. The division by the sum is left to
// the caller, which applies it to the head's output rows (d values) instead of the len probabilities.
SHOAL_AVX512 static inline float shoal_softmax_row512(float *row, int len) {
    __m512 vmax = _mm512_set1_ps(-FLT_MAX);
    for (int j = 0; j < len; j += 16)
        vmax = _mm512_mask_max_ps(vmax, shoal_mask(len - j), vmax, _mm512_loadu_ps(row + j));
    __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax)), sum = _mm512_setzero_ps();
    for (int j = 0; j < len; j += 16) {
        __mmask16 m = shoal_mask(len - j);
        __m512 e = _mm512_maskz_mov_ps(m, shoal_exp512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, row + j), max)));
        _mm512_mask_storeu_ps(row + j, m, e);
        sum = _mm512_add_ps(sum, e);
    }
    return _mm512_reduce_add_ps(sum);
}

// Transposes 16 vectors of 16 lanes in place: afterwards lane j of r[t] holds what lane t of r[j] held.
SHOAL_AVX512 static inline void shoal_transpose16(__m512 r[16]) {
    __m512 t[16];
    // Interleave pairs of rows, then pairs of pairs (64-bit), then 128-bit lanes twice.
    for (int j = 0; j < 16; j += 2) {
        t[j] = _mm512_unpacklo_ps(r[j], r[j + 1]);
        t[j + 1] = _mm512_unpackhi_ps(r[j], r[j + 1]);
    }
    for (int j = 0; j < 16; j += 4) {
        r[j] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[j]), _mm512_castps_pd(t[j + 2])));
        r[j + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[j]), _mm512_castps_pd(t[j + 2])));
        r[j + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[j + 1]), _mm512_castps_pd(t[j + 3])));
        r[j + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[j + 1]), _mm512_castps_pd(t[j + 3])));
    }
    // r[4q + c] now holds, in its 128-bit lane l, column 4l + c of rows 4q..4q+3.
    for (int c = 0; c < 4; c++) {
        __m512 a = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88), b = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
        __m512 e = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88), f = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
        t[c] = _mm512_shuffle_f32x4(a, e, 0x88);       // column c
        t[8 + c] = _mm512_shuffle_f32x4(a, e, 0xDD);   // column 8 + c
        t[4 + c] = _mm512_shuffle_f32x4(b, f, 0x88);   // column 4 + c
        t[12 + c] = _mm512_shuffle_f32x4(b, f, 0xDD);  // column 12 + c
    }
    for (int j = 0; j < 16; j++) r[j] = t[j];
}

// Applies bias, residual and activation to 32 accumulated columns of one output row and stores the
// first `cols` of them.
SHOAL_AVX512 static inline void shoal_epilogue_row512(__m512 v0, __m512 v1, int row, int col0, int cols,
                                                      const float *bias, const float *residual, int ldr,
                                                      int activation, float *c) {
    const __mmask16 m0 = shoal_mask(cols), m1 = shoal_mask(cols - 16 > 0 ? cols - 16 : 0);
    if (bias) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, bias + col0));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, bias + col0 + 16));
    }
    if (residual) {
        const float *r = residual + (size_t)row * ldr + col0;
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, r));
        v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, r + 16));
    }
    if (activation == 1 /* GELU */) {
        v0 = shoal_gelu512(v0);
        v1 = shoal_gelu512(v1);
    } else if (activation == 2 /* RELU */) {
        v0 = _mm512_max_ps(v0, _mm512_setzero_ps());
        v1 = _mm512_max_ps(v1, _mm512_setzero_ps());
    }
    _mm512_mask_storeu_ps(c, m0, v0);
    _mm512_mask_storeu_ps(c + 16, m1, v1);
    if (activation == 3 /* TANH */) {
        for (int j = 0; j < cols; j++) c[j] = tanhf(c[j]);
    }
}
#endif

#endif
