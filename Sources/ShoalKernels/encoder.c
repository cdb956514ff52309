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
        shoal_kernels()->layer_norm_row(job->n, job->x + (size_t)r * job->n, job->gamma, job->beta, job->eps);
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
        shoal_kernels()->layer_norm_row(h, row, job->gamma, job->beta, job->eps);
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

size_t shoal_attention_scratch_count(int max_len, int head_dim) {
    size_t lp = (size_t)shoal_round32(max_len);
    size_t count = lp * (size_t)(head_dim + max_len) + (size_t)shoal_round32(head_dim) * (size_t)max_len;
    size_t amx = (shoal_amx_attention_scratch_bytes(max_len, head_dim) + 3) / 4;
    count = amx > count ? amx : count;
    return (count + 15) / 16 * 16;  // keeps every thread's share 64-byte aligned
}

// Attention's keys as panels in the layout of `split` (shoal_panel_offset): panel row t holds dimension t of
// the panel's 32 keys.
static void pack_keys_portable(const float *keys, size_t stride, int len, int d, float *packed, int split) {
    for (int panel = 0; panel < shoal_round32(len) / 32; panel++) {
        float *dst = packed + (size_t)panel * 32 * d;
        for (int j = 0; j < 32; j++) {
            int key = panel * 32 + j;
            const float *src = keys + (size_t)key * stride;
            for (int t = 0; t < d; t++) dst[shoal_panel_offset(d, t, j, split)] = key < len ? src[t] : 0.0f;
        }
    }
}

// One head of one sequence: out[i] = softmax(q_i · keysᵀ) · values for the `len` rows of q, keys and
// values (`stride` floats apart, `d` each); out rows are `ldo` apart (the contract of
// shoal_amx_attention_head). Both products are GEMMs with the kernels of `set`: the keys are packed as the
// "weights" of Q·Kᵀ, the values as those of P·V (a panel row of V is one token's head vector).
static void attention_head_packed(const shoal_kernel_set *set, const float *q, const float *keys, const float *values,
                                  size_t stride, int len, int d, float *out, size_t ldo, float *scratch) {
    int lp = shoal_round32(len), dp = shoal_round32(d);
    float *keys_packed = scratch, *scores = scratch + (size_t)lp * d, *values_packed = scores + (size_t)len * lp;
    if (set->pack_keys) set->pack_keys(keys, stride, len, d, keys_packed);
    else pack_keys_portable(keys, stride, len, d, keys_packed, set->split_panels);
    gemm_job products = {len, len, d, (int)stride, 0, lp, SHOAL_ACT_NONE, 0, lp / 32, q, keys_packed, NULL, NULL,
                         scores, 0};
    for (int panel = 0; panel < lp / 32; panel++) set->gemm_block(&products, 0, len, panel);
    float sums[len];
    for (int i = 0; i < len; i++) sums[i] = set->softmax_row(scores + (size_t)i * lp, len);
    const int split = set->split_panels;
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
    for (int panel = 0; panel < dp / 32; panel++) set->gemm_block(&weighted, 0, len, panel);
    // The softmax's division: each output row by its sum of exponentials.
    for (int i = 0; i < len; i++) {
        float scale = 1.0f / sums[i], *o = out + (size_t)i * ldo;
        for (int t = 0; t < d; t++) o[t] *= scale;
    }
}

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
    attention_head_packed(shoal_kernels(), q, keys, values, stride, len, d, out, (size_t)h, scratch);
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
