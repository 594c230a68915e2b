/* check_mode.c: the machinery of check mode (check_mode.h says what it is):
 * host copies of a call's operands, the comparison and its message. The
 * checked calls themselves are in check_calls.c. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_mode_internal.h"

int porta__check_active(const porta_context *ctx)
{
    return ctx && ctx->check_mode && !ctx->in_check;
}

porta_status porta_context_set_check_mode(porta_context *ctx, porta_setting check)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!porta__setting_known(check))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_context_set_check_mode: %d is not a porta_setting", (int)check);
    ctx->check_mode = porta__setting_on(check, "PORTA_CHECK");
    return PORTA_OK;
}

#ifdef PORTA_TEST_HOOKS
void porta__test_corrupt_next(porta_context *ctx, const char *call, size_t element)
{
    snprintf(ctx->corrupt_call, sizeof(ctx->corrupt_call), "%s", call);
    ctx->corrupt_element = element;
}
#endif

void check_begin(check_call *c, porta_context *ctx, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->ctx = ctx;
    c->name = name;
    ctx->in_check = 1;
}

void check_shape(check_call *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->shape, sizeof(c->shape), fmt, ap);
    va_end(ap);
}

static void *keep(check_call *c, void *p)
{
    if (!p) {
        c->failed = 1;
        return NULL;
    }
    if (c->n_mem == CHECK_MAX_COPIES) {
        free(p);
        c->failed = 1;
        return NULL;
    }
    c->mem[c->n_mem++] = p;
    return p;
}

float *check_zeros(check_call *c, size_t n)
{
    return keep(c, calloc(n ? n : 1, sizeof(float)));
}

void *check_copy_of(check_call *c, porta_view v, size_t n)
{
    if (!v.buffer || n == 0)
        return NULL;
    if (v.offset > porta_buffer_bytes(v.buffer) / 4 ||
        n > porta_buffer_bytes(v.buffer) / 4 - v.offset) {
        c->failed = 1; /* the call itself refuses such a view */
        return NULL;
    }
    float *p = keep(c, malloc(n * sizeof(float)));
    if (p && porta_buffer_read(c->ctx, v.buffer, v.offset * 4, n * 4, p) != PORTA_OK)
        c->failed = 1;
    return p;
}

porta_status check_end(check_call *c, porta_status st)
{
    for (int i = 0; i < c->n_mem; i++)
        free(c->mem[i]);
    c->ctx->in_check = 0;
    return st;
}

/* A NaN expected is met by a NaN; otherwise |got - want| <= rtol (|want| +
 * the largest |want| of the output): relative to the element and to the
 * output's scale, so that a sum that cancels to near zero is judged by the
 * size of what it summed. rtol 0: bit for bit. */
porta_status check_compare(check_call *c, const char *what, porta_view v, const float *want,
                           size_t n, double rtol)
{
    if (n == 0)
        return PORTA_OK;
    porta_context *ctx = c->ctx;
    float *got = keep(c, malloc(n * sizeof(float)));
    if (!got)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "check mode: %s", c->name);
    porta_status st = porta_buffer_read(ctx, v.buffer, v.offset * 4, n * 4, got);
    if (st)
        return st;
#ifdef PORTA_TEST_HOOKS
    if (ctx->corrupt_call[0] && strcmp(ctx->corrupt_call, c->name) == 0) {
        const size_t e = ctx->corrupt_element % n;
        got[e] = got[e] + 1.0f + 2.0f * fabsf(got[e]);
        ctx->corrupt_call[0] = '\0';
    }
#endif
    double scale = 0.0;
    for (size_t i = 0; i < n; i++)
        if (isfinite(want[i]) && fabs(want[i]) > scale)
            scale = fabs(want[i]);
    size_t first = n, off = 0;
    double first_tol = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double tol = rtol * (fabs(want[i]) + scale);
        int ok;
        if (isnan(want[i]))
            ok = isnan(got[i]);
        else if (rtol == 0.0 || !isfinite(want[i]))
            ok = memcmp(&got[i], &want[i], sizeof(float)) == 0 || got[i] == want[i];
        else
            ok = fabs((double)got[i] - (double)want[i]) <= tol;
        if (!ok) {
            if (first == n) {
                first = i;
                first_tol = tol;
            }
            off++;
        }
    }
    if (first == n)
        return PORTA_OK;
    return porta_msg_set(&ctx->msg, PORTA_ERROR_MISMATCH,
                         "check mode: %s (%s) diverges from the C reference: %s element %zu: "
                         "expected %.9g, got %.9g (tolerance %.3g); %zu of %zu elements off",
                         c->name, c->shape, what, first, (double)want[first], (double)got[first],
                         first_tol, off, n);
}
