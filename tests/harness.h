/* harness.h: the small test harness every porta test program uses.
 *
 * A test counts checks; CHECK records a failure with its location and goes
 * on. test_finish() prints "N passed, M failed" (the line CI reads) and
 * returns the exit status. Device tests loop over every device found with
 * test_for_each_device(), opening each in a fresh context with validation
 * on, and fail if the Vulkan validation layer said anything.
 */
#ifndef PORTA_TEST_HARNESS_H
#define PORTA_TEST_HARNESS_H

#include <stdio.h>

#include "porta/porta.h"

typedef struct test_state {
    int passed;
    int failed;
    int skipped; /* checks that cannot run here (test_skip) */
} test_state;

/* The exit status CTest reads as "skipped" (SKIP_RETURN_CODE in
 * tests/CMakeLists.txt). */
#define TEST_SKIP_CODE 77

void test_check(test_state *t, int ok, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;

#define CHECK(t, cond, ...) test_check((t), (cond) != 0, __FILE__, __LINE__, __VA_ARGS__)

/* Record that a check cannot run on this machine and say why ("SKIP
 * file:line: reason" on stdout). A test with a skipped check and no
 * failure exits with TEST_SKIP_CODE: it never passes silently. */
void test_skip_at(test_state *t, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
#define TEST_SKIP(t, ...) test_skip_at((t), __FILE__, __LINE__, __VA_ARGS__)

/* Check that st is PORTA_OK; on failure report the context's message. */
#define CHECK_OK(t, ctx, st, what)                                                                 \
    CHECK((t), (st) == PORTA_OK, "%s: %s: %s", (what), porta_strerror(st),                         \
          porta_context_message(ctx))

/* Set up the environment like the programs do (RUSTICL_ENABLE). */
void test_init(void);

/* Run fn(t, ctx, info, user) once per device found (or only on the devices
 * that $PORTA_TEST_DEVICE, a device spec, selects). Fails the test if no
 * device is found at all. */
typedef void (*test_device_fn)(test_state *t, porta_context *ctx, const porta_device_info *info,
                               void *user);
void test_for_each_device(test_state *t, test_device_fn fn, void *user);

/* Print the closing line and return the exit status for main(): 0 when
 * every check passed (and there was one), TEST_SKIP_CODE when none failed
 * but some could not run, else 1. */
int test_finish(const test_state *t);

#endif
