// The AVX-512 kernels (F, DQ, BW, VL): 16 floats per vector. The GEMM micro-kernel keeps a 12 x 32 block of
// the output in 24 zmm registers, streams the packed panel (32 floats per k) and broadcasts one float of A
// per row and k; bias, residual and activation are applied before the single store.
#include "internal.h"

#if defined(SHOAL_X86)
#define ROWS 12  // output rows per micro-kernel call

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
SHOAL_AVX512 static void block12(const gemm_job *job, int row0, int rows, int panel) {
    switch (rows) {
        SHOAL_ROWS_CASE(1) SHOAL_ROWS_CASE(2) SHOAL_ROWS_CASE(3) SHOAL_ROWS_CASE(4)
        SHOAL_ROWS_CASE(5) SHOAL_ROWS_CASE(6) SHOAL_ROWS_CASE(7) SHOAL_ROWS_CASE(8)
        SHOAL_ROWS_CASE(9) SHOAL_ROWS_CASE(10) SHOAL_ROWS_CASE(11) SHOAL_ROWS_CASE(12)
    default: break;
    }
}

// Any number of rows, 12 at a time.
SHOAL_AVX512 static void gemm_block(const gemm_job *job, int row0, int rows, int panel) {
    for (int row = row0; row < row0 + rows; row += ROWS) block12(job, row, row0 + rows - row < ROWS ? row0 + rows - row : ROWS, panel);
}

SHOAL_AVX512 static void epilogue(int m, int n, float *x, int ldx, const float *bias, const float *residual,
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

SHOAL_AVX512 static void layer_norm_row(int n, float *x, const float *gamma, const float *beta, float eps) {
    __m512 sum = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) sum = _mm512_add_ps(sum, _mm512_maskz_loadu_ps(shoal_mask(n - j), x + j));
    float mean = _mm512_reduce_add_ps(sum) / (float)n;
    __m512 vmean = _mm512_set1_ps(mean), squares = _mm512_setzero_ps();
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = shoal_mask(n - j);
        __m512 d = _mm512_maskz_sub_ps(m, _mm512_maskz_loadu_ps(m, x + j), vmean);
        squares = _mm512_fmadd_ps(d, d, squares);
    }
    __m512 scale = _mm512_set1_ps(1.0f / sqrtf(_mm512_reduce_add_ps(squares) / (float)n + eps));
    for (int j = 0; j < n; j += 16) {
        __mmask16 m = shoal_mask(n - j);
        __m512 d = _mm512_mul_ps(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + j), vmean), scale);
        __m512 y = _mm512_fmadd_ps(d, _mm512_maskz_loadu_ps(m, gamma + j), _mm512_maskz_loadu_ps(m, beta + j));
        _mm512_mask_storeu_ps(x + j, m, y);
    }
}

SHOAL_AVX512 static float softmax_row(float *row, int len) { return shoal_softmax_row512(row, len); }

// Transposes a 16 x 16 block: out row t, column j = in row j, column t. Rows of `in` are `ld` floats
// apart and only the first `rows` exist (the others read as zero); only the first `out_rows` rows of
// `out` are stored, 32 floats apart.
SHOAL_AVX512 static void transpose16(const float *in, size_t ld, int rows, __mmask16 cols, int out_rows,
                                            float *out) {
    __m512 r[16];
    for (int j = 0; j < 16; j++)
        r[j] = j < rows ? _mm512_maskz_loadu_ps(cols, in + (size_t)j * ld) : _mm512_setzero_ps();
    shoal_transpose16(r);
    for (int j = 0; j < out_rows; j++) _mm512_storeu_ps(out + (size_t)j * 32, r[j]);
}

// The keys' panels in 16 x 16 blocks.
SHOAL_AVX512 static void pack_keys(const float *keys, size_t stride, int len, int d, float *packed) {
    for (int panel = 0; panel < shoal_round32(len) / 32; panel++) {
        float *dst = packed + (size_t)panel * 32 * d;
        for (int half = 0; half < 2; half++) {
            int key0 = panel * 32 + half * 16, rows = len - key0 < 16 ? (len - key0 > 0 ? len - key0 : 0) : 16;
            for (int t0 = 0; t0 < d; t0 += 16)
                transpose16(keys + (size_t)key0 * stride + t0, stride, rows, shoal_mask(d - t0),
                                   d - t0 < 16 ? d - t0 : 16, dst + (size_t)t0 * 32 + half * 16);
        }
    }
}

// Runs `iterations` rounds of one fused multiply-add on each of SHOAL_FMA_CHAINS vector registers, with no
// memory traffic; returns their sum so that none of the work can be dropped (shoal_fma_peak).
SHOAL_AVX512 static float fma_chains(int64_t iterations) {
    __m512 acc[SHOAL_FMA_CHAINS], x = _mm512_set1_ps(0.999f), y = _mm512_set1_ps(1e-3f);
    for (int j = 0; j < SHOAL_FMA_CHAINS; j++) acc[j] = _mm512_set1_ps((float)j);
    for (int64_t i = 0; i < iterations; i++)
        for (int j = 0; j < SHOAL_FMA_CHAINS; j++) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
    for (int j = 1; j < SHOAL_FMA_CHAINS; j++) acc[0] = _mm512_add_ps(acc[0], acc[j]);
    return _mm512_reduce_add_ps(acc[0]);
}

const shoal_kernel_set shoal_kernels_avx512 = {
    .split_panels = 0, .fma_lanes = 16, .gemm_block = gemm_block, .epilogue = epilogue,
    .layer_norm_row = layer_norm_row, .softmax_row = softmax_row, .pack_keys = pack_keys, .fma_chains = fma_chains,
};
#endif
