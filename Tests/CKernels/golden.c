// The golden check of kernel_test (see golden.h): a BERT forward pass written with the kernels only, as
// the engine runs it (weights packed by shoal_pack, queries pre-scaled by 1/√head_dim, all sequences in
// one padding-free batch), read with a minimal JSON scanner and safetensors reader.
//
// Layers alternate the two layouts of the queries, keys and values (even layers: shoal_gemm_blocks and
// head-major attention, as the engine runs head dimensions that are multiples of 32; odd layers:
// shoal_gemm rows), so one pass checks both attention paths on real activations.
#include "golden.h"

#include "ShoalKernels.h"
#include "check.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_ABS_DIFFERENCE 1e-4
#define MIN_COSINE 0.99999

// MARK: - Minimal JSON

// The whole file, NUL-terminated (strtod may then read past any number); NULL when unreadable.
static char *read_text(const char *path, size_t *size) {
    FILE *file = fopen(path, "rb");
    if (!file) return NULL;
    char *text = NULL;
    long length = fseek(file, 0, SEEK_END) == 0 ? ftell(file) : -1;
    if (length >= 0 && fseek(file, 0, SEEK_SET) == 0 && (text = malloc((size_t)length + 1))) {
        if (fread(text, 1, (size_t)length, file) == (size_t)length) {
            text[length] = 0;
            *size = (size_t)length;
        } else {
            free(text);
            text = NULL;
        }
    }
    fclose(file);
    return text;
}

// Skips one string token starting at its opening quote; returns the position after its closing quote.
static const char *skip_string(const char *p, const char *end) {
    for (p++; p < end && *p != '"'; p += *p == '\\' ? 2 : 1) {}
    return p < end ? p + 1 : end;
}

// The value of the next object key equal to `key` at or after p (strings are skipped whole, so text
// inside values never matches); NULL when there is none before end.
static const char *json_value(const char *p, const char *end, const char *key) {
    size_t length = strlen(key);
    while (p < end) {
        if (*p != '"') {
            p++;
            continue;
        }
        const char *start = p + 1;
        p = skip_string(p, end);
        const char *after = p;
        while (after < end && isspace((unsigned char)*after)) after++;
        if (after < end && *after == ':' && (size_t)(p - 1 - start) == length && memcmp(start, key, length) == 0) {
            for (after++; after < end && isspace((unsigned char)*after); after++) {}
            return after;
        }
    }
    return NULL;
}

// The end of the object or array that starts at p: after its matching bracket.
static const char *json_skip_container(const char *p, const char *end) {
    int depth = 0;
    while (p < end) {
        if (*p == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (*p == '{' || *p == '[') depth++;
        if ((*p == '}' || *p == ']') && --depth == 0) return p + 1;
        p++;
    }
    return end;
}

// Reads the array of numbers at p into out (at most max); returns how many, or -1 when p holds no such
// array or it has more than max.
static int json_numbers(const char *p, const char *end, double *out, int max) {
    if (!p || p >= end || *p != '[') return -1;
    int count = 0;
    for (p++;;) {
        while (p < end && isspace((unsigned char)*p)) p++;
        if (p < end && *p == ']') return count;
        char *next;
        double value = strtod(p, &next);
        if (next == p || count == max) return -1;
        out[count++] = value;
        for (p = next; p < end && isspace((unsigned char)*p); p++) {}
        if (p < end && *p == ',') p++;
        else if (p >= end || *p != ']') return -1;
    }
}

static int json_number(const char *text, const char *end, const char *key, double *value) {
    const char *p = json_value(text, end, key);
    char *next;
    if (!p) return 0;
    *value = strtod(p, &next);
    return next != p;
}

// MARK: - Safetensors

typedef struct {
    FILE *file;
    char *header;
    const char *header_end;
    long data_start;
    const char *path;
} safetensors;

static int open_safetensors(safetensors *st, const char *path) {
    unsigned char size_bytes[8];
    st->path = path;
    st->header = NULL;
    if (!(st->file = fopen(path, "rb")) || fread(size_bytes, 1, 8, st->file) != 8) return 0;
    uint64_t size = 0;
    for (int i = 7; i >= 0; i--) size = size << 8 | size_bytes[i];  // little-endian
    if (size == 0 || size > (1u << 26) || !(st->header = malloc(size + 1))) return 0;
    if (fread(st->header, 1, size, st->file) != size) return 0;
    st->header[size] = 0;
    st->header_end = st->header + size;
    st->data_start = (long)(8 + size);
    return 1;
}

// The float32 tensor `name` of `count` elements, in new 64-byte aligned memory; NULL (with a message)
// when it is missing, of another type or size, or unreadable.
static float *load_tensor(const safetensors *st, const char *name, size_t count) {
    const char *entry = json_value(st->header, st->header_end, name);
    if (!entry || *entry != '{') {
        fprintf(stderr, "golden: %s has no tensor %s\n", st->path, name);
        return NULL;
    }
    const char *entry_end = json_skip_container(entry, st->header_end);
    const char *dtype = json_value(entry, entry_end, "dtype");
    double offsets[2];
    if (!dtype || strncmp(dtype, "\"F32\"", 5) != 0 || json_numbers(json_value(entry, entry_end, "data_offsets"), entry_end, offsets, 2) != 2 ||
        offsets[1] - offsets[0] != (double)count * 4) {
        fprintf(stderr, "golden: %s: tensor %s is not float32 of %zu elements\n", st->path, name, count);
        return NULL;
    }
    float *data = floats(count);
    if (fseek(st->file, st->data_start + (long)offsets[0], SEEK_SET) != 0 || fread(data, 4, count, st->file) != count) {
        fprintf(stderr, "golden: %s: cannot read tensor %s\n", st->path, name);
        free(data);
        return NULL;
    }
    return data;
}

// MARK: - Model

typedef struct {
    int hidden, layers, heads, intermediate, vocab, positions, types;
    float eps;
} bert_config;

typedef struct {
    float *qkv, *qkv_bias;  // [3·hidden, hidden] packed: queries (scaled by 1/√head_dim), keys, values
    float *out, *out_bias, *norm1_gamma, *norm1_beta;
    float *up, *up_bias, *down, *down_bias, *norm2_gamma, *norm2_beta;
} bert_layer;

typedef struct {
    bert_config config;
    float *word, *position, *type, *gamma, *beta;
    bert_layer *layer;
} bert;

static int read_config(const char *model_dir, bert_config *c) {
    char path[4096];
    size_t size;
    snprintf(path, sizeof path, "%s/config.json", model_dir);
    char *text = read_text(path, &size);
    static const char *keys[] = {"hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                                 "vocab_size", "max_position_embeddings", "type_vocab_size", "layer_norm_eps"};
    double values[8];
    int ok = text != NULL;
    for (int i = 0; ok && i < 8; i++) ok = json_number(text, text + size, keys[i], &values[i]);
    free(text);
    if (!ok) {
        fprintf(stderr, "golden: %s is missing or lacks one of hidden_size, num_hidden_layers, ...\n", path);
        return 0;
    }
    *c = (bert_config){(int)values[0], (int)values[1], (int)values[2], (int)values[3], (int)values[4], (int)values[5],
                       (int)values[6], (float)values[7]};
    if (c->heads <= 0 || c->hidden % c->heads != 0) {
        fprintf(stderr, "golden: %s: hidden_size %d is not a multiple of num_attention_heads %d\n", path, c->hidden,
                c->heads);
        return 0;
    }
    return 1;
}

// Packs w ([n, k]) for shoal_gemm; frees w.
static float *pack(float *w, int n, int k) {
    float *packed = floats(shoal_packed_count(n, k));
    shoal_pack(w, n, k, packed);
    free(w);
    return packed;
}

static float *layer_tensor(const safetensors *st, int layer, const char *name, size_t count) {
    char full[256];
    snprintf(full, sizeof full, "encoder.layer.%d.%s", layer, name);
    return load_tensor(st, full, count);
}

static int load_layer(const safetensors *st, const bert_config *c, int index, bert_layer *l) {
    size_t h = (size_t)c->hidden, f = (size_t)c->intermediate;
    static const char *parts[] = {"query", "key", "value"};
    float *qkv = floats(3 * h * h);
    l->qkv_bias = floats(3 * h);
    float scale = 1.0f / sqrtf((float)(c->hidden / c->heads));
    for (int part = 0; part < 3; part++) {
        char name[64];
        snprintf(name, sizeof name, "attention.self.%s.weight", parts[part]);
        float *w = layer_tensor(st, index, name, h * h);
        snprintf(name, sizeof name, "attention.self.%s.bias", parts[part]);
        float *b = layer_tensor(st, index, name, h);
        if (!w || !b) return 0;
        for (size_t i = 0; i < h * h; i++) qkv[part * h * h + i] = part == 0 ? w[i] * scale : w[i];
        for (size_t i = 0; i < h; i++) l->qkv_bias[part * h + i] = part == 0 ? b[i] * scale : b[i];
        free(w);
        free(b);
    }
    l->qkv = pack(qkv, 3 * c->hidden, c->hidden);
    float *out = layer_tensor(st, index, "attention.output.dense.weight", h * h);
    float *up = layer_tensor(st, index, "intermediate.dense.weight", f * h);
    float *down = layer_tensor(st, index, "output.dense.weight", h * f);
    if (!out || !up || !down) return 0;
    l->out = pack(out, c->hidden, c->hidden);
    l->up = pack(up, c->intermediate, c->hidden);
    l->down = pack(down, c->hidden, c->intermediate);
    l->out_bias = layer_tensor(st, index, "attention.output.dense.bias", h);
    l->norm1_gamma = layer_tensor(st, index, "attention.output.LayerNorm.weight", h);
    l->norm1_beta = layer_tensor(st, index, "attention.output.LayerNorm.bias", h);
    l->up_bias = layer_tensor(st, index, "intermediate.dense.bias", f);
    l->down_bias = layer_tensor(st, index, "output.dense.bias", h);
    l->norm2_gamma = layer_tensor(st, index, "output.LayerNorm.weight", h);
    l->norm2_beta = layer_tensor(st, index, "output.LayerNorm.bias", h);
    return l->out_bias && l->norm1_gamma && l->norm1_beta && l->up_bias && l->down_bias && l->norm2_gamma &&
           l->norm2_beta;
}

static int load_model(const char *model_dir, bert *model) {
    if (!read_config(model_dir, &model->config)) return 0;
    const bert_config *c = &model->config;
    char path[4096];
    snprintf(path, sizeof path, "%s/model.safetensors", model_dir);
    safetensors st;
    int ok = open_safetensors(&st, path);
    if (!ok) fprintf(stderr, "golden: cannot read the safetensors header of %s\n", path);
    size_t h = (size_t)c->hidden;
    ok = ok && (model->word = load_tensor(&st, "embeddings.word_embeddings.weight", (size_t)c->vocab * h)) &&
         (model->position = load_tensor(&st, "embeddings.position_embeddings.weight", (size_t)c->positions * h)) &&
         (model->type = load_tensor(&st, "embeddings.token_type_embeddings.weight", (size_t)c->types * h)) &&
         (model->gamma = load_tensor(&st, "embeddings.LayerNorm.weight", h)) &&
         (model->beta = load_tensor(&st, "embeddings.LayerNorm.bias", h));
    model->layer = calloc((size_t)c->layers, sizeof(bert_layer));
    for (int i = 0; ok && i < c->layers; i++) ok = load_layer(&st, c, i, &model->layer[i]);
    if (st.file) fclose(st.file);
    free(st.header);
    return ok;
}

// MARK: - Forward pass

// Final hidden states [tokens, hidden] of the sequences in `offsets`, ids and positions per token.
static void forward(shoal_pool *pool, const bert *model, int sequences, const int32_t *offsets, const int32_t *ids,
                    const int32_t *positions, float *x) {
    const bert_config *c = &model->config;
    int tokens = offsets[sequences], h = c->hidden, f = c->intermediate, head_dim = h / c->heads, max_len = 0;
    for (int s = 0; s < sequences; s++) max_len = offsets[s + 1] - offsets[s] > max_len ? offsets[s + 1] - offsets[s] : max_len;
    float *qkv = floats((size_t)tokens * 3 * h), *context = floats((size_t)tokens * h);
    float *attended = floats((size_t)tokens * h), *up = floats((size_t)tokens * f);
    float *scratch = floats(shoal_attention_scratch_count(max_len, head_dim) * shoal_pool_threads(pool));
    shoal_embed(pool, tokens, h, ids, positions, NULL, model->word, model->position, model->type, model->gamma,
                model->beta, c->eps, x);
    for (int i = 0; i < c->layers; i++) {
        const bert_layer *l = &model->layer[i];
        int head_major = i % 2 == 0 && head_dim % 32 == 0;
        if (head_major) shoal_gemm_blocks(pool, tokens, 3 * h, h, x, h, l->qkv, l->qkv_bias, SHOAL_ACT_NONE, qkv, head_dim);
        else shoal_gemm(pool, tokens, 3 * h, h, x, h, l->qkv, l->qkv_bias, NULL, 0, SHOAL_ACT_NONE, qkv, 3 * h);
        shoal_attention(pool, sequences, offsets, c->heads, head_dim, qkv, head_major, context, scratch, 0);
        shoal_gemm(pool, tokens, h, h, context, h, l->out, l->out_bias, x, h, SHOAL_ACT_NONE, attended, h);
        shoal_layer_norm(pool, tokens, h, attended, l->norm1_gamma, l->norm1_beta, c->eps);
        shoal_gemm(pool, tokens, f, h, attended, h, l->up, l->up_bias, NULL, 0, SHOAL_ACT_GELU, up, f);
        shoal_gemm(pool, tokens, h, f, up, f, l->down, l->down_bias, attended, h, SHOAL_ACT_NONE, x, h);
        shoal_layer_norm(pool, tokens, h, x, l->norm2_gamma, l->norm2_beta, c->eps);
    }
    free(qkv);
    free(context);
    free(attended);
    free(up);
    free(scratch);
}

// MARK: - Fixture

typedef struct {
    int items, tokens;
    int32_t *offsets, *ids, *positions;
    double *embeddings;  // [items, dim]
} fixture;

enum { MAX_ITEMS = 1024, MAX_LENGTH = 8192 };

// Reads items[].input_ids and items[].embedding; checks ids and lengths against the model.
static int read_fixture(const char *path, const bert_config *c, fixture *fx) {
    size_t size;
    char *text = read_text(path, &size);
    const char *end = text + size, *p = text ? json_value(text, end, "items") : NULL;
    if (!p) {
        fprintf(stderr, "golden: %s is missing or has no items\n", path);
        free(text);
        return 0;
    }
    double *numbers = malloc(sizeof(double) * MAX_LENGTH);
    fx->offsets = calloc(MAX_ITEMS + 1, sizeof(int32_t));
    fx->ids = fx->positions = NULL;
    fx->embeddings = malloc(sizeof(double) * MAX_ITEMS * c->hidden);
    fx->items = fx->tokens = 0;
    int ok = 1;
    while (ok && (p = json_value(p, end, "input_ids"))) {
        int length = json_numbers(p, end, numbers, MAX_LENGTH);
        ok = length > 0 && length <= c->positions && fx->items < MAX_ITEMS;
        if (!ok) break;
        fx->ids = realloc(fx->ids, sizeof(int32_t) * (fx->tokens + length));
        fx->positions = realloc(fx->positions, sizeof(int32_t) * (fx->tokens + length));
        for (int t = 0; t < length; t++) {
            ok = ok && numbers[t] >= 0 && numbers[t] < c->vocab;
            fx->ids[fx->tokens + t] = (int32_t)numbers[t];
            fx->positions[fx->tokens + t] = t;
        }
        p = json_value(p, end, "embedding");
        ok = ok && json_numbers(p, end, fx->embeddings + (size_t)fx->items * c->hidden, c->hidden) == c->hidden;
        fx->tokens += length;
        fx->offsets[++fx->items] = fx->tokens;
    }
    if (!ok || fx->items == 0)
        fprintf(stderr, "golden: %s: item %d lacks input_ids (1 to %d ids below %d) or an embedding of %d numbers\n",
                path, fx->items, c->positions, c->vocab, c->hidden);
    free(numbers);
    free(text);
    return ok && fx->items > 0;
}

// MARK: - Check

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int golden_check(const char *model_dir, const char *fixture_path, int threads, const char *level) {
    bert model;
    fixture fx;
    double start = seconds();
    if (!load_model(model_dir, &model) || !read_fixture(fixture_path, &model.config, &fx)) return 2;
    double loaded = seconds();
    int h = model.config.hidden;
    shoal_pool *pool = shoal_pool_create(threads);
    float *x = floats((size_t)fx.tokens * h), *pooled = floats((size_t)fx.items * h);
    forward(pool, &model, fx.items, fx.offsets, fx.ids, fx.positions, x);
    shoal_pool_tokens(fx.items, fx.offsets, h, x, SHOAL_POOL_MEAN, 1, pooled);
    double done = seconds();
    printf("golden check at level %s: %d items, %d tokens in one batch, %d threads; load %.2f s, forward %.2f s\n",
           level, fx.items, fx.tokens, shoal_pool_threads(pool), loaded - start, done - loaded);
    int failed = 0;
    double worst_difference = 0, worst_cosine = 1;
    for (int s = 0; s < fx.items; s++) {
        const float *got = pooled + (size_t)s * h;
        const double *want = fx.embeddings + (size_t)s * h;
        double difference = 0, dot = 0, got_norm = 0, want_norm = 0;
        for (int j = 0; j < h; j++) {
            difference = isnan(got[j]) ? INFINITY : fmax(difference, fabs(got[j] - want[j]));  // fmax drops NaN
            dot += got[j] * want[j];
            got_norm += (double)got[j] * got[j];
            want_norm += want[j] * want[j];
        }
        double cosine = dot / sqrt(got_norm * want_norm);
        int ok = difference <= MAX_ABS_DIFFERENCE && cosine >= MIN_COSINE;
        failed += !ok;
        worst_difference = fmax(worst_difference, difference);
        worst_cosine = fmin(worst_cosine, cosine);
        if (ok && is_quiet()) continue;
        printf("%-5s golden item %2d (%3d tokens): max |Δ| %.2e (≤ %.0e), 1 - cosine %.1e (≤ %.0e)\n", ok ? "PASS" : "FAIL",
               s, fx.offsets[s + 1] - fx.offsets[s], difference, MAX_ABS_DIFFERENCE, 1 - cosine, 1 - MIN_COSINE);
    }
    printf("golden check at level %s: %d of %d items passed; worst max |Δ| %.2e, worst 1 - cosine %.1e\n", level,
           fx.items - failed, fx.items, worst_difference, 1 - worst_cosine);
    shoal_pool_destroy(pool);
    return failed ? 1 : 0;
}
