// Numeric kernels of the engine: a spinning thread pool, a GEMM on pre-packed weights with fused
// epilogues, and the per-token operations of a transformer encoder. AVX-512 and AVX2 + FMA paths are
// chosen at run time; every function also has a portable path so the package builds and runs everywhere.
#ifndef SHOAL_KERNELS_H
#define SHOAL_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: - Thread pool

typedef struct shoal_pool shoal_pool;
typedef void (*shoal_task_fn)(void *context, int64_t index, int thread);

/// Starts `threads - 1` workers; the caller of `shoal_pool_run` is the remaining thread.
shoal_pool *shoal_pool_create(int threads);
void shoal_pool_destroy(shoal_pool *pool);
int shoal_pool_threads(const shoal_pool *pool);
/// Runs `task(context, i, thread)` for every i in [0, count) on all threads; returns when all are done.
/// Not reentrant: one caller at a time (the Swift wrapper holds a lock).
void shoal_pool_run(shoal_pool *pool, int64_t count, shoal_task_fn task, void *context);
/// Names the calling thread as `top -H` shows it; the system keeps the first 15 bytes.
void shoal_name_this_thread(const char *name);

// MARK: - Capabilities

enum shoal_isa_level { SHOAL_ISA_GENERIC = 0, SHOAL_ISA_AVX2 = 1, SHOAL_ISA_AVX512 = 2 };

/// The instruction-set level the kernels run at: the highest this CPU has (AVX-512 F/DQ/BW/VL, then
/// AVX2 + FMA, else generic, which uses no intrinsics), lowered by the environment variable SHOAL_ISA
/// (`generic`, `avx2` or `avx512`) when it names a lower one. Read once.
int shoal_isa(void);
/// The level this CPU has, whatever SHOAL_ISA says.
int shoal_cpu_isa(void);
/// GFLOP/s of fused multiply-adds on registers only, on all of `pool`'s threads, best of three runs of
/// about `seconds` each: the ceiling of the vector units the CPU has (AVX-512 or AVX2 + FMA, whatever
/// shoal_isa() says), which no float32 GEMM passes (0 without AVX2 and FMA).
double shoal_fma_peak(shoal_pool *pool, double seconds);

// MARK: - GEMM on packed weights

enum shoal_activation { SHOAL_ACT_NONE = 0, SHOAL_ACT_GELU = 1, SHOAL_ACT_RELU = 2, SHOAL_ACT_TANH = 3 };

/// Output columns per packed panel.
#define SHOAL_PANEL 32

/// Floats needed to pack a [n, k] weight matrix (rows = output features, as torch Linear stores it).
size_t shoal_packed_count(int n, int k);
/// Packs w ([n, k], row-major) into panels of SHOAL_PANEL output columns, k-major inside a panel.
void shoal_pack(const float *w, int n, int k, float *packed);

/// c[m, n] = act(a[m, k] · wᵀ + bias + residual), with w packed by shoal_pack.
/// bias (n floats) and residual ([m, n], leading dimension ldr) may be NULL. Residual is added before
/// the activation is applied (activation and residual are not combined in practice).
void shoal_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const float *packed,
                const float *bias, const float *residual, int ldr, int activation, float *c, int ldc);
/// shoal_gemm without residual, c stored as n / block matrices [m, block], one after another: column j
/// of row i at c[((j / block) * m + i) * block + j % block]. block is a multiple of 32 that divides n.
/// Attention reads its heads this way, each a contiguous matrix (see shoal_attention).
void shoal_gemm_blocks(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const float *packed,
                       const float *bias, int activation, float *c, int block);

/// 1 when the CPU and OS run AMX bf16 tiles (the first call asks the kernel for tile state).
int shoal_has_amx(void);
/// Bytes needed to pack a [n, k] weight matrix for shoal_amx_gemm.
size_t shoal_amx_packed_bytes(int n, int k);
/// Packs w ([n, k], row-major) into bf16 high and low tiles (64-byte aligned destination).
void shoal_amx_pack(const float *w, int n, int k, void *packed);
/// What a kernel that can fail returns.
enum { SHOAL_OK = 0, SHOAL_OUT_OF_MEMORY = 1 };

/// shoal_gemm on AMX tiles in bf16x3 precision (relative error about 1e-5); needs shoal_has_amx(). Returns
/// SHOAL_OK, or SHOAL_OUT_OF_MEMORY when a thread could not allocate its buffer (c is then incomplete).
int shoal_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                    const float *bias, const float *residual, int ldr, int activation, float *c, int ldc);
/// shoal_gemm_blocks on AMX tiles, in the precision and with the status of shoal_amx_gemm.
int shoal_amx_gemm_blocks(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                           const float *bias, int activation, float *c, int block);
/// One head of self-attention on AMX tiles in bf16x3 precision: out[i] = softmax(q_i · keysᵀ) · values for
/// the `len` rows of q, keys and values (`stride` floats apart, `d` each); out rows are `ldo` apart.
/// scratch: shoal_amx_attention_scratch_bytes(len or more, d) bytes. Needs shoal_has_amx().
void shoal_amx_attention_head(const float *q, const float *keys, const float *values, size_t stride, int len, int d,
                              float *out, size_t ldo, void *scratch);
size_t shoal_amx_attention_scratch_bytes(int max_len, int head_dim);

/// In place: x[m, n] = act(x + bias + residual); the epilogue for an external GEMM.
void shoal_epilogue(int m, int n, float *x, int ldx, const float *bias, const float *residual, int ldr,
                    int activation);

// MARK: - Encoder operations

/// out[t] = layer_norm(word[ids[t]] + position[positions[t]] + type[type_ids[t]]) for t in [0, tokens).
/// type may be NULL (DistilBERT); type_ids may be NULL (all zero).
void shoal_embed(shoal_pool *pool, int tokens, int hidden, const int32_t *ids, const int32_t *positions,
                 const int32_t *type_ids, const float *word, const float *position, const float *type,
                 const float *gamma, const float *beta, float eps, float *out);

/// x[rows, n] = layer_norm(x) * gamma + beta, row by row, in place.
void shoal_layer_norm(shoal_pool *pool, int rows, int n, float *x, const float *gamma, const float *beta,
                      float eps);

/// Self-attention without padding. qkv holds the queries (already scaled by 1/sqrt(d)), keys and values of
/// every token: rows [tokens, 3 * hidden] when head_major is 0; else 3 * heads matrices [tokens, head_dim],
/// every head's queries, then its keys, then its values (shoal_gemm_blocks with block head_dim), so that
/// each head reads contiguous memory. Sequence s spans tokens [offsets[s], offsets[s + 1]). Writes context
/// [tokens, hidden]. scratch holds shoal_attention_scratch_count(max_len, head_dim) floats per pool thread.
/// With amx set (and shoal_has_amx()) the products run on AMX tiles in bf16x3 precision, else in float32.
void shoal_attention(shoal_pool *pool, int sequences, const int32_t *offsets, int heads, int head_dim,
                     const float *qkv, int head_major, float *context, float *scratch, int amx);
size_t shoal_attention_scratch_count(int max_len, int head_dim);

enum shoal_pooling { SHOAL_POOL_MEAN = 0, SHOAL_POOL_CLS = 1, SHOAL_POOL_MAX = 2 };

/// out[s, hidden] = pooling of rows [offsets[s], offsets[s+1]) of x; L2-normalised when normalize != 0.
void shoal_pool_tokens(int sequences, const int32_t *offsets, int hidden, const float *x, int pooling,
                       int normalize, float *out);

/// Row-wise softmax in place.
void shoal_softmax_rows(int rows, int n, float *x);

/// Elementwise exact GELU and erf, exposed for tests.
float shoal_gelu(float x);
float shoal_erf(float x);

#ifdef __cplusplus
}
#endif
#endif
