// The AVX2 + FMA kernels: 8 floats per vector. The GEMM micro-kernel covers half a panel (16 columns, 2 ymm
// registers per row) for 6 rows at a time: 12 accumulators, 2 weight vectors and 1 broadcast fill 15 of the
// 16 ymm registers. Its panels are packed as two 16-column halves one after the other (split_panels, see
// shoal_panel_offset), so that a pass reads one contiguous stream.
#include "internal.h"

#if defined(SHOAL_X86)
// Lanes of the first `remaining` elements of a vector of 8, as maskload/maskstore take them.
SHOAL_AVX2 static inline __m256i shoal_mask256(int remaining) {
    static const int32_t table[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};
    int r = remaining < 0 ? 0 : remaining > 8 ? 8 : remaining;
    return _mm256_loadu_si256((const __m256i *)(table + 8 - r));
}

SHOAL_AVX2 static inline float shoal_hsum256(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SHOAL_AVX2 static inline float shoal_hmax256(__m256 v) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

SHOAL_AVX2 static inline __m256 shoal_erf256(__m256 x) {
    SHOAL_ERF_COEFFICIENTS
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-4.0f)), _mm256_set1_ps(4.0f));
    __m256 x2 = _mm256_mul_ps(x, x);
    __m256 p = _mm256_fmadd_ps(x2, _mm256_set1_ps(a1), _mm256_set1_ps(a3));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a5));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a7));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a9));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a11));
    p = _mm256_fmadd_ps(p, x2, _mm256_set1_ps(a13));
    p = _mm256_mul_ps(p, x);
    __m256 q = _mm256_fmadd_ps(x2, _mm256_set1_ps(b0), _mm256_set1_ps(b2));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(b4));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(b6));
    q = _mm256_fmadd_ps(q, x2, _mm256_set1_ps(b8));
    // p / q as p · (1/q): a 12-bit reciprocal and one Newton step (about 2 ulp), as in shoal_erf512.
    __m256 r = _mm256_rcp_ps(q);
    r = _mm256_fmadd_ps(_mm256_fnmadd_ps(q, r, _mm256_set1_ps(1.0f)), r, r);
    return _mm256_mul_ps(p, r);
}

SHOAL_AVX2 static inline __m256 shoal_gelu256(__m256 x) {
    __m256 e = shoal_erf256(_mm256_mul_ps(x, _mm256_set1_ps(0.70710678118654752f)));
    return _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), x), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

// exp(x) for x <= 0, as shoal_exp512; 2^n is built in the exponent bits (n >= -126 after the clamp).
SHOAL_AVX2 static inline __m256 shoal_exp256(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

// exp(row - max) in place over `len` scores; returns their sum (see shoal_softmax_row512).
SHOAL_AVX2 static inline float shoal_softmax_row256(float *row, int len) {
    const __m256 lowest = _mm256_set1_ps(-FLT_MAX);
    __m256 vmax = lowest;
    for (int j = 0; j < len; j += 8) {
        __m256i m = shoal_mask256(len - j);
        vmax = _mm256_max_ps(vmax, _mm256_blendv_ps(lowest, _mm256_maskload_ps(row + j, m), _mm256_castsi256_ps(m)));
    }
    __m256 max = _mm256_set1_ps(shoal_hmax256(vmax)), sum = _mm256_setzero_ps();
    for (int j = 0; j < len; j += 8) {
        __m256i m = shoal_mask256(len - j);
        __m256 e = _mm256_and_ps(shoal_exp256(_mm256_sub_ps(_mm256_maskload_ps(row + j, m), max)), _mm256_castsi256_ps(m));
        _mm256_maskstore_ps(row + j, m, e);
        sum = _mm256_add_ps(sum, e);
    }
    return shoal_hsum256(sum);
}

// Applies bias, residual and activation to 16 accumulated columns of one output row and stores the
// first `cols` of them (see shoal_epilogue_row512).
SHOAL_AVX2 static inline void shoal_epilogue_row256(__m256 v0, __m256 v1, int row, int col0, int cols,
                                                    const float *bias, const float *residual, int ldr,
                                                    int activation, float *c) {
    const __m256i m0 = shoal_mask256(cols), m1 = shoal_mask256(cols - 8);
    if (bias) {
        v0 = _mm256_add_ps(v0, _mm256_maskload_ps(bias + col0, m0));
        v1 = _mm256_add_ps(v1, _mm256_maskload_ps(bias + col0 + 8, m1));
    }
    if (residual) {
        const float *r = residual + (size_t)row * ldr + col0;
        v0 = _mm256_add_ps(v0, _mm256_maskload_ps(r, m0));
        v1 = _mm256_add_ps(v1, _mm256_maskload_ps(r + 8, m1));
    }
    if (activation == 1 /* GELU */) {
        v0 = shoal_gelu256(v0);
        v1 = shoal_gelu256(v1);
    } else if (activation == 2 /* RELU */) {
        v0 = _mm256_max_ps(v0, _mm256_setzero_ps());
        v1 = _mm256_max_ps(v1, _mm256_setzero_ps());
    }
    if (cols >= 16) {
        _mm256_storeu_ps(c, v0);
        _mm256_storeu_ps(c + 8, v1);
    } else {
        _mm256_maskstore_ps(c, m0, v0);
        _mm256_maskstore_ps(c + 8, m1, v1);
    }
    if (activation == 3 /* TANH */) {
        for (int j = 0; j < cols && j < 16; j++) c[j] = tanhf(c[j]);
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
SHOAL_AVX2 static void gemm_block(const gemm_job *job, int row0, int rows, int panel) {
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

SHOAL_AVX2 static void epilogue(int m, int n, float *x, int ldx, const float *bias, const float *residual,
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

SHOAL_AVX2 static void layer_norm_row(int n, float *x, const float *gamma, const float *beta, float eps) {
    __m256 sum = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) sum = _mm256_add_ps(sum, _mm256_maskload_ps(x + j, shoal_mask256(n - j)));
    float mean = shoal_hsum256(sum) / (float)n;
    __m256 vmean = _mm256_set1_ps(mean), squares = _mm256_setzero_ps();
    for (int j = 0; j < n; j += 8) {
        __m256i m = shoal_mask256(n - j);
        __m256 d = _mm256_and_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmean), _mm256_castsi256_ps(m));
        squares = _mm256_fmadd_ps(d, d, squares);
    }
    __m256 scale = _mm256_set1_ps(1.0f / sqrtf(shoal_hsum256(squares) / (float)n + eps));
    for (int j = 0; j < n; j += 8) {
        __m256i m = shoal_mask256(n - j);
        __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmean), scale);
        __m256 y = _mm256_fmadd_ps(d, _mm256_maskload_ps(gamma + j, m), _mm256_maskload_ps(beta + j, m));
        _mm256_maskstore_ps(x + j, m, y);
    }
}

SHOAL_AVX2 static float softmax_row(float *row, int len) { return shoal_softmax_row256(row, len); }

// Runs `iterations` rounds of one fused multiply-add on each of SHOAL_FMA_CHAINS vector registers, with no
// memory traffic; returns their sum so that none of the work can be dropped (shoal_fma_peak).
SHOAL_AVX2 static float fma_chains(int64_t iterations) {
    __m256 acc[SHOAL_FMA_CHAINS], x = _mm256_set1_ps(0.999f), y = _mm256_set1_ps(1e-3f);
    for (int j = 0; j < SHOAL_FMA_CHAINS; j++) acc[j] = _mm256_set1_ps((float)j);
    for (int64_t i = 0; i < iterations; i++)
        for (int j = 0; j < SHOAL_FMA_CHAINS; j++) acc[j] = _mm256_fmadd_ps(acc[j], x, y);
    float lanes[8];
    for (int j = 1; j < SHOAL_FMA_CHAINS; j++) acc[0] = _mm256_add_ps(acc[0], acc[j]);
    _mm256_storeu_ps(lanes, acc[0]);
    return lanes[0] + lanes[1] + lanes[2] + lanes[3] + lanes[4] + lanes[5] + lanes[6] + lanes[7];
}

const shoal_kernel_set shoal_kernels_avx2 = {
    .split_panels = 1, .fma_lanes = 8, .gemm_block = gemm_block, .epilogue = epilogue,
    .layer_norm_row = layer_norm_row, .softmax_row = softmax_row, .pack_keys = NULL, .fma_chains = fma_chains,
};
#endif
