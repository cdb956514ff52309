// The portable kernels: plain C with no intrinsics, the reference every instruction set is tested against
// and what CPUs without AVX2 run (compilers vectorise it for SSE2 or NEON).
#include "internal.h"

#include <string.h>

static inline float activate(float v, int activation) {
    switch (activation) {
    case SHOAL_ACT_GELU: return shoal_gelu_scalar(v);
    case SHOAL_ACT_RELU: return v > 0.0f ? v : 0.0f;
    case SHOAL_ACT_TANH: return tanhf(v);
    default: return v;
    }
}

static void epilogue(int m, int n, float *x, int ldx, const float *bias, const float *residual, int ldr,
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

// Portable micro-kernel: 4 rows × 32 columns of accumulators in plain loops with constant bounds, which
// the compiler unrolls and vectorises for the target's vector unit.
#define PORTABLE_ROWS 4
static void gemm_block(const gemm_job *job, int row0, int rows, int panel) {
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
            epilogue(1, cols, c, 0, job->bias ? job->bias + col0 : NULL,
                              job->residual ? job->residual + (size_t)row * job->ldr + col0 : NULL, job->ldr,
                              job->activation);
        }
    }
}

static void layer_norm_row(int n, float *x, const float *gamma, const float *beta, float eps) {
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += x[j];
    float mean = sum / (float)n, squares = 0.0f;
    for (int j = 0; j < n; j++) squares += (x[j] - mean) * (x[j] - mean);
    float scale = 1.0f / sqrtf(squares / (float)n + eps);
    for (int j = 0; j < n; j++) x[j] = (x[j] - mean) * scale * gamma[j] + beta[j];
}

static float softmax_row(float *row, int len) {
    float max = -FLT_MAX, sum = 0.0f;
    for (int j = 0; j < len; j++) max = row[j] > max ? row[j] : max;
    for (int j = 0; j < len; j++) sum += (row[j] = expf(row[j] - max));
    return sum;
}

const shoal_kernel_set shoal_kernels_generic = {
    .split_panels = 0, .fma_lanes = 0, .gemm_block = gemm_block, .epilogue = epilogue,
    .layer_norm_row = layer_norm_row, .softmax_row = softmax_row, .pack_keys = NULL, .fma_chains = NULL,
};
