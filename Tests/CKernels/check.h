// Comparison and reporting for kernel_test: tallies of compared values, one printed line per check, and
// buffers with guard regions that must stay untouched.
#ifndef SHOAL_KERNEL_TEST_CHECK_H
#define SHOAL_KERNEL_TEST_CHECK_H

#include <stddef.h>
#include <stdint.h>

#define U 0x1p-24        // unit roundoff of float32: one rounding errs by at most U relative
#define GUARD 64         // floats after each output buffer that no kernel may write
#define SENTINEL -1234.5f  // what floats() fills buffers with

// The values compared by one check: how many, the largest |Δ|, the largest |Δ| / tolerance, and the
// first value out of tolerance (with the case named by where() at that moment).
typedef struct {
    size_t count, bad;
    double max_error, worst;
    char where[200];
    int row, col;
    double got, want, tol;
} tally;

void set_quiet(int quiet);
/// Whether passing checks go unprinted.
int is_quiet(void);
/// Names the case being compared, for the report of a value out of tolerance.
void where(const char *format, ...) __attribute__((format(printf, 1, 2)));
/// Adds one value; NaN or |got - want| > tol counts as bad.
void compare(tally *t, int row, int col, double got, double want, double tol);
/// count floats from `at` still hold SENTINEL.
void compare_untouched(tally *t, const float *at, size_t count);
/// count floats from `at` still equal `original`.
void compare_untouched_as(tally *t, const float *at, const float *original, size_t count);
/// Columns n..ld-1 of the m rows, and floats m·ld..size-1, still hold original's (SENTINEL when NULL).
void compare_padding(tally *t, const float *x, const float *original, int m, int n, int ld, size_t size);
/// Prints PASS or FAIL with the tally's figures; a tally of no values fails.
void report(const tally *t, const char *format, ...) __attribute__((format(printf, 2, 3)));
/// A check that is a condition: prints PASS or FAIL and the message.
void expect(int ok, const char *format, ...) __attribute__((format(printf, 2, 3)));
void skip(const char *format, ...) __attribute__((format(printf, 1, 2)));
/// Prints the counts; returns the exit status (1 when a check failed).
int summary(const char *what, const char *level);

uint64_t next_random(void);
/// 64-byte aligned, filled with SENTINEL; exits when memory runs out.
float *floats(size_t count);
float *random_floats(size_t count, float lo, float hi);
float *copy(const float *x, size_t count);

#endif
