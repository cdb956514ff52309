// Comparison and reporting for kernel_test (see check.h).
#include "check.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int quiet, passed, failed, skipped;
static char current[200];
static uint64_t state = 0x9E3779B97F4A7C15u;

void set_quiet(int value) { quiet = value; }

int is_quiet(void) { return quiet; }

void where(const char *format, ...) {
    va_list args;
    va_start(args, format);
    vsnprintf(current, sizeof current, format, args);
    va_end(args);
}

void compare(tally *t, int row, int col, double got, double want, double tol) {
    double error = fabs(got - want);
    t->count++;
    if (error > t->max_error) t->max_error = error;
    double ratio = tol > 0 ? error / tol : error > 0 ? INFINITY : 0;
    if (ratio > t->worst) t->worst = ratio;
    if (error <= tol) return;  // false for NaN
    if (t->bad++ == 0) {
        snprintf(t->where, sizeof t->where, "%s", current);
        t->row = row;
        t->col = col;
        t->got = got;
        t->want = want;
        t->tol = tol;
    }
}

void compare_untouched_as(tally *t, const float *at, const float *original, size_t count) {
    char saved[sizeof current];
    memcpy(saved, current, sizeof saved);
    snprintf(current, sizeof current, "%.150s; written outside the output, guard float", saved);
    for (size_t i = 0; i < count; i++) compare(t, (int)i, -1, at[i], original ? original[i] : SENTINEL, 0);
    memcpy(current, saved, sizeof saved);
}

void compare_untouched(tally *t, const float *at, size_t count) { compare_untouched_as(t, at, NULL, count); }

void compare_padding(tally *t, const float *x, const float *original, int m, int n, int ld, size_t size) {
    char saved[sizeof current];
    memcpy(saved, current, sizeof saved);
    snprintf(current, sizeof current, "%.150s; written in the padding past column n", saved);
    for (int i = 0; i < m; i++)
        for (int j = n; j < ld; j++) {
            size_t at = (size_t)i * ld + j;
            compare(t, i, j, x[at], original ? original[at] : SENTINEL, 0);
        }
    memcpy(current, saved, sizeof saved);
    size_t end = (size_t)m * ld;
    compare_untouched_as(t, x + end, original ? original + end : NULL, size - end);
}

static void vprint_line(const char *status, const char *format, va_list args) {
    printf("%-5s ", status);
    vprintf(format, args);
}

void report(const tally *t, const char *format, ...) {
    va_list args;
    va_start(args, format);
    if (t->count > 0 && t->bad == 0) {
        passed++;
        if (!quiet) {
            vprint_line("PASS", format, args);
            printf(": %zu values, max |Δ| %.2g, worst Δ/tol %.3f\n", t->count, t->max_error, t->worst);
        }
    } else {
        failed++;
        vprint_line("FAIL", format, args);
        if (t->count == 0) printf(": no values compared\n");
        else
            printf(": %zu of %zu values out of tolerance; first: %s [%d][%d] got %.9g, want %.9g, |Δ| %.3g > tol %.3g\n",
                   t->bad, t->count, t->where, t->row, t->col, t->got, t->want, fabs(t->got - t->want), t->tol);
    }
    va_end(args);
    fflush(stdout);
}

void expect(int ok, const char *format, ...) {
    va_list args;
    va_start(args, format);
    if (ok) passed++;
    else failed++;
    if (!ok || !quiet) {
        vprint_line(ok ? "PASS" : "FAIL", format, args);
        printf("\n");
    }
    va_end(args);
    fflush(stdout);
}

void skip(const char *format, ...) {
    va_list args;
    va_start(args, format);
    skipped++;
    vprint_line("SKIP", format, args);
    printf("\n");
    va_end(args);
}

int summary(const char *what, const char *level) {
    printf("%s at level %s: %d passed, %d failed, %d skipped\n", what, level, passed, failed, skipped);
    return failed ? 1 : 0;
}

uint64_t next_random(void) {  // xorshift64*: deterministic, so a failure repeats
    state ^= state >> 12;
    state ^= state << 25;
    state ^= state >> 27;
    return state * 0x2545F4914F6CDD1Du;
}

float *floats(size_t count) {
    size_t bytes = (count * sizeof(float) + 63) / 64 * 64;
    float *x = aligned_alloc(64, bytes ? bytes : 64);
    if (!x) {
        fprintf(stderr, "kernel_test: out of memory for %zu floats\n", count);
        exit(2);
    }
    for (size_t i = 0; i < count; i++) x[i] = SENTINEL;
    return x;
}

float *random_floats(size_t count, float lo, float hi) {
    float *x = floats(count);
    for (size_t i = 0; i < count; i++) x[i] = lo + (hi - lo) * (float)(next_random() >> 40) * 0x1p-24f;
    return x;
}

float *copy(const float *x, size_t count) {
    float *y = floats(count);
    memcpy(y, x, sizeof(float) * count);
    return y;
}
