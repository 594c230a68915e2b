/* selftest.c: run a kernel on the open device and compare with the C
 * reference (lib/ref/ref_vec.c).
 *
 * porta_self_test() (porta-info's known-answer test) and the kernel tests
 * share porta__kernel_check(), which fills inputs from a seeded generator,
 * runs one public vector call and compares with the C reference:
 * elementwise kernels bit for bit, reductions within a bound proportional
 * to the sum of magnitudes (the device adds in a different, fixed order).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "ref/ref_vec.h"

const char *const porta__kernel_check_names[] = {"fill", "copy", "scale", "axpy",
                                                 "add",  "mul",  "sum",   "sum_squares"};
const size_t porta__kernel_check_count =
    sizeof(porta__kernel_check_names) / sizeof(porta__kernel_check_names[0]);

/* Values in [-2, 2) from a 32-bit xorshift, with exact zeros now and then. */
static void fill_random(float *v, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        v[i] = (s % 97u == 0u) ? 0.0f : (float)((double)s / 4294967296.0 * 4.0 - 2.0);
    }
}

/* The host side of one check: inputs, expected output, device output. */
typedef struct check {
    size_t n;
    float *a, *b, *y, *expect, *got;
    porta_buffer *da, *db, *dy;
} check;

static void check_free(porta_context *ctx, check *c)
{
    porta_buffer_destroy(ctx, c->da);
    porta_buffer_destroy(ctx, c->db);
    porta_buffer_destroy(ctx, c->dy);
    free(c->a);
    free(c->b);
    free(c->y);
    free(c->expect);
    free(c->got);
}

static porta_status check_alloc(porta_context *ctx, check *c, size_t n, uint32_t seed)
{
    memset(c, 0, sizeof(*c));
    c->n = n;
    size_t bytes = n * sizeof(float);
    c->a = malloc(bytes);
    c->b = malloc(bytes);
    c->y = malloc(bytes);
    c->expect = malloc(bytes);
    c->got = malloc(bytes);
    if (!c->a || !c->b || !c->y || !c->expect || !c->got)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "self-test: no memory");
    fill_random(c->a, n, seed);
    fill_random(c->b, n, seed + 1);
    fill_random(c->y, n, seed + 2);
    porta_status st = porta_buffer_create(ctx, bytes, &c->da);
    if (!st)
        st = porta_buffer_create(ctx, bytes, &c->db);
    if (!st)
        st = porta_buffer_create(ctx, bytes, &c->dy);
    if (!st)
        st = porta_buffer_write(ctx, c->da, 0, bytes, c->a);
    if (!st)
        st = porta_buffer_write(ctx, c->db, 0, bytes, c->b);
    if (!st)
        st = porta_buffer_write(ctx, c->dy, 0, bytes, c->y);
    return st;
}

/* Compare n floats bit for bit (NaN payloads included). */
static porta_status compare_exact(porta_context *ctx, const char *kernel, const check *c, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (memcmp(&c->got[i], &c->expect[i], sizeof(float)) != 0)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_MISMATCH,
                                 "%s n=%zu: element %zu is %.9g, the reference says %.9g", kernel,
                                 c->n, i, c->got[i], c->expect[i]);
    }
    return PORTA_OK;
}

static porta_status compare_sum(porta_context *ctx, const char *kernel, const check *c,
                                double expect, int squares)
{
    /* A float tree sum of n terms errs by at most about log2(n) * eps * sum|x|
     * plus the rounding of each term; allow a generous multiple of that. */
    double scale = porta_ref_sum_abs(c->a, c->n, squares);
    double bound = 4.0 * (log2((double)c->n) + 2.0) * 1.2e-7 * scale + 1e-30;
    double got = c->got[0];
    if (!(fabs(got - expect) <= bound))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_MISMATCH,
                             "%s n=%zu: device %.9g, reference %.9g (bound %.3g)", kernel, c->n,
                             got, expect, bound);
    return PORTA_OK;
}

/* Enqueue kernel `name` on the check's buffers and compute the reference. */
static porta_status run_one(porta_context *ctx, const char *name, check *c, int *is_sum,
                            double *expect_sum)
{
    size_t n = c->n;
    *is_sum = 0;
    memcpy(c->expect, c->y, n * sizeof(float));
    if (strcmp(name, "fill") == 0) {
        porta_ref_fill(c->expect, n, 0.375f);
        return porta_vec_fill(ctx, porta_view_of(c->dy), n, 0.375f);
    }
    if (strcmp(name, "copy") == 0) {
        porta_ref_copy(c->a, c->expect, n);
        return porta_vec_copy(ctx, porta_view_of(c->da), porta_view_of(c->dy), n);
    }
    if (strcmp(name, "scale") == 0) {
        porta_ref_scale(-1.7f, c->a, c->expect, n);
        return porta_vec_scale(ctx, -1.7f, porta_view_of(c->da), porta_view_of(c->dy), n);
    }
    if (strcmp(name, "axpy") == 0) {
        porta_ref_axpy(0.3f, c->a, c->expect, n);
        return porta_vec_axpy(ctx, 0.3f, porta_view_of(c->da), porta_view_of(c->dy), n);
    }
    if (strcmp(name, "add") == 0) {
        porta_ref_add(c->a, c->b, c->expect, n);
        return porta_vec_add(ctx, porta_view_of(c->da), porta_view_of(c->db), porta_view_of(c->dy),
                             n);
    }
    if (strcmp(name, "mul") == 0) {
        porta_ref_mul(c->a, c->b, c->expect, n);
        return porta_vec_mul(ctx, porta_view_of(c->da), porta_view_of(c->db), porta_view_of(c->dy),
                             n);
    }
    *is_sum = strcmp(name, "sum") == 0 ? 1 : strcmp(name, "sum_squares") == 0 ? 2 : 0;
    if (*is_sum == 1) {
        *expect_sum = porta_ref_sum(c->a, n);
        return porta_vec_sum(ctx, porta_view_of(c->da), n, porta_view_of(c->dy));
    }
    if (*is_sum == 2) {
        *expect_sum = porta_ref_sum_squares(c->a, n);
        return porta_vec_sum_squares(ctx, porta_view_of(c->da), n, porta_view_of(c->dy));
    }
    return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "no kernel check named %s", name);
}

porta_status porta__kernel_check(porta_context *ctx, const char *name, size_t n, uint32_t seed)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (n == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "kernel check: n is 0");
    check c;
    int is_sum = 0;
    double expect_sum = 0.0;
    st = check_alloc(ctx, &c, n, seed);
    if (!st)
        st = run_one(ctx, name, &c, &is_sum, &expect_sum);
    if (!st)
        st = porta_buffer_read(ctx, c.dy, 0, (is_sum ? 1 : n) * sizeof(float), c.got);
    if (!st)
        st = is_sum ? compare_sum(ctx, name, &c, expect_sum, is_sum == 2)
                    : compare_exact(ctx, name, &c, n);
    check_free(ctx, &c);
    return st;
}

porta_status porta_self_test(porta_context *ctx)
{
    static const size_t sizes[] = {1, 7, 4099};
    for (size_t k = 0; k < porta__kernel_check_count; k++) {
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
            porta_status st =
                porta__kernel_check(ctx, porta__kernel_check_names[k], sizes[s], (uint32_t)s);
            if (st)
                return st;
        }
    }
    if (ctx->backend.counters.validation_messages)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_VALIDATION,
                             "the Vulkan validation layer reported %llu problem(s)",
                             (unsigned long long)ctx->backend.counters.validation_messages);
    return PORTA_OK;
}
