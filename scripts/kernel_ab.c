// Times the AMX GEMMs of two builds of gemm_amx.c in one process, alternating them, for the dense layers
// of one all-MiniLM-L6-v2 forward pass (6 layers of distinct random weights). Built and run by
// scripts/kernel-ab.sh, which compiles the older build with its symbols renamed old_*.
//
// On a machine whose speed swings from minute to minute, two builds timed one after the other differ by
// more than most kernel changes; timed round by round in one process, they see the same minutes.
#include "ShoalKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

size_t old_amx_packed_bytes(int n, int k);
void old_amx_pack(const float *w, int n, int k, void *packed);
void old_amx_gemm(shoal_pool *pool, int m, int n, int k, const float *a, int lda, const void *packed,
                  const float *bias, const float *residual, int ldr, int activation, float *c, int ldc);

enum { LAYERS = 6, SHAPES = 4 };
// (outputs, inputs, activation) of the query-key-value, attention output, intermediate and output layers.
static const int shapes[SHAPES][3] = {{1152, 384, 0}, {384, 384, 0}, {1536, 384, SHOAL_ACT_GELU}, {384, 1536, 0}};

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int ascending(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static float random_float(uint64_t *state) {  // uniform in [-0.5, 0.5)
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)(*state >> 40) / (float)(1 << 24) - 0.5f;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: kernel_ab ROWS THREADS ROUNDS\n");
        return 2;
    }
    int m = atoi(argv[1]), threads = atoi(argv[2]), rounds = atoi(argv[3]);
    if (m < 1 || threads < 1 || rounds < 1) {
        fprintf(stderr, "kernel_ab: ROWS, THREADS and ROUNDS must be positive\n");
        return 2;
    }
    if (!shoal_has_amx()) {
        fprintf(stderr, "kernel_ab: this CPU or kernel does not run AMX tiles\n");
        return 1;
    }
    shoal_pool *pool = shoal_pool_create(threads);
    uint64_t state = 1;
    float *input = aligned_alloc(64, sizeof(float) * (size_t)m * 1536), *bias = malloc(sizeof(float) * 1536);
    float *output[2] = {aligned_alloc(64, sizeof(float) * (size_t)m * 1536),
                        aligned_alloc(64, sizeof(float) * (size_t)m * 1536)};
    for (size_t i = 0; i < (size_t)m * 1536; i++) input[i] = random_float(&state);
    for (int i = 0; i < 1536; i++) bias[i] = random_float(&state);
    void *packed[2][LAYERS][SHAPES];  // [old, new]
    for (int l = 0; l < LAYERS; l++) {
        for (int s = 0; s < SHAPES; s++) {
            int n = shapes[s][0], k = shapes[s][1];
            float *w = malloc(sizeof(float) * (size_t)n * k);
            for (size_t i = 0; i < (size_t)n * k; i++) w[i] = random_float(&state) * 0.1f;
            size_t bytes[2] = {old_amx_packed_bytes(n, k), shoal_amx_packed_bytes(n, k)};
            for (int v = 0; v < 2; v++) packed[v][l][s] = aligned_alloc(64, (bytes[v] + 63) / 64 * 64);
            old_amx_pack(w, n, k, packed[0][l][s]);
            shoal_amx_pack(w, n, k, packed[1][l][s]);
            free(w);
        }
    }
    double *times[2] = {malloc(sizeof(double) * rounds), malloc(sizeof(double) * rounds)};
    double *ratios = malloc(sizeof(double) * rounds), difference = 0;
    for (int r = -1; r < rounds; r++) {  // round -1 warms up
        for (int v = 0; v < 2; v++) {
            double start = seconds();
            for (int l = 0; l < LAYERS; l++) {
                for (int s = 0; s < SHAPES; s++) {
                    int n = shapes[s][0], k = shapes[s][1], act = shapes[s][2];
                    void (*gemm)(shoal_pool *, int, int, int, const float *, int, const void *, const float *,
                                 const float *, int, int, float *, int) = v == 0 ? old_amx_gemm : shoal_amx_gemm;
                    gemm(pool, m, n, k, input, k, packed[v][l][s], bias, NULL, 0, act, output[v], n);
                }
            }
            if (r >= 0) times[v][r] = seconds() - start;
        }
        if (r >= 0) ratios[r] = times[1][r] / times[0][r];
    }
    // Both builds' last products (the output layer of the last layer) should agree to their precision.
    for (size_t i = 0; i < (size_t)m * 384; i++) difference = fmax(difference, fabs(output[0][i] - output[1][i]));
    qsort(times[0], rounds, sizeof(double), ascending);
    qsort(times[1], rounds, sizeof(double), ascending);
    qsort(ratios, rounds, sizeof(double), ascending);
    printf("rows %5d: old %7.2f ms, new %7.2f ms (medians of %d rounds); new/old per round: median %.3f, "
           "quartiles %.3f-%.3f; outputs differ by at most %.2g\n",
           m, times[0][rounds / 2] * 1e3, times[1][rounds / 2] * 1e3, rounds, ratios[rounds / 2], ratios[rounds / 4],
           ratios[3 * rounds / 4], difference);
    return 0;
}
