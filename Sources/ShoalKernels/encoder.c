// Per-token operations of a transformer encoder: embeddings, layer norm, padding-free attention and
// pooling. Rows are split into tasks of the pool; attention runs one task per (sequence, head).
#include "ShoalKernels.h"
#include "internal.h"

#include <float.h>
#include <string.h>

enum { ROWS_PER_TASK = 16 };

float shoal_erf(float x) { return shoal_erf_scalar(x); }
float shoal_gelu(float x) { return shoal_gelu_scalar(x); }

// MARK: - Layer norm

static void layer_norm_row_portable(int n, float *x, const float *gamma, const float *beta, float eps) {
    float sum = 0.0f;
    for (int j = 0; j < n; j++) sum += x[j];
    float mean = sum / (float)n, squares = 0.0f;
    for (int j = 0; j < n; j++) squares += (x[j] - mean) * (x[j] - mean);
    float scale = 1.0f / sqrtf(squares / (float)n + eps);
    for (int j = 0; j < n; j++) x[j] = (x[j] - mean) * scale * gamma[j] + beta[j];
}

#if defined(SHOAL_X86)
SHOAL_AVX512 static void layer_norm_row_avx512(int n, float *x, const float *gamma, const float *beta, float eps) {
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
#endif

static void layer_norm_row(int n, float *x, const float *gamma, const float *beta, float eps) {
#if defined(SHOAL_X86)
    if (shoal_has_avx512()) {
        layer_norm_row_avx512(n, x, gamma, beta, eps);
        return;
    }
#endif
    layer_norm_row_portable(n, x, gamma, beta, eps);
}

typedef struct {
    int rows, n;
    float *x;
    const float *gamma, *beta;
    float eps;
} norm_job;

static void norm_task(void *context, int64_t index, int thread) {
    (void)thread;
    const norm_job *job = context;
    int end = (int)(index + 1) * ROWS_PER_TASK < job->rows ? (int)(index + 1) * ROWS_PER_TASK : job->rows;
    for (int r = (int)index * ROWS_PER_TASK; r < end; r++)
        layer_norm_row(job->n, job->x + (size_t)r * job->n, job->gamma, job->beta, job->eps);
}

static int64_t row_tasks(int rows) { return (rows + ROWS_PER_TASK - 1) / ROWS_PER_TASK; }

void shoal_layer_norm(shoal_pool *pool, int rows, int n, float *x, const float *gamma, const float *beta,
                      float eps) {
    norm_job job = {rows, n, x, gamma, beta, eps};
    shoal_pool_run(pool, row_tasks(rows), norm_task, &job);
}

// MARK: - Embeddings

typedef struct {
    int tokens, hidden;
    const int32_t *ids, *positions, *type_ids;
    const float *word, *position, *type, *gamma, *beta;
    float eps;
    float *out;
} embed_job;

static void embed_task(void *context, int64_t index, int thread) {
    (void)thread;
    const embed_job *job = context;
    int h = job->hidden;
    int end = (int)(index + 1) * ROWS_PER_TASK < job->tokens ? (int)(index + 1) * ROWS_PER_TASK : job->tokens;
    for (int t = (int)index * ROWS_PER_TASK; t < end; t++) {
        float *row = job->out + (size_t)t * h;
        const float *w = job->word + (size_t)job->ids[t] * h;
        const float *p = job->position + (size_t)job->positions[t] * h;
        const float *ty = job->type ? job->type + (size_t)(job->type_ids ? job->type_ids[t] : 0) * h : NULL;
        for (int j = 0; j < h; j++) row[j] = w[j] + p[j] + (ty ? ty[j] : 0.0f);
        layer_norm_row(h, row, job->gamma, job->beta, job->eps);
    }
}

void shoal_embed(shoal_pool *pool, int tokens, int hidden, const int32_t *ids, const int32_t *positions,
                 const int32_t *type_ids, const float *word, const float *position, const float *type,
                 const float *gamma, const float *beta, float eps, float *out) {
    embed_job job = {tokens, hidden, ids, positions, type_ids, word, position, type, gamma, beta, eps, out};
    shoal_pool_run(pool, row_tasks(tokens), embed_task, &job);
}

// MARK: - Attention

typedef struct {
    const int32_t *offsets;
    int heads, head_dim, hidden;
    const float *qkv;
    float *context, *scratch;
    size_t scratch_per_thread;
} attention_job;

static inline int padded(int len) { return (len + 15) / 16 * 16; }

size_t shoal_attention_scratch_count(int max_len, int head_dim) {
    return (size_t)padded(max_len) * (size_t)(head_dim + 1) + 64;
}

static void attention_head_portable(const attention_job *job, int start, int len, int head, float *scores) {
    int d = job->head_dim, h = job->hidden, stride = 3 * h;
    for (int i = 0; i < len; i++) {
        const float *q = job->qkv + (size_t)(start + i) * stride + head * d;
        float max = -FLT_MAX;
        for (int j = 0; j < len; j++) {
            const float *k = job->qkv + (size_t)(start + j) * stride + h + head * d;
            float s = 0.0f;
            for (int t = 0; t < d; t++) s += q[t] * k[t];
            scores[j] = s;
            max = s > max ? s : max;
        }
        float sum = 0.0f;
        for (int j = 0; j < len; j++) sum += (scores[j] = expf(scores[j] - max));
        float *out = job->context + (size_t)(start + i) * h + head * d;
        for (int t = 0; t < d; t++) out[t] = 0.0f;
        for (int j = 0; j < len; j++) {
            const float *v = job->qkv + (size_t)(start + j) * stride + 2 * h + head * d;
            float p = scores[j] / sum;
            for (int t = 0; t < d; t++) out[t] += p * v[t];
        }
    }
}

#if defined(SHOAL_X86)
// scores[0, 16 * vectors) for one query against keys stored transposed (kt[t * lp + j]).
SHOAL_AVX512 static inline __attribute__((always_inline)) void
scores_block(const float *q, const float *kt, int lp, int d, const int vectors, float *scores) {
    __m512 acc[8];
    for (int u = 0; u < vectors; u++) acc[u] = _mm512_setzero_ps();
    for (int t = 0; t < d; t++) {
        __m512 qt = _mm512_set1_ps(q[t]);
        for (int u = 0; u < vectors; u++)
            acc[u] = _mm512_fmadd_ps(qt, _mm512_loadu_ps(kt + (size_t)t * lp + 16 * u), acc[u]);
    }
    for (int u = 0; u < vectors; u++) _mm512_storeu_ps(scores + 16 * u, acc[u]);
}

#define SHOAL_SCORES_CASE(v) case v: scores_block(q, kt + j, lp, d, v, scores + j); break;

// out[0, 16 * parts) = sum_j p[j] * v_j, for a head of 16 * parts dimensions.
SHOAL_AVX512 static inline __attribute__((always_inline)) void
weighted_values(const float *p, const float *v, int stride, int len, const int parts, float scale, float *out) {
    __m512 acc[8];
    for (int u = 0; u < parts; u++) acc[u] = _mm512_setzero_ps();
    for (int j = 0; j < len; j++) {
        __m512 pj = _mm512_set1_ps(p[j]);
        for (int u = 0; u < parts; u++)
            acc[u] = _mm512_fmadd_ps(pj, _mm512_loadu_ps(v + (size_t)j * stride + 16 * u), acc[u]);
    }
    __m512 s = _mm512_set1_ps(scale);
    for (int u = 0; u < parts; u++) _mm512_storeu_ps(out + 16 * u, _mm512_mul_ps(acc[u], s));
}

SHOAL_AVX512 static void attention_head_avx512(const attention_job *job, int start, int len, int head, float *scratch) {
    int d = job->head_dim, h = job->hidden, stride = 3 * h, lp = padded(len);
    float *kt = scratch, *scores = scratch + (size_t)d * lp;
    const float *keys = job->qkv + (size_t)start * stride + h + head * d;
    for (int t = 0; t < d; t++) {
        for (int j = 0; j < len; j++) kt[(size_t)t * lp + j] = keys[(size_t)j * stride + t];
        for (int j = len; j < lp; j++) kt[(size_t)t * lp + j] = 0.0f;
    }
    const float *values = job->qkv + (size_t)start * stride + 2 * h + head * d;
    for (int i = 0; i < len; i++) {
        const float *q = job->qkv + (size_t)(start + i) * stride + head * d;
        for (int j = 0; j < lp; j += 128) {
            int vectors = (lp - j) / 16 < 8 ? (lp - j) / 16 : 8;
            switch (vectors) {
                SHOAL_SCORES_CASE(1) SHOAL_SCORES_CASE(2) SHOAL_SCORES_CASE(3) SHOAL_SCORES_CASE(4)
                SHOAL_SCORES_CASE(5) SHOAL_SCORES_CASE(6) SHOAL_SCORES_CASE(7) SHOAL_SCORES_CASE(8)
            default: break;
            }
        }
        __m512 vmax = _mm512_set1_ps(-FLT_MAX);
        for (int j = 0; j < len; j += 16)
            vmax = _mm512_mask_max_ps(vmax, shoal_mask(len - j), vmax, _mm512_loadu_ps(scores + j));
        __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(vmax)), sum = _mm512_setzero_ps();
        for (int j = 0; j < len; j += 16) {
            __mmask16 m = shoal_mask(len - j);
            __m512 e = _mm512_maskz_mov_ps(m, shoal_exp512(_mm512_sub_ps(_mm512_loadu_ps(scores + j), max)));
            _mm512_storeu_ps(scores + j, e);
            sum = _mm512_add_ps(sum, e);
        }
        float scale = 1.0f / _mm512_reduce_add_ps(sum);
        float *out = job->context + (size_t)(start + i) * h + head * d;
        switch (d / 16) {
        case 1: weighted_values(scores, values, stride, len, 1, scale, out); break;
        case 2: weighted_values(scores, values, stride, len, 2, scale, out); break;
        case 4: weighted_values(scores, values, stride, len, 4, scale, out); break;
        case 8: weighted_values(scores, values, stride, len, 8, scale, out); break;
        default: break;
        }
    }
}
#endif

static void attention_task(void *context, int64_t index, int thread) {
    const attention_job *job = context;
    int sequence = (int)(index / job->heads), head = (int)(index % job->heads);
    int start = job->offsets[sequence], len = job->offsets[sequence + 1] - start;
    float *scratch = job->scratch + job->scratch_per_thread * (size_t)thread;
    if (len <= 0) return;
#if defined(SHOAL_X86)
    int d = job->head_dim;
    if (shoal_has_avx512() && d % 16 == 0 && (d / 16 == 1 || d / 16 == 2 || d / 16 == 4 || d / 16 == 8)) {
        attention_head_avx512(job, start, len, head, scratch);
        return;
    }
#endif
    attention_head_portable(job, start, len, head, scratch);
}

void shoal_attention(shoal_pool *pool, int sequences, const int32_t *offsets, int heads, int head_dim,
                     const float *qkv, float *context, float *scratch) {
    int max_len = 0;
    for (int s = 0; s < sequences; s++) {
        int len = offsets[s + 1] - offsets[s];
        max_len = len > max_len ? len : max_len;
    }
    attention_job job = {offsets, heads, head_dim, heads * head_dim, qkv, context, scratch,
                         shoal_attention_scratch_count(max_len, head_dim)};
    shoal_pool_run(pool, (int64_t)sequences * heads, attention_task, &job);
}

// MARK: - Pooling and softmax

void shoal_pool_tokens(int sequences, const int32_t *offsets, int hidden, const float *x, int pooling,
                       int normalize, float *out) {
    for (int s = 0; s < sequences; s++) {
        int start = offsets[s], len = offsets[s + 1] - start;
        float *o = out + (size_t)s * hidden;
        const float *rows = x + (size_t)start * hidden;
        if (pooling == SHOAL_POOL_CLS || len <= 0) {
            if (len > 0) memcpy(o, rows, sizeof(float) * (size_t)hidden);
            else memset(o, 0, sizeof(float) * (size_t)hidden);
        } else if (pooling == SHOAL_POOL_MAX) {
            memcpy(o, rows, sizeof(float) * (size_t)hidden);
            for (int t = 1; t < len; t++)
                for (int j = 0; j < hidden; j++) o[j] = rows[(size_t)t * hidden + j] > o[j] ? rows[(size_t)t * hidden + j] : o[j];
        } else {
            memset(o, 0, sizeof(float) * (size_t)hidden);
            for (int t = 0; t < len; t++)
                for (int j = 0; j < hidden; j++) o[j] += rows[(size_t)t * hidden + j];
            for (int j = 0; j < hidden; j++) o[j] /= (float)len;
        }
        if (normalize) {
            float squares = 0.0f;
            for (int j = 0; j < hidden; j++) squares += o[j] * o[j];
            float norm = sqrtf(squares);
            float scale = 1.0f / (norm > 1e-12f ? norm : 1e-12f);
            for (int j = 0; j < hidden; j++) o[j] *= scale;
        }
    }
}

void shoal_softmax_rows(int rows, int n, float *x) {
    for (int r = 0; r < rows; r++) {
        float *row = x + (size_t)r * n, max = -FLT_MAX, sum = 0.0f;
        for (int j = 0; j < n; j++) max = row[j] > max ? row[j] : max;
        for (int j = 0; j < n; j++) sum += (row[j] = expf(row[j] - max));
        for (int j = 0; j < n; j++) row[j] /= sum;
    }
}
