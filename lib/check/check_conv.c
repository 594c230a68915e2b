/* check_conv.c: kernels.conv2d_forward, _backward_data, _backward_filter
 * against lib/ref/ref_conv.c.
 *
 * A result summed from T products lies within 2 (T + 4) u M + 2 u |ref|
 * of the double reference, M the same sum over the absolute values (the
 * reference run on |x|, |w|, ...); accumulating adds u |old|. Every buffer
 * sits at an odd offset with guard words after it whose bits must stay.
 * Some shapes also run with the reduction split over several dispatches
 * (the path of large problems on llvmpipe's loop budget).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "conv_internal.h"
#include "ref/ref.h"

#define GUARD 5

/* batch, in_channels, in_h, in_w, out_channels, kh, kw, sh, sw, ph, pw, dh, dw */
static const porta_conv2d_shape shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},     /* everything 1 */
    {2, 3, 7, 5, 5, 3, 3, 1, 1, 1, 1, 1, 1},     /* odd sizes, "same" padding */
    {2, 4, 9, 8, 6, 3, 3, 2, 2, 1, 1, 1, 1},     /* stride 2, padding */
    {1, 3, 11, 10, 9, 3, 3, 1, 1, 2, 2, 2, 2},   /* dilation 2, batch 1 */
    {3, 5, 8, 7, 10, 1, 1, 2, 2, 0, 0, 1, 1},    /* 1x1 projection, stride 2 */
    {2, 2, 6, 9, 3, 2, 4, 1, 2, 0, 1, 2, 1},     /* asymmetric everything */
    {1, 17, 5, 5, 33, 3, 3, 1, 1, 1, 1, 1, 1},   /* channels off the tiles */
    {2, 3, 5, 4, 2, 3, 3, 3, 2, 1, 0, 1, 1},     /* stride 3 */
    {1, 2, 18, 5, 3, 17, 2, 1, 1, 0, 1, 1, 1},   /* kernel past the row kernels */
    {2, 1, 28, 28, 16, 3, 3, 1, 1, 1, 1, 1, 1},  /* CNN conv1 */
    {2, 16, 14, 14, 32, 3, 3, 1, 1, 1, 1, 1, 1}, /* CNN conv2 */
    {2, 3, 32, 32, 16, 3, 3, 1, 1, 1, 1, 1, 1},  /* ResNet stem */
    {2, 16, 32, 32, 32, 3, 3, 2, 2, 1, 1, 1, 1}, /* ResNet down-sampling conv */
    {2, 64, 8, 8, 64, 3, 3, 1, 1, 1, 1, 1, 1},   /* ResNet last stage */
};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))
#define QUICK_SHAPES 9 /* the awkward ones, not the model layers */

typedef struct conv_data {
    size_t oh, ow, nx, nw, ny;
    float *x, *w, *b, *dy, *old_x, *old_w, *old_b, *want;
} conv_data;

static void sizes_of(const porta_conv2d_shape *s, conv_data *d)
{
    size_t span_h = (size_t)s->dilation_h * (s->kernel_h - 1) + 1;
    size_t span_w = (size_t)s->dilation_w * (s->kernel_w - 1) + 1;
    d->oh = (s->in_height + 2 * (size_t)s->pad_h - span_h) / s->stride_h + 1;
    d->ow = (s->in_width + 2 * (size_t)s->pad_w - span_w) / s->stride_w + 1;
    d->nx = (size_t)s->batch * s->in_channels * s->in_height * s->in_width;
    d->nw = (size_t)s->out_channels * s->in_channels * s->kernel_h * s->kernel_w;
    d->ny = (size_t)s->batch * s->out_channels * d->oh * d->ow;
}

static void data_free(conv_data *d)
{
    float *all[] = {d->x, d->w, d->b, d->dy, d->old_x, d->old_w, d->old_b, d->want};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]);
}

static bool data_alloc(conv_data *d, const porta_conv2d_shape *s, uint32_t seed)
{
    memset(d, 0, sizeof(*d));
    sizes_of(s, d);
    d->x = porta__check_random_new(d->nx, &seed, 1.0f, 0.0f);
    d->w = porta__check_random_new(d->nw, &seed, 1.0f, 0.0f);
    d->b = porta__check_random_new(s->out_channels, &seed, 1.0f, 0.0f);
    d->dy = porta__check_random_new(d->ny, &seed, 1.0f, 0.0f);
    d->old_x = porta__check_random_new(d->nx, &seed, 1.0f, 0.0f);
    d->old_w = porta__check_random_new(d->nw, &seed, 1.0f, 0.0f);
    d->old_b = porta__check_random_new(s->out_channels, &seed, 1.0f, 0.0f);
    size_t big = d->nx > d->ny ? d->nx : d->ny;
    d->want = malloc((big > d->nw ? big : d->nw) * sizeof(float));
    return d->x && d->w && d->b && d->dy && d->old_x && d->old_w && d->old_b && d->want;
}

static double *abs_f64(const float *v, size_t n)
{
    double *r = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; r && i < n; i++)
        r[i] = fabs((double)v[i]);
    return r;
}

/* tol[i] = 2 (terms + 4) u mag[i] + 2 u |want[i]| (+ u |old[i]|). */
static double *tolerances(const double *mag, const float *want, const float *old, size_t n,
                          size_t terms)
{
    double *tol = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; tol && mag && i < n; i++)
        tol[i] = 2.0 * (double)(terms + 4) * PORTA_CHECK_U * mag[i] +
                 2.0 * PORTA_CHECK_U * fabs((double)want[i]) +
                 (old ? PORTA_CHECK_U * fabs((double)old[i]) : 0.0);
    return tol;
}

static void shape_name(const porta_conv2d_shape *s, char *buf, size_t size)
{
    snprintf(buf, size, "conv n%u c%u %ux%u -> %u k%ux%u s%ux%u p%ux%u d%ux%u", s->batch,
             s->in_channels, s->in_height, s->in_width, s->out_channels, s->kernel_h, s->kernel_w,
             s->stride_h, s->stride_w, s->pad_h, s->pad_w, s->dilation_h, s->dilation_w);
}

static void forward(porta__check *c, const porta_conv2d_shape *s, conv_data *d, bool bias,
                    size_t split)
{
    porta_context *ctx = c->ctx;
    const size_t xo = 3, wo = 7, bo = 1, yo = 5;
    const float fill = 7.5f;
    char name[160], what[300];
    shape_name(s, name, sizeof(name));
    snprintf(what, sizeof(what), "%s forward%s split %zu", name, bias ? " +bias" : "", split);
    porta_buffer *x = NULL, *w = NULL, *b = NULL, *y = NULL;
    porta_status st = porta__check_upload(ctx, d->x, xo, d->nx, GUARD, 0.0f, &x);
    if (!st)
        st = porta__check_upload(ctx, d->w, wo, d->nw, GUARD, 0.0f, &w);
    if (!st)
        st = porta__check_upload(ctx, d->b, bo, s->out_channels, GUARD, 0.0f, &b);
    if (!st)
        st = porta__check_upload(ctx, NULL, yo, d->ny, GUARD, fill, &y);
    if (!st)
        st = porta__conv2d_forward_split(ctx, s, porta_view_at(x, xo), porta_view_at(w, wo),
                                         bias ? porta_view_at(b, bo) : porta_view_none(),
                                         porta_view_at(y, yo), split);
    if (porta__check_call(c, st, "%s", what)) {
        porta_ref_conv2d_forward(s, d->x, d->w, bias ? d->b : NULL, d->want);
        double *ax = abs_f64(d->x, d->nx), *aw = abs_f64(d->w, d->nw),
               *ab = abs_f64(d->b, s->out_channels), *mag = malloc(d->ny * sizeof(double));
        double *tol = NULL;
        if (ax && aw && ab && mag) {
            porta_ref_conv2d_forward_f64(s, ax, aw, bias ? ab : NULL, mag);
            tol = tolerances(mag, d->want, NULL, d->ny,
                             (size_t)s->in_channels * s->kernel_h * s->kernel_w + (bias ? 1 : 0));
        }
        if (porta__check_host_memory(c, tol != NULL))
            porta__check_compare_buffer(c, what, y, yo, d->want, tol, d->ny, GUARD, fill);
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

static void backward_data(porta__check *c, const porta_conv2d_shape *s, conv_data *d,
                          bool accumulate, size_t split)
{
    porta_context *ctx = c->ctx;
    const size_t dyo = 1, wo = 4, dxo = 9;
    const float fill = -3.25f;
    char name[160], what[300];
    shape_name(s, name, sizeof(name));
    snprintf(what, sizeof(what), "%s backward data%s split %zu", name,
             accumulate ? " accumulate" : "", split);
    porta_buffer *dy = NULL, *w = NULL, *dx = NULL;
    porta_status st = porta__check_upload(ctx, d->dy, dyo, d->ny, GUARD, 0.0f, &dy);
    if (!st)
        st = porta__check_upload(ctx, d->w, wo, d->nw, GUARD, 0.0f, &w);
    if (!st)
        st = porta__check_upload(ctx, d->old_x, dxo, d->nx, GUARD, fill, &dx);
    if (!st)
        st = porta__conv2d_backward_data_split(ctx, s, porta_view_at(dy, dyo), porta_view_at(w, wo),
                                               porta_view_at(dx, dxo), accumulate, split);
    if (porta__check_call(c, st, "%s", what)) {
        memcpy(d->want, d->old_x, d->nx * sizeof(float));
        porta_ref_conv2d_backward_data(s, d->dy, d->w, d->want, accumulate);
        double *ady = abs_f64(d->dy, d->ny), *aw = abs_f64(d->w, d->nw),
               *mag = malloc(d->nx * sizeof(double)), *tol = NULL;
        if (ady && aw && mag) {
            porta_ref_conv2d_backward_data_f64(s, ady, aw, mag);
            tol = tolerances(mag, d->want, accumulate ? d->old_x : NULL, d->nx,
                             (size_t)s->out_channels * s->kernel_h * s->kernel_w);
        }
        if (porta__check_host_memory(c, tol != NULL))
            porta__check_compare_buffer(c, what, dx, dxo, d->want, tol, d->nx, GUARD, fill);
        free(ady);
        free(aw);
        free(mag);
        free(tol);
    }
    porta_buffer_destroy(ctx, dy);
    porta_buffer_destroy(ctx, w);
    porta_buffer_destroy(ctx, dx);
}

static void backward_filter(porta__check *c, const porta_conv2d_shape *s, conv_data *d, bool bias,
                            bool accumulate, size_t split)
{
    porta_context *ctx = c->ctx;
    const size_t xo = 2, dyo = 6, dwo = 3, dbo = 11;
    const float fill = 1.0e9f;
    char name[160], what[300], whatb[320];
    shape_name(s, name, sizeof(name));
    snprintf(what, sizeof(what), "%s backward filter%s%s split %zu", name, bias ? " +dbias" : "",
             accumulate ? " accumulate" : "", split);
    snprintf(whatb, sizeof(whatb), "%s dbias", what);
    const size_t co = s->out_channels, terms = (size_t)s->batch * d->oh * d->ow;
    porta_buffer *x = NULL, *dy = NULL, *dw = NULL, *db = NULL;
    porta_status st = porta__check_upload(ctx, d->x, xo, d->nx, GUARD, 0.0f, &x);
    if (!st)
        st = porta__check_upload(ctx, d->dy, dyo, d->ny, GUARD, 0.0f, &dy);
    if (!st)
        st = porta__check_upload(ctx, d->old_w, dwo, d->nw, GUARD, fill, &dw);
    if (!st)
        st = porta__check_upload(ctx, d->old_b, dbo, co, GUARD, fill, &db);
    if (!st)
        st = porta__conv2d_backward_filter_split(
            ctx, s, porta_view_at(x, xo), porta_view_at(dy, dyo), porta_view_at(dw, dwo),
            bias ? porta_view_at(db, dbo) : porta_view_none(), accumulate, split);
    if (porta__check_call(c, st, "%s", what)) {
        float *want_b = malloc(co * sizeof(float));
        double *ax = abs_f64(d->x, d->nx), *ady = abs_f64(d->dy, d->ny),
               *mag = malloc(d->nw * sizeof(double)), *magb = malloc(co * sizeof(double));
        double *tol = NULL, *tolb = NULL;
        if (want_b && ax && ady && mag && magb) {
            memcpy(d->want, d->old_w, d->nw * sizeof(float));
            memcpy(want_b, d->old_b, co * sizeof(float));
            porta_ref_conv2d_backward_filter(s, d->x, d->dy, d->want, want_b, accumulate);
            porta_ref_conv2d_backward_filter_f64(s, ax, ady, mag, magb);
            tol = tolerances(mag, d->want, accumulate ? d->old_w : NULL, d->nw, terms);
            /* without dbias, dbias must be untouched: tolerance 0 */
            tolb = bias ? tolerances(magb, want_b, accumulate ? d->old_b : NULL, co, terms)
                        : porta__check_alloc(co, sizeof(double));
        }
        if (porta__check_host_memory(c, tol && tolb)) {
            porta__check_compare_buffer(c, what, dw, dwo, d->want, tol, d->nw, GUARD, fill);
            porta__check_compare_buffer(c, whatb, db, dbo, bias ? want_b : d->old_b, tolb, co,
                                        GUARD, fill);
        }
        free(want_b);
        free(ax);
        free(ady);
        free(mag);
        free(magb);
        free(tol);
        free(tolb);
    }
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, dy);
    porta_buffer_destroy(ctx, dw);
    porta_buffer_destroy(ctx, db);
}

/* Which pass, for run_shapes. */
enum { FORWARD, BACKWARD_DATA, BACKWARD_FILTER };

static void run_shapes(porta__check *c, int pass)
{
    const size_t n = c->quick ? QUICK_SHAPES : N_SHAPES;
    for (size_t i = 0; i < n && !c->fatal; i++) {
        const porta_conv2d_shape *s = &shapes[i];
        conv_data d;
        if (porta__check_host_memory(c, data_alloc(&d, s, 100u + (uint32_t)i))) {
            if (pass == FORWARD)
                forward(c, s, &d, i % 2 == 0, 0);
            else if (pass == BACKWARD_DATA)
                backward_data(c, s, &d, i % 2 == 1, 0);
            else
                backward_filter(c, s, &d, i % 3 != 2, i % 2 == 0, 0);
            /* The split paths: channels (forward, backward data) or pixels
             * (backward filter) summed in several dispatches, down to one
             * per dispatch. */
            if (i == 2 || i == 6) {
                if (pass == FORWARD)
                    forward(c, s, &d, true, i == 2 ? 1 : 5);
                else if (pass == BACKWARD_DATA)
                    backward_data(c, s, &d, true, i == 2 ? 1 : 7);
                else {
                    backward_filter(c, s, &d, true, true, 100);
                    backward_filter(c, s, &d, false, false, i == 2 ? 1 : 333);
                }
            }
        }
        data_free(&d);
    }
}

void porta__check_conv_forward(porta__check *c)
{
    run_shapes(c, FORWARD);
}

void porta__check_conv_backward_data(porta__check *c)
{
    run_shapes(c, BACKWARD_DATA);
}

void porta__check_conv_backward_filter(porta__check *c)
{
    run_shapes(c, BACKWARD_FILTER);
}
