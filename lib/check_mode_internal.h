/* check_mode_internal.h: what check_mode.c gives check_calls.c. */
#ifndef PORTA_CHECK_MODE_INTERNAL_H
#define PORTA_CHECK_MODE_INTERNAL_H

#include "check_mode.h"
#include "ref/ref.h"

#define CHECK_MAX_COPIES 16

/* Tolerances (check_compare's rtol): bit for bit where the kernel rounds
 * once as the reference does; transcendental functions may be a few ulp
 * off; sums are added in another order than the reference's. */
#define CHECK_EXACT 0.0
#define CHECK_ELEMENTWISE 1e-5
#define CHECK_SUM 2e-3

/* One checked call: its name, shape text, host copies (freed by
 * check_end) and whether taking them failed. */
typedef struct check_call {
    porta_context *ctx;
    const char *name;
    char shape[320];
    void *mem[CHECK_MAX_COPIES];
    int n_mem;
    int failed;
} check_call;

/* Enter a checked call (its inner calls then run unchecked). */
void check_begin(check_call *c, porta_context *ctx, const char *name);
/* The shape and parameters the message names. */
void check_shape(check_call *c, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The first n elements of v, read now (waits); NULL for a none view or n
 * 0. A view the call would refuse sets c->failed: the caller then runs the
 * call unchecked, which reports it. */
void *check_copy_of(check_call *c, porta_view v, size_t n);
/* n zeros. */
float *check_zeros(check_call *c, size_t n);
/* Read n elements of v and compare them with want (check_mode.c says
 * how); PORTA_ERROR_MISMATCH naming the first element off. */
porta_status check_compare(check_call *c, const char *what, porta_view v, const float *want,
                           size_t n, double rtol);
/* Free the copies, leave the call; returns st. */
porta_status check_end(check_call *c, porta_status st);

#endif
