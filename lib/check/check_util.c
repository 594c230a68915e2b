/* check_util.c: recording cases, comparing values, seeded data and device
 * buffers for the checks (check_internal.h). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"

static void vfail(porta__check *c, const char *fmt, va_list ap)
{
    c->failures++;
    if (c->first[0] == '\0')
        vsnprintf(c->first, sizeof(c->first), fmt, ap);
}

void porta__check_fail(porta__check *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfail(c, fmt, ap);
    va_end(ap);
}

void porta__check_skip(porta__check *c, const char *fmt, ...)
{
    if (c->skip[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->skip, sizeof(c->skip), fmt, ap);
    va_end(ap);
}

bool porta__check_case(porta__check *c, bool ok, const char *fmt, ...)
{
    c->cases++;
    if (ok)
        return true;
    va_list ap;
    va_start(ap, fmt);
    vfail(c, fmt, ap);
    va_end(ap);
    return false;
}

bool porta__check_call(porta__check *c, porta_status st, const char *fmt, ...)
{
    if (st == PORTA_OK)
        return true;
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    const char *msg = porta_context_message(c->ctx);
    c->cases++;
    if (c->first[0] == '\0') {
        snprintf(c->first, sizeof(c->first), "%s: %s", what, porta_strerror(st));
        snprintf(c->driver, sizeof(c->driver), "%s", msg);
        c->status = st;
    }
    c->failures++;
    /* The context is gone with the device; the host cannot go on without
     * memory: nothing after this check could run. */
    if (st == PORTA_ERROR_DEVICE_LOST || st == PORTA_ERROR_OUT_OF_HOST_MEMORY)
        c->fatal = st;
    return false;
}

bool porta__check_host_memory(porta__check *c, bool ok)
{
    if (!ok)
        porta__check_call(c,
                          porta_msg_set(&c->ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                                        "out of host memory for a check's buffers"),
                          "allocating host memory");
    return ok;
}

size_t porta__check_count_bad(porta__check *c, const float *got, const float *want,
                              const double *tol, size_t n, size_t *first)
{
    size_t bad = 0;
    *first = 0;
    for (size_t i = 0; i < n; i++) {
        bool ok;
        if (tol && tol[i] >= 0) {
            const double d = fabs((double)got[i] - (double)want[i]);
            ok = d <= tol[i] || (isnan(got[i]) && isnan(want[i]));
            if (ok && tol[i] > 0 && d / tol[i] > c->worst)
                c->worst = d / tol[i];
        } else {
            ok = memcmp(&got[i], &want[i], sizeof(float)) == 0 || (isnan(got[i]) && isnan(want[i]));
        }
        if (!ok && bad++ == 0)
            *first = i;
    }
    return bad;
}

bool porta__check_compare(porta__check *c, const char *what, const float *got, const float *want,
                          const double *tol, size_t n)
{
    size_t first = 0;
    const size_t bad = porta__check_count_bad(c, got, want, tol, n, &first);
    if (bad == 0)
        return porta__check_case(c, true, "%s", what);
    if (tol)
        return porta__check_case(c, false,
                                 "%s: %zu of %zu values wrong, first [%zu] = %.9g, reference %.9g "
                                 "(tolerance %.3g)",
                                 what, bad, n, first, (double)got[first], (double)want[first],
                                 tol[first]);
    return porta__check_case(c, false,
                             "%s: %zu of %zu values differ in their bits, first [%zu] = %.9g, "
                             "reference %.9g",
                             what, bad, n, first, (double)got[first], (double)want[first]);
}

bool porta__check_compare_buffer(porta__check *c, const char *what, porta_buffer *b, size_t off,
                                 const float *want, const double *tol, size_t n, size_t guard,
                                 float fill)
{
    float *got = malloc((n + guard ? n + guard : 1) * sizeof(float));
    if (!porta__check_host_memory(c, got != NULL))
        return false;
    bool ok = porta__check_call(c, porta__check_download(c->ctx, b, off, n + guard, got),
                                "%s: reading the result", what);
    if (ok) {
        size_t moved = n + guard;
        for (size_t i = n; i < n + guard && moved == n + guard; i++)
            if (memcmp(&got[i], &fill, sizeof(float)) != 0)
                moved = i;
        if (moved != n + guard)
            ok = porta__check_case(c, false, "%s: wrote past its output (element %zu after it)",
                                   what, moved - n);
        else
            ok = porta__check_compare(c, what, got, want, tol, n);
    }
    free(got);
    return ok;
}

bool porta__check_close(porta__check *c, const char *what, double got, double want, double tol)
{
    const double d = fabs(got - want);
    const bool ok = d <= tol || (isnan(got) && isnan(want));
    if (ok && tol > 0 && d / tol > c->worst)
        c->worst = d / tol;
    return porta__check_case(c, ok, "%s: %.9g, reference %.9g (tolerance %.3g)", what, got, want,
                             tol);
}

float porta__check_next(uint32_t *seed)
{
    *seed = *seed * 1664525u + 1013904223u;
    return (float)(*seed >> 8) / 8388608.0f - 1.0f;
}

void porta__check_random(float *v, size_t n, uint32_t *seed, float scale, float shift)
{
    for (size_t i = 0; i < n; i++)
        v[i] = shift + scale * porta__check_next(seed);
}

float *porta__check_random_new(size_t n, uint32_t *seed, float scale, float shift)
{
    float *v = malloc((n ? n : 1) * sizeof(float));
    if (v)
        porta__check_random(v, n, seed, scale, shift);
    return v;
}

void *porta__check_alloc(size_t n, size_t size)
{
    return calloc(n ? n : 1, size);
}

porta_status porta__check_upload(porta_context *ctx, const void *h, size_t off, size_t n,
                                 size_t guard, float fill, porta_buffer **out)
{
    const size_t total = off + n + guard;
    porta_status st = porta_buffer_create(ctx, (total ? total : 1) * sizeof(float), out);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(*out), total, fill);
    if (!st && h && n)
        st = porta_buffer_write(ctx, *out, off * sizeof(float), n * sizeof(float), h);
    return st;
}

porta_status porta__check_download(porta_context *ctx, porta_buffer *b, size_t off, size_t n,
                                   void *h)
{
    return n ? porta_buffer_read(ctx, b, off * sizeof(float), n * sizeof(float), h) : PORTA_OK;
}
