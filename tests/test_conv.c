/* test_conv: 2-D convolution and pooling, forward and backward, on every
 * device against the C reference (lib/ref).
 *
 * Shapes: a 1x1 everything, odd sizes (7x5 input, 3 channels in, 5 out),
 * stride 2 with padding, dilation 2, asymmetric kernels / strides / pads,
 * 1x1 projections, batch 1, channel counts that are no multiple of the
 * kernels' tiles, the Fashion-MNIST CNN and CIFAR-10 ResNet layers at batch
 * 2; some also with the reduction split into several dispatches (as the
 * host does for llvmpipe's loop budget on large problems). Every buffer sits at an odd
 * offset and has guard elements after it whose bits must not change.
 *
 * Tolerances (u = 2^-24): a result summed from T products lies within
 * 2 (T + 4) u M + 2 u |want| of the double reference, where M is the same
 * sum over the absolute values (the reference run on |x|, |w|, ...);
 * accumulating adds |old| u. Max pooling forward is exact.
 *
 * The reference backward passes are checked against central finite
 * differences of the reference forward passes in double, and the argument
 * checks against bad calls. `test_conv --bench` instead times the CNN's and
 * ResNet's layers at batch 64 and prints GFLOP/s (no assertion).
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conv_internal.h"
#include "harness.h"
#include "internal.h"
#include "ref/ref.h"

#define U (1.0 / 16777216.0)
#define GUARD 5

/* batch, in_channels, in_h, in_w, out_channels, kh, kw, sh, sw, ph, pw, dh, dw */
static const porta_conv2d_shape conv_shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},     /* everything 1 */
    {2, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1},     /* odd sizes, "same" padding */
    {2, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1},     /* stride 2, padding */
    {1, 3, 11, 10, 9, 3, 3, 1, 1, 2, 2, 2, 2},   /* dilation 2, batch 1 */
    {3, 5, 8, 7, 10, 1, 1, 2, 2, 0, 0, 1, 1},    /* 1x1 projection, stride 2 */
    {2, 2, 6, 9, 3, 2, 4, 1, 2, 0, 1, 2, 1},     /* asymmetric everything */
    {1, 17, 5, 5, 33, 3, 3, 1, 1, 1, 1, 1, 1},   /* channels off the tiles */
    {2, 3, 5, 4, 2, 3, 3, 3, 2, 1, 0, 1, 1},     /* stride 3 */
    {2, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1},  /* CNN conv1 */
    {2, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1}, /* CNN conv2 */
    {2, 32, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1},   /* CNN conv3 */
    {2, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1},  /* ResNet stem */
    {1, 2, 18, 5, 3, 17, 2, 1, 1, 0, 1, 1, 1},   /* kernel past the row kernels: general path */
    {2, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1}, /* ResNet down-sampling conv */
    {2, 16, 32, 32, 32, 1, 1, 2, 2, 0, 0, 1, 1}, /* ResNet 1x1 projection */
    {2, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1},   /* ResNet last stage */
};

/* batch, channels, in_h, in_w, kh, kw, sh, sw, ph, pw */
static const porta_pool_shape pool_shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0},    {2, 3, 7, 5, 2, 2, 2, 2, 0, 0}, /* odd input, 2x2 */
    {2, 3, 7, 5, 3, 3, 2, 2, 1, 1},    {1, 2, 6, 9, 3, 2, 1, 2, 1, 1}, /* overlapping */
    {2, 16, 28, 28, 2, 2, 2, 2, 0, 0},                                 /* CNN pool */
    {2, 64, 8, 8, 8, 8, 1, 1, 0, 0},                                   /* global average */
    {1, 2, 5, 5, 3, 3, 1, 1, 1, 1},                                    /* stride 1 */
};

static float next_value(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
}

static float *host_random(size_t n, uint32_t *seed)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; h && i < n; i++)
        h[i] = next_value(seed);
    return h;
}

static double *to_abs_f64(const float *v, size_t n)
{
    double *r = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; r && i < n; i++)
        r[i] = fabs((double)v[i]);
    return r;
}

/* A device buffer of off + n + GUARD floats: h at off, `fill` around it. */
static porta_status upload(porta_context *ctx, const float *h, size_t off, size_t n, float fill,
                           porta_buffer **out)
{
    porta_status st = porta_buffer_create(ctx, (off + n + GUARD) * sizeof(float), out);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(*out), off + n + GUARD, fill);
    if (!st && n && h)
        st = porta_buffer_write(ctx, *out, off * sizeof(float), n * sizeof(float), h);
    return st;
}

/* Compare n results at off of buffer b with want (tol[i] each) and check
 * that the GUARD elements after them still hold `fill`. */
static void compare(test_state *t, porta_context *ctx, const char *dev, const char *what,
                    porta_buffer *b, size_t off, const float *want, const double *tol, size_t n,
                    float fill)
{
    float *got = malloc((n + GUARD) * sizeof(float));
    porta_status st =
        got ? porta_buffer_read(ctx, b, off * sizeof(float), (n + GUARD) * sizeof(float), got)
            : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    CHECK(t, st == PORTA_OK, "%s %s read: %s", dev, what, porta_strerror(st));
    if (st) {
        free(got);
        return;
    }
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        int ok = d <= tol[i] || (isnan(got[i]) && isnan(want[i]));
        if (!ok && bad++ == 0)
            first = i;
    }
    CHECK(t, bad == 0, "%s %s: %zu of %zu wrong, first [%zu] = %.9g, want %.9g (tol %.3g)", dev,
          what, bad, n, first, (double)got[first], (double)want[first], tol[first]);
    int guard_ok = 1;
    for (size_t i = n; i < n + GUARD; i++)
        guard_ok &= memcmp(&got[i], &fill, sizeof(float)) == 0;
    CHECK(t, guard_ok, "%s %s: wrote past its output", dev, what);
    free(got);
}

/* tol[i] = 2 (terms + 4) u mag[i] + 2 u |want[i]| (+ u |old[i]|). */
static double *tolerances(const double *mag, const float *want, const float *old, size_t n,
                          size_t terms)
{
    double *tol = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; tol && i < n; i++)
        tol[i] = 2.0 * (double)(terms + 4) * U * mag[i] + 2.0 * U * fabs((double)want[i]) +
                 (old ? U * fabs((double)old[i]) : 0.0);
    return tol;
}

/* ---- convolution on the devices ---- */

typedef struct conv_sizes {
    size_t oh, ow, nx, nw, ny;
} conv_sizes;

static conv_sizes conv_sizes_of(const porta_conv2d_shape *s)
{
    conv_sizes z;
    size_t span_h = (size_t)s->dilation_h * (s->kernel_h - 1) + 1;
    size_t span_w = (size_t)s->dilation_w * (s->kernel_w - 1) + 1;
    z.oh = (s->in_height + 2 * (size_t)s->pad_h - span_h) / s->stride_h + 1;
    z.ow = (s->in_width + 2 * (size_t)s->pad_w - span_w) / s->stride_w + 1;
    z.nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    z.nw = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    z.ny = (size_t)s->batch * s->out_channels * z.oh * z.ow;
    return z;
}

typedef struct conv_data {
    conv_sizes z;
    float *x, *w, *b, *dy, *old_x, *old_w, *old_b, *want;
} conv_data;

static int conv_alloc(conv_data *d, const porta_conv2d_shape *s, uint32_t seed)
{
    d->z = conv_sizes_of(s);
    d->x = host_random(d->z.nx, &seed);
    d->w = host_random(d->z.nw, &seed);
    d->b = host_random(s->out_channels, &seed);
    d->dy = host_random(d->z.ny, &seed);
    d->old_x = host_random(d->z.nx, &seed);
    d->old_w = host_random(d->z.nw, &seed);
    d->old_b = host_random(s->out_channels, &seed);
    size_t big = d->z.nx > d->z.ny ? d->z.nx : d->z.ny;
    big = big > d->z.nw ? big : d->z.nw;
    d->want = malloc(big * sizeof(float));
    return d->x && d->w && d->b && d->dy && d->old_x && d->old_w && d->old_b && d->want;
}

static void conv_free(conv_data *d)
{
    float *all[] = {d->x, d->w, d->b, d->dy, d->old_x, d->old_w, d->old_b, d->want};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]);
}

static void shape_name(const porta_conv2d_shape *s, char *buf, size_t size)
{
    snprintf(buf, size, "conv n%u c%u %ux%u -> %u k%ux%u s%ux%u p%ux%u d%ux%u", s->batch,
             s->in_channels, s->in_height, s->in_width, s->out_channels, s->kernel_h, s->kernel_w,
             s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->dilation_h, s->dilation_w);
}

/* Forward on the device (bias when with_bias) against the reference. */
static void check_conv_forward(test_state *t, porta_context *ctx, const char *dev,
                               const porta_conv2d_shape *s, const conv_data *d, int with_bias,
                               size_t split)
{
    const size_t xo = 3, wo = 7, bo = 1, yo = 5;
    const float fill = 7.5f;
    char name[160], what[300];
    shape_name(s, name, sizeof(name));
    snprintf(what, sizeof(what), "%s forward%s split %zu", name, with_bias ? " +bias" : "", split);
    porta_buffer *x = NULL, *w = NULL, *b = NULL, *y = NULL;
    porta_status st = upload(ctx, d->x, xo, d->z.nx, 0.0f, &x);
    if (!st)
        st = upload(ctx, d->w, wo, d->z.nw, 0.0f, &w);
    if (!st)
        st = upload(ctx, d->b, bo, s->out_channels, 0.0f, &b);
    if (!st)
        st = upload(ctx, NULL, yo, d->z.ny, fill, &y);
    if (!st)
        st = porta__conv2d_forward_split(ctx, s, porta_view_at(x, xo), porta_view_at(w, wo),
                                         with_bias ? porta_view_at(b, bo) : porta_view_none(),
                                         porta_view_at(y, yo), split);
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
    if (!st) {
        porta_ref_conv2d_forward(s, d->x, d->w, with_bias ? d->b : NULL, d->want);
        double *ax = to_abs_f64(d->x, d->z.nx), *aw = to_abs_f64(d->w, d->z.nw),
               *ab = to_abs_f64(d->b, s->out_channels), *mag = malloc(d->z.ny * sizeof(double));
        porta_ref_conv2d_forward_f64(s, ax, aw, with_bias ? ab : NULL, mag);
        double *tol =
            tolerances(mag, d->want, NULL, d->z.ny,
                       (size_t)s->in_channels * s->kernel_h * s->kernel_w + (with_bias ? 1 : 0));
        compare(t, ctx, dev, what, y, yo, d->want, tol, d->z.ny, fill);
        free(ax);
        free(aw);
        free(ab);
        free(mag);
        free(tol);
    }
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, w);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, y);
}

/* Backward data on the device, into dx holding old_x when accumulating. */
static void check_conv_backward_data(test_state *t, porta_context *ctx, const char *dev,
                                     const porta_conv2d_shape *s, const conv_data *d,
                                     int accumulate, size_t split)
{
    const size_t dyo = 1, wo = 4, dxo = 9;
    const float fill = -3.25f;
    char name[160], what[300];
    shape_name(s, name, sizeof(name));
    snprintf(what, sizeof(what), "%s backward data%s split %zu", name,
             accumulate ? " accumulate" : "", split);
    porta_buffer *dy = NULL, *w = NULL, *dx = NULL;
    porta_status st = upload(ctx, d->dy, dyo, d->z.ny, 0.0f, &dy);
    if (!st)
        st = upload(ctx, d->w, wo, d->z.nw, 0.0f, &w);
    if (!st)
        st = upload(ctx, d->old_x, dxo, d->z.nx, fill, &dx);
    if (!st)
        st = porta__conv2d_backward_data_split(ctx, s, porta_view_at(dy, dyo), porta_view_at(w, wo),
                                               porta_view_at(dx, dxo), accumulate != 0, split);
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
    if (!st) {
        memcpy(d->want, d->old_x, d->z.nx * sizeof(float));
        porta_ref_conv2d_backward_data(s, d->dy, d->w, d->want, accumulate);
        double *ady = to_abs_f64(d->dy, d->z.ny), *aw = to_abs_f64(d->w, d->z.nw),
               *mag = malloc(d->z.nx * sizeof(double));
        porta_ref_conv2d_backward_data_f64(s, ady, aw, mag);
        double *tol = tolerances(mag, d->want, accumulate ? d->old_x : NULL, d->z.nx,
                                 (size_t)s->out_channels * s->kernel_h * s->kernel_w);
        compare(t, ctx, dev, what, dx, dxo, d->want, tol, d->z.nx, fill);
        free(ady);
        free(aw);
        free(mag);
        free(tol);
    }
    porta_buffer_destroy(ctx, dy);
    porta_buffer_destroy(ctx, w);
    porta_buffer_destroy(ctx, dx);
}

/* Backward filter on the device (dbias when with_bias), into dw / dbias
 * holding old_w / old_b when accumulating; split: pixels per dispatch. */
static void check_conv_backward_filter(test_state *t, porta_context *ctx, const char *dev,
                                       const porta_conv2d_shape *s, const conv_data *d,
                                       int with_bias, int accumulate, size_t split)
{
    const size_t xo = 2, dyo = 6, dwo = 3, dbo = 11;
    const float fill = 1.0e9f;
    char name[160], what[300];
    shape_name(s, name, sizeof(name));
    snprintf(what, sizeof(what), "%s backward filter%s%s split %zu", name,
             with_bias ? " +dbias" : "", accumulate ? " accumulate" : "", split);
    const size_t co = s->out_channels, terms = (size_t)s->batch * d->z.oh * d->z.ow;
    porta_buffer *x = NULL, *dy = NULL, *dw = NULL, *db = NULL;
    porta_status st = upload(ctx, d->x, xo, d->z.nx, 0.0f, &x);
    if (!st)
        st = upload(ctx, d->dy, dyo, d->z.ny, 0.0f, &dy);
    if (!st)
        st = upload(ctx, d->old_w, dwo, d->z.nw, fill, &dw);
    if (!st)
        st = upload(ctx, d->old_b, dbo, co, fill, &db);
    if (!st)
        st = porta__conv2d_backward_filter_split(
            ctx, s, porta_view_at(x, xo), porta_view_at(dy, dyo), porta_view_at(dw, dwo),
            with_bias ? porta_view_at(db, dbo) : porta_view_none(), accumulate != 0, split);
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
    if (!st) {
        float *want_b = malloc(co * sizeof(float));
        memcpy(d->want, d->old_w, d->z.nw * sizeof(float));
        memcpy(want_b, d->old_b, co * sizeof(float));
        porta_ref_conv2d_backward_filter(s, d->x, d->dy, d->want, want_b, accumulate);
        double *ax = to_abs_f64(d->x, d->z.nx), *ady = to_abs_f64(d->dy, d->z.ny),
               *mag = malloc(d->z.nw * sizeof(double)), *magb = malloc(co * sizeof(double));
        porta_ref_conv2d_backward_filter_f64(s, ax, ady, mag, magb);
        double *tol = tolerances(mag, d->want, accumulate ? d->old_w : NULL, d->z.nw, terms);
        compare(t, ctx, dev, what, dw, dwo, d->want, tol, d->z.nw, fill);
        free(tol);
        char whatb[340];
        snprintf(whatb, sizeof(whatb), "%s dbias", what);
        if (with_bias) {
            tol = tolerances(magb, want_b, accumulate ? d->old_b : NULL, co, terms);
            compare(t, ctx, dev, whatb, db, dbo, want_b, tol, co, fill);
            free(tol);
        } else {
            double *exact = calloc(co, sizeof(double));
            compare(t, ctx, dev, whatb, db, dbo, d->old_b, exact, co, fill); /* untouched */
            free(exact);
        }
        free(want_b);
        free(ax);
        free(ady);
        free(mag);
        free(magb);
    }
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, dy);
    porta_buffer_destroy(ctx, dw);
    porta_buffer_destroy(ctx, db);
}

static void check_convs(test_state *t, porta_context *ctx, const char *dev)
{
    uint32_t seed = 100;
    for (size_t i = 0; i < sizeof(conv_shapes) / sizeof(conv_shapes[0]); i++) {
        const porta_conv2d_shape *s = &conv_shapes[i];
        conv_data d = {0};
        int ok = conv_alloc(&d, s, seed++);
        CHECK(t, ok, "out of host memory");
        if (ok) {
            check_conv_forward(t, ctx, dev, s, &d, i % 2 == 0, 0);
            check_conv_backward_data(t, ctx, dev, s, &d, i % 2 == 1, 0);
            check_conv_backward_filter(t, ctx, dev, s, &d, i % 3 != 2, i % 2 == 0, 0);
        }
        /* The split paths: channels (forward, backward data) or pixels
         * (backward filter) summed in several dispatches, down to one per
         * dispatch. */
        if (ok && (i == 2 || i == 6 || i == 9)) {
            check_conv_forward(t, ctx, dev, s, &d, 1, i == 2 ? 1 : 5);
            check_conv_backward_data(t, ctx, dev, s, &d, 1, i == 2 ? 1 : 7);
            check_conv_backward_filter(t, ctx, dev, s, &d, 1, 1, 100);
            check_conv_backward_filter(t, ctx, dev, s, &d, 0, 0, i == 2 ? 1 : 333);
        }
        conv_free(&d);
    }
}

/* ---- pooling on the devices ---- */

static void pool_name(const porta_pool_shape *s, int kind, char *buf, size_t size)
{
    snprintf(buf, size, "%s pool n%u c%u %ux%u k%ux%u s%ux%u p%ux%u",
             kind == PORTA_POOL_MAX ? "max" : "avg", s->batch, s->channels, s->in_height,
             s->in_width, s->kernel_h, s->kernel_w, s->stride_h, s->stride_w, s->pad_h, s->pad_w);
}

static void check_pool(test_state *t, porta_context *ctx, const char *dev,
                       const porta_pool_shape *s, int kind, uint32_t seed)
{
    const size_t oh = (s->in_height + 2 * (size_t)s->pad_h - s->kernel_h) / s->stride_h + 1;
    const size_t ow = (s->in_width + 2 * (size_t)s->pad_w - s->kernel_w) / s->stride_w + 1;
    const size_t planes = (size_t)s->batch * s->channels;
    const size_t nx = planes * s->in_height * s->in_width, ny = planes * oh * ow;
    const size_t xo = 5, yo = 2, dyo = 7, dxo = 4;
    const int accumulate = (int)(seed % 2);
    const float fill = 42.0f;
    float *x = host_random(nx, &seed), *dy = host_random(ny, &seed), *old = host_random(nx, &seed);
    float *want = malloc((nx > ny ? nx : ny) * sizeof(float));
    double *adx = to_abs_f64(dy, ny), *mag = malloc(nx * sizeof(double)), *tol = NULL;
    /* Ties, -inf and a NaN in the first plane (max only): the first NaN
     * wins, and a NaN must stay NaN. */
    if (x && nx > 6 && kind == PORTA_POOL_MAX) {
        x[1] = x[0];
        x[3] = -INFINITY;
        x[5] = NAN;
    }
    char name[160], what[300];
    pool_name(s, kind, name, sizeof(name));
    porta_buffer *bx = NULL, *by = NULL, *bdy = NULL, *bdx = NULL;
    porta_status st =
        x && dy && old && want && adx && mag ? PORTA_OK : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = upload(ctx, x, xo, nx, 0.0f, &bx);
    if (!st)
        st = upload(ctx, NULL, yo, ny, fill, &by);
    if (!st)
        st = upload(ctx, dy, dyo, ny, 0.0f, &bdy);
    if (!st)
        st = upload(ctx, old, dxo, nx, fill, &bdx);
    if (!st)
        st = porta_pool_forward(ctx, (porta_pool_kind)kind, s, porta_view_at(bx, xo),
                                porta_view_at(by, yo));
    CHECK(t, st == PORTA_OK, "%s %s forward: %s: %s", dev, name, porta_strerror(st),
          porta_context_message(ctx));
    if (!st) {
        porta_ref_pool_forward(kind, s, x, want);
        double *ax = to_abs_f64(x, nx), *magy = malloc(ny * sizeof(double));
        porta_ref_pool_forward_f64(PORTA_POOL_AVG, s, ax, magy);
        tol = tolerances(magy, want, NULL, ny, s->kernel_h * s->kernel_w);
        for (size_t i = 0; kind == PORTA_POOL_MAX && tol && i < ny; i++)
            tol[i] = 0.0; /* exact; NaN must stay NaN */
        snprintf(what, sizeof(what), "%s forward", name);
        compare(t, ctx, dev, what, by, yo, want, tol, ny, fill);
        free(ax);
        free(magy);
        free(tol);
        tol = NULL;
    }
    if (!st)
        st = porta_pool_backward(ctx, (porta_pool_kind)kind, s,
                                 kind == PORTA_POOL_MAX ? porta_view_at(bx, xo) : porta_view_none(),
                                 porta_view_at(bdy, dyo), porta_view_at(bdx, dxo), accumulate);
    CHECK(t, st == PORTA_OK, "%s %s backward: %s: %s", dev, name, porta_strerror(st),
          porta_context_message(ctx));
    if (!st) {
        memcpy(want, old, nx * sizeof(float));
        porta_ref_pool_backward(kind, s, x, dy, want, accumulate);
        /* |dy| through the same windows (max: the same argmax, from x). */
        double *xd = malloc(nx * sizeof(double));
        for (size_t i = 0; xd && i < nx; i++)
            xd[i] = x[i];
        if (xd)
            porta_ref_pool_backward_f64(kind, s, xd, adx, mag);
        free(xd);
        tol = tolerances(mag, want, accumulate ? old : NULL, nx, (size_t)s->kernel_h * s->kernel_w);
        snprintf(what, sizeof(what), "%s backward%s", name, accumulate ? " accumulate" : "");
        compare(t, ctx, dev, what, bdx, dxo, want, tol, nx, fill);
    }
    free(x);
    free(dy);
    free(old);
    free(want);
    free(adx);
    free(mag);
    free(tol);
    porta_buffer_destroy(ctx, bx);
    porta_buffer_destroy(ctx, by);
    porta_buffer_destroy(ctx, bdy);
    porta_buffer_destroy(ctx, bdx);
}

static void check_pools(test_state *t, porta_context *ctx, const char *dev)
{
    uint32_t seed = 500;
    for (size_t i = 0; i < sizeof(pool_shapes) / sizeof(pool_shapes[0]); i++)
        for (int kind = 0; kind < 2; kind++)
            check_pool(t, ctx, dev, &pool_shapes[i], kind, seed++);
}

/* ---- argument checks ---- */

/* st must be want; an error's message must name the call and `field`. */
static void expect(test_state *t, porta_context *ctx, const char *dev, const char *what,
                   porta_status st, porta_status want, const char *call, const char *field)
{
    CHECK(t, st == want, "%s %s: got %s (%s), want %s", dev, what, porta_strerror(st),
          porta_context_message(ctx), porta_strerror(want));
    if (want != PORTA_OK && st == want) {
        const char *m = porta_context_message(ctx);
        CHECK(t, strstr(m, call) && strstr(m, field), "%s %s: message '%s' names not %s and %s",
              dev, what, m, call, field);
    }
}

static void check_conv_errors(test_state *t, porta_context *ctx, const char *dev)
{
    static const char fw[] = "porta_conv2d_forward";
    const porta_conv2d_shape ok = {2, 3, 7, 5, 4, 3, 3, 2, 2, 1, 1, 1, 1}; /* out 4x3 */
    porta_buffer *a = NULL, *small = NULL;
    porta_status st = porta_buffer_create(ctx, 4096 * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, 16 * sizeof(float), &small);
    CHECK_OK(t, ctx, st, "conv error-test buffers");
    if (st)
        return;
    size_t oh = 0, ow = 0;
    st = porta_conv2d_output_size(ctx, &ok, &oh, &ow);
    CHECK(t, st == PORTA_OK && oh == 4 && ow == 3, "%s conv output size %zux%zu, want 4x3", dev, oh,
          ow);
    porta_conv2d_shape bad = ok;
    bad.batch = 0;
    expect(t, ctx, dev, "conv batch 0",
           porta_conv2d_forward(ctx, &bad, porta_view_of(a), porta_view_of(a), porta_view_none(),
                                porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, "batch");
    bad = ok;
    bad.out_channels = 0;
    expect(t, ctx, dev, "conv out_channels 0",
           porta_conv2d_backward_data(ctx, &bad, porta_view_of(a), porta_view_of(a),
                                      porta_view_of(a), false),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_conv2d_backward_data", "out_channels");
    bad = ok;
    bad.stride_w = 0;
    expect(t, ctx, dev, "conv stride 0",
           porta_conv2d_backward_filter(ctx, &bad, porta_view_of(a), porta_view_of(a),
                                        porta_view_of(a), porta_view_none(), false),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_conv2d_backward_filter", "stride_w");
    bad = ok;
    bad.dilation_h = 0;
    expect(t, ctx, dev, "conv dilation 0", porta_conv2d_output_size(ctx, &bad, &oh, &ow),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_conv2d_output_size", "dilation_h");
    bad = ok;
    bad.pad_h = 0;
    bad.kernel_h = 10; /* 10 > 7 */
    expect(t, ctx, dev, "conv output < 1", porta_conv2d_output_size(ctx, &bad, &oh, &ow),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_conv2d_output_size", "empty");
    bad = ok;
    bad.dilation_w = 4; /* span 9 > 5 + 2 */
    expect(t, ctx, dev, "conv dilated output < 1",
           porta_conv2d_forward(ctx, &bad, porta_view_of(a), porta_view_of(a), porta_view_none(),
                                porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, "empty");
    expect(t, ctx, dev, "conv NULL shape",
           porta_conv2d_forward(ctx, NULL, porta_view_of(a), porta_view_of(a), porta_view_none(),
                                porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, " s");
    expect(t, ctx, dev, "conv x too small",
           porta_conv2d_forward(ctx, &ok, porta_view_of(small), porta_view_of(a), porta_view_none(),
                                porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, " x");
    expect(t, ctx, dev, "conv w past the end",
           porta_conv2d_forward(ctx, &ok, porta_view_of(a), porta_view_at(a, 4000),
                                porta_view_none(), porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, " w");
    expect(t, ctx, dev, "conv bias past the end",
           porta_conv2d_forward(ctx, &ok, porta_view_of(a), porta_view_of(a),
                                porta_view_at(a, 4093), porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, "bias");
    expect(t, ctx, dev, "conv y NULL",
           porta_conv2d_forward(ctx, &ok, porta_view_of(a), porta_view_of(a), porta_view_none(),
                                porta_view_none()),
           PORTA_ERROR_INVALID_ARGUMENT, fw, " y");
    expect(t, ctx, dev, "conv dx too small",
           porta_conv2d_backward_data(ctx, &ok, porta_view_of(a), porta_view_of(a),
                                      porta_view_of(small), true),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_conv2d_backward_data", "dx");
    expect(t, ctx, dev, "conv dbias too small",
           porta_conv2d_backward_filter(ctx, &ok, porta_view_of(a), porta_view_of(a),
                                        porta_view_of(a), porta_view_at(small, 13), false),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_conv2d_backward_filter", "dbias");
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, small);
}

static void check_pool_errors(test_state *t, porta_context *ctx, const char *dev)
{
    static const char fw[] = "porta_pool_forward", bw[] = "porta_pool_backward";
    const porta_pool_shape ok = {2, 3, 7, 5, 3, 3, 2, 2, 1, 1}; /* out 4x3 */
    porta_buffer *a = NULL, *small = NULL;
    porta_status st = porta_buffer_create(ctx, 1024 * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, 16 * sizeof(float), &small);
    CHECK_OK(t, ctx, st, "pool error-test buffers");
    if (st)
        return;
    size_t oh = 0, ow = 0;
    st = porta_pool_output_size(ctx, &ok, &oh, &ow);
    CHECK(t, st == PORTA_OK && oh == 4 && ow == 3, "%s pool output size %zux%zu, want 4x3", dev, oh,
          ow);
    porta_pool_shape bad = ok;
    bad.channels = 0;
    expect(t, ctx, dev, "pool channels 0",
           porta_pool_forward(ctx, PORTA_POOL_MAX, &bad, porta_view_of(a), porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, "channels");
    bad = ok;
    bad.pad_w = 2; /* > 3 / 2 */
    expect(t, ctx, dev, "pool pad > kernel / 2",
           porta_pool_forward(ctx, PORTA_POOL_AVG, &bad, porta_view_of(a), porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, "pad");
    bad = ok;
    bad.kernel_h = 10;
    bad.pad_h = 0;
    expect(t, ctx, dev, "pool output < 1", porta_pool_output_size(ctx, &bad, &oh, &ow),
           PORTA_ERROR_INVALID_ARGUMENT, "porta_pool_output_size", "empty");
    expect(t, ctx, dev, "pool kind 7",
           porta_pool_forward(ctx, (porta_pool_kind)7, &ok, porta_view_of(a), porta_view_of(a)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, "kind");
    expect(t, ctx, dev, "pool y too small",
           porta_pool_forward(ctx, PORTA_POOL_MAX, &ok, porta_view_of(a), porta_view_of(small)),
           PORTA_ERROR_INVALID_ARGUMENT, fw, " y");
    expect(t, ctx, dev, "max pool backward x NULL",
           porta_pool_backward(ctx, PORTA_POOL_MAX, &ok, porta_view_none(), porta_view_of(a),
                               porta_view_of(a), false),
           PORTA_ERROR_INVALID_ARGUMENT, bw, " x");
    expect(t, ctx, dev, "pool dy past the end",
           porta_pool_backward(ctx, PORTA_POOL_AVG, &ok, porta_view_none(), porta_view_at(a, 1000),
                               porta_view_of(a), false),
           PORTA_ERROR_INVALID_ARGUMENT, bw, "dy");
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, small);
}

/* ---- the references against finite differences (host, double) ---- */

/* L = sum y * g for the forward pass of `which` (0 conv, 1 max, 2 avg). */
static double loss(int which, const void *shape, const double *x, const double *w, const double *b,
                   const double *g, double *y, size_t ny)
{
    if (which == 0)
        porta_ref_conv2d_forward_f64(shape, x, w, b, y);
    else
        porta_ref_pool_forward_f64(which == 1 ? PORTA_POOL_MAX : PORTA_POOL_AVG, shape, x, y);
    double l = 0.0;
    for (size_t i = 0; i < ny; i++)
        l += y[i] * g[i];
    return l;
}

/* Central differences of L over the n elements of v against grad. */
static void fd_check(test_state *t, const char *what, int which, const void *shape, double *v,
                     size_t n, const double *grad, double *x, double *w, double *b, const double *g,
                     double *y, size_t ny, double h)
{
    size_t bad = 0, first = 0;
    double first_fd = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double keep = v[i];
        v[i] = keep + h;
        double lp = loss(which, shape, x, w, b, g, y, ny);
        v[i] = keep - h;
        double lm = loss(which, shape, x, w, b, g, y, ny);
        v[i] = keep;
        double fd = (lp - lm) / (2.0 * h);
        if (!(fabs(fd - grad[i]) <= 1e-7 * (1.0 + fabs(grad[i]))) && bad++ == 0) {
            first = i;
            first_fd = fd;
        }
    }
    CHECK(t, bad == 0,
          "reference %s vs finite differences: %zu of %zu wrong, first [%zu] %.12g, "
          "differences say %.12g",
          what, bad, n, first, n ? grad[first] : 0.0, first_fd);
}

static double *random_f64(size_t n, uint32_t *seed)
{
    double *r = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; r && i < n; i++)
        r[i] = next_value(seed);
    return r;
}

static void check_conv_gradients(test_state *t)
{
    const size_t picks[] = {1, 2, 3, 5, 7};
    uint32_t seed = 900;
    for (size_t k = 0; k < sizeof(picks) / sizeof(picks[0]); k++) {
        const porta_conv2d_shape *s = &conv_shapes[picks[k]];
        conv_sizes z = conv_sizes_of(s);
        double *x = random_f64(z.nx, &seed), *w = random_f64(z.nw, &seed),
               *b = random_f64(s->out_channels, &seed), *g = random_f64(z.ny, &seed);
        double *y = malloc(z.ny * sizeof(double)), *dx = malloc(z.nx * sizeof(double)),
               *dw = malloc(z.nw * sizeof(double)), *db = malloc(s->out_channels * sizeof(double));
        if (x && w && b && g && y && dx && dw && db) {
            porta_ref_conv2d_backward_data_f64(s, g, w, dx);
            porta_ref_conv2d_backward_filter_f64(s, x, g, dw, db);
            char name[160], what[220];
            shape_name(s, name, sizeof(name));
            snprintf(what, sizeof(what), "%s dx", name);
            fd_check(t, what, 0, s, x, z.nx, dx, x, w, b, g, y, z.ny, 1e-3);
            snprintf(what, sizeof(what), "%s dw", name);
            fd_check(t, what, 0, s, w, z.nw, dw, x, w, b, g, y, z.ny, 1e-3);
            snprintf(what, sizeof(what), "%s dbias", name);
            fd_check(t, what, 0, s, b, s->out_channels, db, x, w, b, g, y, z.ny, 1e-3);
        }
        double *all[] = {x, w, b, g, y, dx, dw, db};
        for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
            free(all[i]);
    }
}

static void check_pool_gradients(test_state *t)
{
    const size_t picks[] = {1, 2, 3, 6};
    uint32_t seed = 950;
    for (size_t k = 0; k < sizeof(picks) / sizeof(picks[0]); k++) {
        const porta_pool_shape *s = &pool_shapes[picks[k]];
        const size_t oh = (s->in_height + 2 * (size_t)s->pad_h - s->kernel_h) / s->stride_h + 1;
        const size_t ow = (s->in_width + 2 * (size_t)s->pad_w - s->kernel_w) / s->stride_w + 1;
        const size_t planes = (size_t)s->batch * s->channels;
        const size_t nx = planes * s->in_height * s->in_width, ny = planes * oh * ow;
        /* Distinct values 0.01 apart, so a step of 1e-4 never changes a maximum. */
        double *x = malloc(nx * sizeof(double)), *g = random_f64(ny, &seed);
        double *y = malloc(ny * sizeof(double)), *dx = malloc(nx * sizeof(double));
        for (size_t i = 0; x && i < nx; i++)
            x[i] = 0.01 * (double)((i * 7919u + 13u) % nx) - 0.3;
        for (int kind = 0; x && g && y && dx && kind < 2; kind++) {
            porta_ref_pool_backward_f64(kind, s, x, g, dx);
            char name[160];
            pool_name(s, kind, name, sizeof(name));
            fd_check(t, name, kind == PORTA_POOL_MAX ? 1 : 2, s, x, nx, dx, x, NULL, NULL, g, y, ny,
                     1e-4);
        }
        free(x);
        free(g);
        free(y);
        free(dx);
    }
}

/* ---- benchmark ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static const porta_conv2d_shape bench_shapes[] = {
    {64, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1},  {64, 1, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1},
    {64, 16, 28, 28, 32, 3, 3, 1, 1, 1, 1, 1, 1}, {64, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1},
    {64, 32, 14, 14, 64, 3, 3, 1, 1, 1, 1, 1, 1}, {64, 32, 7, 7, 64, 3, 3, 1, 1, 1, 1, 1, 1},
    {64, 16, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1}, {64, 32, 16, 16, 64, 3, 3, 2, 2, 1, 1, 1, 1},
    {64, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1},
};

static void bench_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    for (size_t i = 0; i < sizeof(bench_shapes) / sizeof(bench_shapes[0]); i++) {
        const porta_conv2d_shape *s = &bench_shapes[i];
        conv_sizes z = conv_sizes_of(s);
        porta_buffer *x = NULL, *w = NULL, *b = NULL, *y = NULL;
        porta_status st = porta_buffer_create(ctx, z.nx * sizeof(float), &x);
        if (!st)
            st = porta_buffer_create(ctx, z.nw * sizeof(float), &w);
        if (!st)
            st = porta_buffer_create(ctx, s->out_channels * sizeof(float), &b);
        if (!st)
            st = porta_buffer_create(ctx, z.ny * sizeof(float), &y);
        if (!st)
            st = porta_vec_fill(ctx, porta_view_of(x), z.nx, 0.5f);
        if (!st)
            st = porta_vec_fill(ctx, porta_view_of(w), z.nw, 0.25f);
        if (!st)
            st = porta_vec_fill(ctx, porta_view_of(y), z.ny, 0.125f);
        const double flops = 2.0 * (double)z.ny * s->in_channels * s->kernel_h * s->kernel_w;
        double gf[3] = {0, 0, 0};
        for (int pass = 0; !st && pass < 3; pass++) {
            int reps = 0;
            double t0 = 0, t1 = 0;
            for (int r = -1; !st && (r < 3 || t1 - t0 < 0.3); r++) {
                if (r == 0) {
                    st = porta_finish(ctx);
                    t0 = now_s();
                }
                if (!st && pass == 0)
                    st = porta_conv2d_forward(ctx, s, porta_view_of(x), porta_view_of(w),
                                              porta_view_of(b), porta_view_of(y));
                else if (!st && pass == 1)
                    st = porta_conv2d_backward_data(ctx, s, porta_view_of(y), porta_view_of(w),
                                                    porta_view_of(x), false);
                else if (!st)
                    st = porta_conv2d_backward_filter(ctx, s, porta_view_of(x), porta_view_of(y),
                                                      porta_view_of(w), porta_view_of(b), false);
                if (!st && r >= 0) {
                    st = porta_finish(ctx);
                    t1 = now_s();
                    reps++;
                }
            }
            gf[pass] = reps ? flops * reps / (t1 - t0) * 1e-9 : 0;
        }
        char name[160];
        shape_name(s, name, sizeof(name));
        CHECK_OK(t, ctx, st, name);
        printf("%s %s: forward %.2f, backward data %.2f, backward filter %.2f GFLOP/s\n",
               info->spec, name, gf[0], gf[1], gf[2]);
        porta_buffer_destroy(ctx, x);
        porta_buffer_destroy(ctx, w);
        porta_buffer_destroy(ctx, b);
        porta_buffer_destroy(ctx, y);
    }
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    check_convs(t, ctx, info->spec);
    check_pools(t, ctx, info->spec);
    check_conv_errors(t, ctx, info->spec);
    check_pool_errors(t, ctx, info->spec);
}

int main(int argc, char **argv)
{
    test_init();
    test_state t = {0};
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        test_for_each_device(&t, bench_device, NULL);
    else {
        check_conv_gradients(&t);
        check_pool_gradients(&t);
        test_for_each_device(&t, check_device, NULL);
    }
    return test_finish(&t);
}
