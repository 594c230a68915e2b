/* ref_conv.c: naive C references of 2-D convolution and pooling (NCHW),
 * computed in double. The backward passes scatter each output's gradient
 * into what it was computed from, the plainest form (the kernels gather). */
#include <math.h>
#include <stdlib.h>

#include "ref.h"

/* Output size along one axis, 0 when the window does not fit. */
static size_t out_extent(size_t in, size_t k, size_t stride, size_t pad, size_t dil)
{
    size_t span = dil * (k - 1) + 1;
    return in + 2 * pad < span ? 0 : (in + 2 * pad - span) / stride + 1;
}

typedef struct conv_dims {
    size_t n, ci, h, w, co, kh, kw, oh, ow;
} conv_dims;

static conv_dims conv_dims_of(const porta_conv2d_shape *s)
{
    conv_dims d = {s->batch,
                   s->in_channels,
                   s->in_height,
                   s->in_width,
                   s->out_channels,
                   s->kernel_h,
                   s->kernel_w,
                   0,
                   0};
    d.oh = out_extent(d.h, d.kh, s->stride_h, s->pad_h, s->dilation_h);
    d.ow = out_extent(d.w, d.kw, s->stride_w, s->pad_w, s->dilation_w);
    return d;
}

/* The input row (column) tap k of output row (column) o reads, or -1 when
 * it falls into the padding. */
static long tap(size_t o, size_t k, size_t stride, size_t pad, size_t dil, size_t in)
{
    long i = (long)(o * stride + k * dil) - (long)pad;
    return i >= 0 && i < (long)in ? i : -1;
}

/* Calls fn(x index, w index, y index) for every product of the convolution. */
#define CONV_FOR_EACH(s, d, BODY)                                                                  \
    for (size_t n = 0; n < d.n; n++)                                                               \
        for (size_t co = 0; co < d.co; co++)                                                       \
            for (size_t oh = 0; oh < d.oh; oh++)                                                   \
                for (size_t ow = 0; ow < d.ow; ow++) {                                             \
                    size_t yi = ((n * d.co + co) * d.oh + oh) * d.ow + ow;                         \
                    for (size_t ci = 0; ci < d.ci; ci++)                                           \
                        for (size_t kh = 0; kh < d.kh; kh++) {                                     \
                            long ih = tap(oh, kh, s->stride_h, s->pad_h, s->dilation_h, d.h);      \
                            for (size_t kw = 0; ih >= 0 && kw < d.kw; kw++) {                      \
                                long iw = tap(ow, kw, s->stride_w, s->pad_w, s->dilation_w, d.w);  \
                                if (iw < 0)                                                        \
                                    continue;                                                      \
                                size_t xi =                                                        \
                                    ((n * d.ci + ci) * d.h + (size_t)ih) * d.w + (size_t)iw;       \
                                size_t wi = ((co * d.ci + ci) * d.kh + kh) * d.kw + kw;            \
                                BODY;                                                              \
                            }                                                                      \
                        }                                                                          \
                }

void porta_ref_conv2d_forward_f64(const porta_conv2d_shape *s, const double *x, const double *w,
                                  const double *bias, double *y)
{
    conv_dims d = conv_dims_of(s);
    for (size_t n = 0; n < d.n; n++)
        for (size_t co = 0; co < d.co; co++)
            for (size_t p = 0; p < d.oh * d.ow; p++)
                y[(n * d.co + co) * d.oh * d.ow + p] = bias ? bias[co] : 0.0;
    CONV_FOR_EACH(s, d, y[yi] += x[xi] * w[wi]);
}

void porta_ref_conv2d_backward_data_f64(const porta_conv2d_shape *s, const double *dy,
                                        const double *w, double *dx)
{
    conv_dims d = conv_dims_of(s);
    for (size_t i = 0; i < d.n * d.ci * d.h * d.w; i++)
        dx[i] = 0.0;
    CONV_FOR_EACH(s, d, dx[xi] += dy[yi] * w[wi]);
}

void porta_ref_conv2d_backward_filter_f64(const porta_conv2d_shape *s, const double *x,
                                          const double *dy, double *dw, double *dbias)
{
    conv_dims d = conv_dims_of(s);
    for (size_t i = 0; i < d.co * d.ci * d.kh * d.kw; i++)
        dw[i] = 0.0;
    CONV_FOR_EACH(s, d, dw[wi] += dy[yi] * x[xi]);
    for (size_t co = 0; dbias && co < d.co; co++) {
        dbias[co] = 0.0;
        for (size_t n = 0; n < d.n; n++)
            for (size_t p = 0; p < d.oh * d.ow; p++)
                dbias[co] += dy[(n * d.co + co) * d.oh * d.ow + p];
    }
}

/* ---- float wrappers ---- */

static double *to_f64(const float *v, size_t n)
{
    double *r = malloc((n ? n : 1) * sizeof(double));
    for (size_t i = 0; r && v && i < n; i++)
        r[i] = v[i];
    return r;
}

static void from_f64(const double *v, float *out, size_t n, int accumulate)
{
    for (size_t i = 0; i < n; i++)
        out[i] = accumulate ? out[i] + (float)v[i] : (float)v[i];
}

void porta_ref_conv2d_forward(const porta_conv2d_shape *s, const float *x, const float *w,
                              const float *bias, float *y)
{
    conv_dims d = conv_dims_of(s);
    size_t ny = d.n * d.co * d.oh * d.ow;
    double *xd = to_f64(x, d.n * d.ci * d.h * d.w), *wd = to_f64(w, d.co * d.ci * d.kh * d.kw);
    double *bd = bias ? to_f64(bias, d.co) : NULL, *yd = to_f64(NULL, ny);
    if (xd && wd && yd && (bd || !bias)) {
        porta_ref_conv2d_forward_f64(s, xd, wd, bd, yd);
        from_f64(yd, y, ny, 0);
    }
    free(xd);
    free(wd);
    free(bd);
    free(yd);
}

void porta_ref_conv2d_backward_data(const porta_conv2d_shape *s, const float *dy, const float *w,
                                    float *dx, int accumulate)
{
    conv_dims d = conv_dims_of(s);
    size_t nx = d.n * d.ci * d.h * d.w;
    double *dyd = to_f64(dy, d.n * d.co * d.oh * d.ow), *wd = to_f64(w, d.co * d.ci * d.kh * d.kw);
    double *dxd = to_f64(NULL, nx);
    if (dyd && wd && dxd) {
        porta_ref_conv2d_backward_data_f64(s, dyd, wd, dxd);
        from_f64(dxd, dx, nx, accumulate);
    }
    free(dyd);
    free(wd);
    free(dxd);
}

void porta_ref_conv2d_backward_filter(const porta_conv2d_shape *s, const float *x, const float *dy,
                                      float *dw, float *dbias, int accumulate)
{
    conv_dims d = conv_dims_of(s);
    size_t nw = d.co * d.ci * d.kh * d.kw;
    double *xd = to_f64(x, d.n * d.ci * d.h * d.w), *dyd = to_f64(dy, d.n * d.co * d.oh * d.ow);
    double *dwd = to_f64(NULL, nw), *dbd = to_f64(NULL, d.co);
    if (xd && dyd && dwd && dbd) {
        porta_ref_conv2d_backward_filter_f64(s, xd, dyd, dwd, dbias ? dbd : NULL);
        from_f64(dwd, dw, nw, accumulate);
        if (dbias)
            from_f64(dbd, dbias, d.co, accumulate);
    }
    free(xd);
    free(dyd);
    free(dwd);
    free(dbd);
}

/* ---- pooling ---- */

typedef struct pool_dims {
    size_t nc, h, w, kh, kw, oh, ow;
} pool_dims;

static pool_dims pool_dims_of(const porta_pool_shape *s)
{
    pool_dims d = {
        (size_t)s->batch * s->channels, s->in_height, s->in_width, s->kernel_h, s->kernel_w, 0, 0};
    d.oh = out_extent(d.h, d.kh, s->stride_h, s->pad_h, 1);
    d.ow = out_extent(d.w, d.kw, s->stride_w, s->pad_w, 1);
    return d;
}

/* The index (within its plane) of the first maximum of window (oh, ow) in
 * row-major order, padding skipped, NaN the largest (the first NaN wins). */
static size_t window_argmax(const porta_pool_shape *s, const pool_dims *d, const double *plane,
                            size_t oh, size_t ow)
{
    size_t best = 0;
    int found = 0;
    for (size_t kh = 0; kh < d->kh; kh++) {
        long ih = tap(oh, kh, s->stride_h, s->pad_h, 1, d->h);
        for (size_t kw = 0; ih >= 0 && kw < d->kw; kw++) {
            long iw = tap(ow, kw, s->stride_w, s->pad_w, 1, d->w);
            if (iw < 0)
                continue;
            size_t i = (size_t)ih * d->w + (size_t)iw;
            double v = plane[i], m = plane[best];
            if (!found || (!isnan(m) && (v > m || isnan(v))))
                best = i;
            found = 1;
        }
    }
    return best;
}

void porta_ref_pool_forward_f64(int kind, const porta_pool_shape *s, const double *x, double *y)
{
    pool_dims d = pool_dims_of(s);
    for (size_t c = 0; c < d.nc; c++) {
        const double *plane = x + c * d.h * d.w;
        for (size_t oh = 0; oh < d.oh; oh++)
            for (size_t ow = 0; ow < d.ow; ow++) {
                double r = 0.0;
                if (kind == PORTA_POOL_MAX) {
                    r = plane[window_argmax(s, &d, plane, oh, ow)];
                } else {
                    for (size_t kh = 0; kh < d.kh; kh++) {
                        long ih = tap(oh, kh, s->stride_h, s->pad_h, 1, d.h);
                        for (size_t kw = 0; ih >= 0 && kw < d.kw; kw++) {
                            long iw = tap(ow, kw, s->stride_w, s->pad_w, 1, d.w);
                            if (iw >= 0)
                                r += plane[(size_t)ih * d.w + (size_t)iw];
                        }
                    }
                    r /= (double)(d.kh * d.kw);
                }
                y[(c * d.oh + oh) * d.ow + ow] = r;
            }
    }
}

void porta_ref_pool_backward_f64(int kind, const porta_pool_shape *s, const double *x,
                                 const double *dy, double *dx)
{
    pool_dims d = pool_dims_of(s);
    for (size_t i = 0; i < d.nc * d.h * d.w; i++)
        dx[i] = 0.0;
    for (size_t c = 0; c < d.nc; c++) {
        double *dplane = dx + c * d.h * d.w;
        for (size_t oh = 0; oh < d.oh; oh++)
            for (size_t ow = 0; ow < d.ow; ow++) {
                double g = dy[(c * d.oh + oh) * d.ow + ow];
                if (kind == PORTA_POOL_MAX) {
                    dplane[window_argmax(s, &d, x + c * d.h * d.w, oh, ow)] += g;
                    continue;
                }
                for (size_t kh = 0; kh < d.kh; kh++) {
                    long ih = tap(oh, kh, s->stride_h, s->pad_h, 1, d.h);
                    for (size_t kw = 0; ih >= 0 && kw < d.kw; kw++) {
                        long iw = tap(ow, kw, s->stride_w, s->pad_w, 1, d.w);
                        if (iw >= 0)
                            dplane[(size_t)ih * d.w + (size_t)iw] += g / (double)(d.kh * d.kw);
                    }
                }
            }
    }
}

void porta_ref_pool_forward(int kind, const porta_pool_shape *s, const float *x, float *y)
{
    pool_dims d = pool_dims_of(s);
    size_t ny = d.nc * d.oh * d.ow;
    double *xd = to_f64(x, d.nc * d.h * d.w), *yd = to_f64(NULL, ny);
    if (xd && yd) {
        porta_ref_pool_forward_f64(kind, s, xd, yd);
        from_f64(yd, y, ny, 0);
    }
    free(xd);
    free(yd);
}

void porta_ref_pool_backward(int kind, const porta_pool_shape *s, const float *x, const float *dy,
                             float *dx, int accumulate)
{
    pool_dims d = pool_dims_of(s);
    size_t nx = d.nc * d.h * d.w;
    double *xd = to_f64(x, x ? nx : 0), *dyd = to_f64(dy, d.nc * d.oh * d.ow);
    double *dxd = to_f64(NULL, nx);
    if (xd && dyd && dxd) {
        porta_ref_pool_backward_f64(kind, s, x ? xd : NULL, dyd, dxd);
        from_f64(dxd, dx, nx, accumulate);
    }
    free(xd);
    free(dyd);
    free(dxd);
}
