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

SHOAL_AVX2 static void layer_norm_row_avx2(int n, float *x, const float *gamma, const float *beta, float eps) {
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
#endif

static void layer_norm_row(int n, float *x, const float *gamma, const float *beta, float eps) {
    switch (shoal_isa()) {
#if defined(SHOAL_X86)
    case SHOAL_ISA_AVX512: layer_norm_row_avx512(n, x, gamma, beta, eps); return;
    case SHOAL_ISA_AVX2: layer_norm_row_avx2(n, x, gamma, beta, eps); return;
#endif
    default: layer_norm_row_portable(n, x, gamma, beta, eps);
    }
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
    int sequences, heads, head_dim, hidden, amx, head_major;
    const float *qkv;
    float *context, *scratch;
    size_t scratch_per_thread;
} attention_job;

static inline int round32(int len) { return (len + 31) / 32 * 32; }

size_t shoal_attention_scratch_count(int max_len, int head_dim) {
    size_t lp = (size_t)round32(max_len);
    size_t count = lp * (size_t)(head_dim + max_len) + (size_t)round32(head_dim) * (size_t)max_len;
    size_t amx = (shoal_amx_attention_scratch_bytes(max_len, head_dim) + 3) / 4;
    count = amx > count ? amx : count;
    return (count + 15) / 16 * 16;  // keeps every thread's share 64-byte aligned
}

// exp(row - max) in place over `len` scores; returns their sum.
static float softmax_row(float *row, int len) {
    switch (shoal_isa()) {
#if defined(SHOAL_X86)
    case SHOAL_ISA_AVX512: return shoal_softmax_row512(row, len);
    case SHOAL_ISA_AVX2: return shoal_softmax_row256(row, len);
#endif
    default: {
        float max = -FLT_MAX, sum = 0.0f;
        for (int j = 0; j < len; j++) max = row[j] > max ? row[j] : max;
        for (int j = 0; j < len; j++) sum += (row[j] = expf(row[j] - max));
        return sum;
    }
    }
}

// One head of one sequence: out[i] = softmax(q_i · keysᵀ) · values for the `len` rows of q, keys and
// values (`stride` floats apart, `d` each); out rows are `ldo` apart (the contract of
// shoal_amx_attention_head). Both products are GEMMs with the micro-kernel of shoal_isa(): the keys are
// packed as the "weights" of Q·Kᵀ, the values as those of P·V (a panel row of V is one token's head
// vector). `pack_keys` writes the keys' panels: panel row t holds dimension t of the panel's 32 keys.
typedef void (*pack_keys_fn)(const float *keys, size_t stride, int len, int d, float *packed);

static void pack_keys_portable(const float *keys, size_t stride, int len, int d, float *packed) {
    const int split = shoal_split_panels();
    for (int panel = 0; panel < round32(len) / 32; panel++) {
        float *dst = packed + (size_t)panel * 32 * d;
        for (int j = 0; j < 32; j++) {
            int key = panel * 32 + j;
            const float *src = keys + (size_t)key * stride;
            for (int t = 0; t < d; t++) dst[shoal_panel_offset(d, t, j, split)] = key < len ? src[t] : 0.0f;
        }
    }
}

static void attention_head_packed(const float *q, const float *keys, const float *values, size_t stride, int len,
                                  int d, float *out, size_t ldo, float *scratch, pack_keys_fn pack_keys) {
    int lp = round32(len), dp = round32(d);
    float *keys_packed = scratch, *scores = scratch + (size_t)lp * d, *values_packed = scores + (size_t)len * lp;
    pack_keys(keys, stride, len, d, keys_packed);
    gemm_job products = {len, len, d, (int)stride, 0, lp, SHOAL_ACT_NONE, 0, lp / 32, q, keys_packed, NULL, NULL,
                         scores, 0};
    for (int panel = 0; panel < lp / 32; panel++) shoal_gemm_block(&products, 0, len, panel);
    float sums[len];
    for (int i = 0; i < len; i++) sums[i] = softmax_row(scores + (size_t)i * lp, len);
    const int split = shoal_split_panels();
    for (int panel = 0; panel < dp / 32; panel++) {
        float *dst = values_packed + (size_t)panel * 32 * len;
        int cols = d - panel * 32 < 32 ? d - panel * 32 : 32;
        for (int j = 0; j < len; j++) {
            const float *v = values + (size_t)j * stride + panel * 32;
            for (int c = 0; c < 32; c++) dst[shoal_panel_offset(len, j, c, split)] = c < cols ? v[c] : 0.0f;
        }
    }
    gemm_job weighted = {len, d, len, lp, 0, (int)ldo, SHOAL_ACT_NONE, 0, dp / 32, scores, values_packed, NULL, NULL,
                         out, 0};
    for (int panel = 0; panel < dp / 32; panel++) shoal_gemm_block(&weighted, 0, len, panel);
    // The softmax's division: each output row by its sum of exponentials.
    for (int i = 0; i < len; i++) {
        float scale = 1.0f / sums[i], *o = out + (size_t)i * ldo;
        for (int t = 0; t < d; t++) o[t] *= scale;
    }
}

#if defined(SHOAL_X86)
// Transposes a 16 x 16 block: out row t, column j = in row j, column t. Rows of `in` are `ld` floats
// apart and only the first `rows` exist (the others read as zero); only the first `out_rows` rows of
// `out` are stored, 32 floats apart.
SHOAL_AVX512 static void transpose16_avx512(const float *in, size_t ld, int rows, __mmask16 cols, int out_rows,
                                            float *out) {
    __m512 r[16];
    for (int j = 0; j < 16; j++)
        r[j] = j < rows ? _mm512_maskz_loadu_ps(cols, in + (size_t)j * ld) : _mm512_setzero_ps();
    shoal_transpose16(r);
    for (int j = 0; j < out_rows; j++) _mm512_storeu_ps(out + (size_t)j * 32, r[j]);
}

// The keys' panels in 16 x 16 blocks.
SHOAL_AVX512 static void pack_keys_avx512(const float *keys, size_t stride, int len, int d, float *packed) {
    for (int panel = 0; panel < round32(len) / 32; panel++) {
        float *dst = packed + (size_t)panel * 32 * d;
        for (int half = 0; half < 2; half++) {
            int key0 = panel * 32 + half * 16, rows = len - key0 < 16 ? (len - key0 > 0 ? len - key0 : 0) : 16;
            for (int t0 = 0; t0 < d; t0 += 16)
                transpose16_avx512(keys + (size_t)key0 * stride + t0, stride, rows, shoal_mask(d - t0),
                                   d - t0 < 16 ? d - t0 : 16, dst + (size_t)t0 * 32 + half * 16);
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
    int d = job->head_dim, h = job->hidden;
    const float *q, *keys, *values;
    size_t stride;
    if (job->head_major) {  // 3 * heads matrices [tokens, d]: every head's queries, then keys, then values
        size_t matrix = (size_t)job->offsets[job->sequences] * d;
        q = job->qkv + head * matrix + (size_t)start * d;
        keys = q + (size_t)job->heads * matrix;
        values = keys + (size_t)job->heads * matrix;
        stride = (size_t)d;
    } else {  // rows [tokens, 3 * hidden]
        q = job->qkv + (size_t)start * 3 * h + head * d;
        keys = q + h;
        values = q + 2 * h;
        stride = (size_t)3 * h;
    }
    float *out = job->context + (size_t)start * h + head * d;
    if (job->amx) {
        shoal_amx_attention_head(q, keys, values, stride, len, d, out, (size_t)h, scratch);
        return;
    }
    pack_keys_fn pack_keys = pack_keys_portable;
#if defined(SHOAL_X86)
    if (shoal_isa() >= SHOAL_ISA_AVX512) pack_keys = pack_keys_avx512;
#endif
    attention_head_packed(q, keys, values, stride, len, d, out, (size_t)h, scratch, pack_keys);
}

void shoal_attention(shoal_pool *pool, int sequences, const int32_t *offsets, int heads, int head_dim,
                     const float *qkv, int head_major, float *context, float *scratch, int amx) {
    int max_len = 0;
    for (int s = 0; s < sequences; s++) {
        int len = offsets[s + 1] - offsets[s];
        max_len = len > max_len ? len : max_len;
    }
    attention_job job = {offsets, sequences, heads, head_dim, heads * head_dim, amx && shoal_has_amx(), head_major,
                         qkv, context, scratch, shoal_attention_scratch_count(max_len, head_dim)};
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
                for (int j = 0; j < hidden; j++) {
                    float v = rows[(size_t)t * hidden + j];
                    o[j] = v > o[j] ? v : o[j];
                }
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
