/* check_pool.c: kernels.pool, max and average pooling forward and
 * backward against lib/ref/ref_conv.c.
 *
 * Max forward is exact (a NaN must stay NaN; ties, -inf and a NaN sit in
 * the first plane); the rest within the float sum bound over the window,
 * 2 (T + 4) u M + 2 u |ref| (+ u |old| accumulating), as kernels.conv2d_*.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "ref/ref.h"

#define GUARD 5

/* batch, channels, in_h, in_w, kh, kw, sh, sw, ph, pw */
static const porta_pool_shape shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},    {2, 3, 7, 5, 2, 2, 2, 2, 0, 0}, /* odd input, 2x2 */
    {2, 3, 7, 5, 3, 3, 2, 2, 1, 1},    {1, 2, 6, 9, 3, 2, 1, 2, 1, 1}, /* overlapping */
    {1, 2, 5, 5, 3, 3, 1, 1, 1, 1},                                    /* stride 1 */
    {2, 16, 28, 28, 2, 2, 2, 2, 0, 0},                                 /* CNN pool */
    {2, 64, 8, 8, 8, 8, 1, 1, 0, 0},                                   /* global average */
};

static double *tolerances(const double *mag, const float *want, const float *old, size_t n,
                          size_t terms)
{
    double *tol = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; tol && i < n; i++)
        tol[i] = 2.0 * (double)(terms + 4) * PORTA_CHECK_U * mag[i] +
                 2.0 * PORTA_CHECK_U * fabs((double)want[i]) +
                 (old ? PORTA_CHECK_U * fabs((double)old[i]) : 0.0);
    return tol;
}

static void check_one(porta__check *c, const porta_pool_shape *s, int kind, uint32_t seed)
{
    porta_context *ctx = c->ctx;
    const size_t oh = (s->in_height + 2 * (size_t)s->pad_h - s->kernel_h) / s->stride_h + 1;
    const size_t ow = (s->in_width + 2 * (size_t)s->pad_w - s->kernel_w) / s->stride_w + 1;
    const size_t planes = (size_t)s->batch * s->channels;
    const size_t nx = planes * s->in_height * s->in_width, ny = planes * oh * ow;
    const size_t xo = 5, yo = 2, dyo = 7, dxo = 4;
    const bool accumulate = seed % 2;
    const float fill = 42.0f;
    float *x = porta__check_random_new(nx, &seed, 1.0f, 0.0f);
    float *dy = porta__check_random_new(ny, &seed, 1.0f, 0.0f);
    float *old = porta__check_random_new(nx, &seed, 1.0f, 0.0f);
    float *want = malloc((nx > ny ? nx : ny) * sizeof(float));
    double *ax = malloc(nx * sizeof(double)), *xd = malloc(nx * sizeof(double));
    double *ady = malloc(ny * sizeof(double)), *mag = malloc((nx > ny ? nx : ny) * sizeof(double));
    if (!porta__check_host_memory(c, x && dy && old && want && ax && xd && ady && mag))
        goto done;
    if (nx > 6 && kind == PORTA_POOL_MAX) {
        x[1] = x[0];
        x[3] = -INFINITY;
        x[5] = NAN;
    }
    for (size_t i = 0; i < nx; i++) {
        xd[i] = x[i];
        ax[i] = fabs((double)x[i]);
    }
    for (size_t i = 0; i < ny; i++)
        ady[i] = fabs((double)dy[i]);
    char name[160], what[220];
    snprintf(name, sizeof(name), "%s pool n%u c%u %ux%u k%ux%u s%ux%u p%ux%u",
             kind == PORTA_POOL_MAX ? "max" : "avg", s->batch, s->channels, s->in_height,
             s->in_width, s->kernel_h, s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w);
    porta_buffer *bx = NULL, *by = NULL, *bdy = NULL, *bdx = NULL;
    porta_status st = porta__check_upload(ctx, x, xo, nx, GUARD, 0.0f, &bx);
    if (!st)
        st = porta__check_upload(ctx, NULL, yo, ny, GUARD, fill, &by);
    if (!st)
        st = porta__check_upload(ctx, dy, dyo, ny, GUARD, 0.0f, &bdy);
    if (!st)
        st = porta__check_upload(ctx, old, dxo, nx, GUARD, fill, &bdx);
    snprintf(what, sizeof(what), "%s forward", name);
    if (!st)
        st = porta_pool_forward(ctx, (porta_pool_kind)kind, s, porta_view_at(bx, xo),
                                porta_view_at(by, yo));
    if (porta__check_call(c, st, "%s", what)) {
        porta_ref_pool_forward(kind, s, x, want);
        porta_ref_pool_forward_f64(PORTA_POOL_AVG, s, ax, mag);
        double *tol = tolerances(mag, want, NULL, ny, (size_t)s->kernel_h * s->kernel_w);
        if (porta__check_host_memory(c, tol != NULL))
            porta__check_compare_buffer(c, what, by, yo, want, kind == PORTA_POOL_MAX ? NULL : tol,
                                        ny, GUARD, fill);
        free(tol);
    }
    snprintf(what, sizeof(what), "%s backward%s", name, accumulate ? " accumulate" : "");
    if (!c->fatal &&
        porta__check_call(
            c,
            porta_pool_backward(ctx, (porta_pool_kind)kind, s,
                                kind == PORTA_POOL_MAX ? porta_view_at(bx, xo) : porta_view_none(),
                                porta_view_at(bdy, dyo), porta_view_at(bdx, dxo), accumulate),
            "%s", what)) {
        memcpy(want, old, nx * sizeof(float));
        porta_ref_pool_backward(kind, s, x, dy, want, accumulate);
        /* |dy| through the same windows (max: the same argmax, from x) */
        porta_ref_pool_backward_f64(kind, s, xd, ady, mag);
        double *tol =
            tolerances(mag, want, accumulate ? old : NULL, nx, (size_t)s->kernel_h * s->kernel_w);
        if (porta__check_host_memory(c, tol != NULL))
            porta__check_compare_buffer(c, what, bdx, dxo, want, tol, nx, GUARD, fill);
        free(tol);
    }
    porta_buffer_destroy(ctx, bx);
    porta_buffer_destroy(ctx, by);
    porta_buffer_destroy(ctx, bdy);
    porta_buffer_destroy(ctx, bdx);
done:
    free(x);
    free(dy);
    free(old);
    free(want);
    free(ax);
    free(xd);
    free(ady);
    free(mag);
}

void porta__check_pool(porta__check *c)
{
    const size_t n = c->quick ? 5 : sizeof(shapes) / sizeof(shapes[0]);
    uint32_t seed = 500;
    for (size_t i = 0; i < n && !c->fatal; i++)
        for (int kind = 0; kind < 2; kind++)
            check_one(c, &shapes[i], kind, seed++);
}
