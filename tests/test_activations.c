/* test_activations: the layer kernels (activations, layer normalisation,
 * softmax) forward and backward on every device against the C reference (lib/ref).
 *
 * Tolerances, with u = 2^-24:
 *  - activations: |got - want| <= 1e-5 |want| + 4e-6 (1 + |x|) max(1, |dy|)
 *    (+ |dx0| u when accumulating): the device's exp / tanh are a few ulp
 *    off (OpenCL allows 3-5 ulp, Vulkan's exp 3 + 2|x| ulp), and
 *    1 + tanh, 1 - tanh^2 cancel, which costs absolute, not relative,
 *    accuracy where f or f' is tiny;
 *  - layernorm y, mean, rstd, dx: 32 (cols + 16) u (scale + |want|), the
 *    float summation bound over a row of cols elements, where the scale is
 *    what an error of the row's float mean (|mean| + 1) is multiplied by:
 *    1 for mean and rstd, 2 rstd (|mean| + 1) for y, rstd (1 + 2 rstd
 *    (|mean| + 1)) for dx (rstd is large where the row is nearly
 *    constant, as in 2-element rows); dgamma, dbeta: 8 (rows + 16) u (sum of |terms| +
 *    |dx0|), the bound of the ascending float sum over rows;
 *  - softmax y: (64 + 4 cols) u |want|; dx: (16 + 4 cols) u |y| (2 + |dy|)
 *    (+ |dx0| u when accumulating).
 * The reference backward passes are checked against central finite
 * differences of the reference forward passes (host only), and the argument
 * checks against bad calls.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "ref/ref.h"

#define U (1.0 / 16777216.0)

static const size_t sizes[] = {1, 7, 1000, 100003};

typedef struct shape {
    size_t rows, cols;
} shape;

static const shape shapes[] = {{1, 1}, {3, 7}, {5, 1000}, {64, 129}, {1, 4099}};

/* More rows than one grid dimension holds (65535) and than one dgamma/dbeta
 * dispatch sums (16384). llvmpipe takes ~7 s per dispatch of so many
 * one-row workgroups, so there softmax (the same row grid code as
 * layernorm) skips it. */
static const shape big_rows = {66000, 1};

static const char *const fn_names[] = {"relu", "gelu", "tanh", "sigmoid"};

static float next_value(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
}

static float *host_random(size_t n, uint32_t *seed, float scale, float shift)
{
    float *h = malloc((n ? n : 1) * sizeof(float));
    for (size_t i = 0; h && i < n; i++)
        h[i] = shift + scale * next_value(seed);
    return h;
}

/* A device buffer of off + n floats holding h at off (zeros before). */
static porta_status upload(porta_context *ctx, const float *h, size_t off, size_t n,
                           porta_buffer **out)
{
    porta_status st = porta_buffer_create(ctx, (off + n) * sizeof(float), out);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(*out), off + n, 0.0f);
    if (!st && n)
        st = porta_buffer_write(ctx, *out, off * sizeof(float), n * sizeof(float), h);
    return st;
}

static porta_status download(porta_context *ctx, porta_buffer *b, size_t off, size_t n, float *h)
{
    return porta_buffer_read(ctx, b, off * sizeof(float), n * sizeof(float), h);
}

/* Count elements outside |got - want| <= tol[i]; report the first. */
static void compare(test_state *t, const char *dev, const char *what, const float *got,
                    const float *want, const double *tol, size_t n)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)got[i] - (double)want[i]);
        if (!(d <= tol[i]) && bad++ == 0)
            first = i;
    }
    CHECK(t, bad == 0, "%s %s: %zu of %zu wrong, first [%zu] = %.9g, want %.9g (tol %.3g)", dev,
          what, bad, n, first, n ? (double)got[first] : 0.0, n ? (double)want[first] : 0.0,
          n ? tol[first] : 0.0);
}

/* ---- activations ---- */

/* x in [-6, 6), every 17th element far out (+-20 .. 100). */
static float *activation_inputs(size_t n, uint32_t *seed)
{
    float *x = host_random(n, seed, 6.0f, 0.0f);
    for (size_t i = 5; x && i < n; i += 17)
        x[i] = x[i] * 13.0f + (x[i] < 0 ? -20.0f : 20.0f);
    return x;
}

typedef struct act_data {
    size_t n;
    float *x, *dy, *dx0, *want, *got;
    double *tol;
} act_data;

static int act_alloc(act_data *a, size_t n, uint32_t seed)
{
    a->n = n;
    a->x = activation_inputs(n, &seed);
    a->dy = host_random(n, &seed, 1.0f, 0.0f);
    a->dx0 = host_random(n, &seed, 1.0f, 0.0f);
    a->want = malloc(n * sizeof(float));
    a->got = malloc(n * sizeof(float));
    a->tol = calloc(n ? n : 1, sizeof(double));
    return a->x && a->dy && a->dx0 && a->want && a->got && a->tol;
}

static void act_free(act_data *a)
{
    free(a->x);
    free(a->dy);
    free(a->dx0);
    free(a->want);
    free(a->got);
    free(a->tol);
}

static void act_tolerances(const act_data *a, int backward, int accumulate)
{
    for (size_t i = 0; i < a->n; i++) {
        double dy = backward ? fabs((double)a->dy[i]) : 1.0;
        a->tol[i] = 1e-5 * fabs((double)a->want[i]) +
                    4e-6 * (1.0 + fabs((double)a->x[i])) * (dy > 1.0 ? dy : 1.0);
        if (accumulate)
            a->tol[i] += fabs((double)a->dx0[i]) * U;
    }
}

/* Forward and backward of one function at one size on the device. The
 * offsets are odd and differ per buffer. */
static porta_status act_run(porta_context *ctx, int fn, act_data *a, int backward, int accumulate)
{
    const size_t xo = 3, dyo = 5, dxo = 2;
    porta_buffer *x = NULL, *dy = NULL, *dx = NULL;
    porta_status st = upload(ctx, a->x, xo, a->n, &x);
    if (!st)
        st = upload(ctx, a->dy, dyo, a->n, &dy);
    if (!st)
        st = upload(ctx, a->dx0, dxo, a->n, &dx);
    if (!st && backward)
        st = porta_activation_backward(ctx, (porta_activation)fn, porta_view_at(x, xo),
                                       porta_view_at(dy, dyo), porta_view_at(dx, dxo), a->n,
                                       accumulate);
    else if (!st)
        st = porta_activation_forward(ctx, (porta_activation)fn, porta_view_at(x, xo),
                                      porta_view_at(dx, dxo), a->n);
    if (!st)
        st = download(ctx, dx, dxo, a->n, a->got);
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, dy);
    porta_buffer_destroy(ctx, dx);
    return st;
}

static void check_activation(test_state *t, porta_context *ctx, const char *dev, int fn, size_t n,
                             uint32_t seed)
{
    act_data a = {0};
    int ok = act_alloc(&a, n, seed);
    CHECK(t, ok, "out of host memory");
    for (int backward = 0; ok && backward < 2; backward++) {
        const int accumulate = backward && n % 2 == 1;
        porta_status st = act_run(ctx, fn, &a, backward, accumulate);
        char what[96];
        snprintf(what, sizeof(what), "%s %s n=%zu%s", fn_names[fn],
                 backward ? "backward" : "forward", n, accumulate ? " accumulate" : "");
        CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
              porta_context_message(ctx));
        if (st)
            continue;
        memcpy(a.want, a.dx0, n * sizeof(float));
        if (backward)
            porta_ref_activation_backward(fn, a.x, a.dy, a.want, n, accumulate);
        else
            porta_ref_activation_forward(fn, a.x, a.want, n);
        act_tolerances(&a, backward, accumulate);
        compare(t, dev, what, a.got, a.want, a.tol, n);
    }
    act_free(&a);
}

static void check_activations(test_state *t, porta_context *ctx, const char *dev)
{
    uint32_t seed = 10;
    for (int fn = 0; fn < 4; fn++)
        for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
            check_activation(t, ctx, dev, fn, sizes[s], seed++);
}

/* ---- layer normalisation ---- */

typedef struct ln_data {
    size_t rows, cols;
    float eps;
    float *x, *gamma, *beta, *dy, *dx0, *dg0, *db0;
    float *y, *mean, *rstd, *dx, *dgamma, *dbeta; /* reference results */
    float *got, *scale;
    double *tol;
} ln_data;

static int ln_alloc(ln_data *d, shape s, uint32_t seed)
{
    const size_t n = s.rows * s.cols, big = n > s.rows ? n : s.rows;
    d->rows = s.rows;
    d->cols = s.cols;
    d->eps = 1e-5f;
    /* Rows off zero (shift 3) so the two-pass variance matters. */
    d->x = host_random(n, &seed, 1.0f, 3.0f);
    d->gamma = host_random(s.cols, &seed, 0.5f, 1.0f);
    d->beta = host_random(s.cols, &seed, 1.0f, 0.0f);
    d->dy = host_random(n, &seed, 1.0f, 0.0f);
    d->dx0 = host_random(n, &seed, 1.0f, 0.0f);
    d->dg0 = host_random(s.cols, &seed, 1.0f, 0.0f);
    d->db0 = host_random(s.cols, &seed, 1.0f, 0.0f);
    d->y = malloc(n * sizeof(float));
    d->mean = malloc(s.rows * sizeof(float));
    d->rstd = malloc(s.rows * sizeof(float));
    d->dx = malloc(n * sizeof(float));
    d->dgamma = malloc(s.cols * sizeof(float));
    d->dbeta = malloc(s.cols * sizeof(float));
    d->got = malloc(big * sizeof(float));
    d->tol = calloc(big, sizeof(double));
    d->scale = malloc(s.rows * sizeof(float));
    return d->scale && d->x && d->gamma && d->beta && d->dy && d->dx0 && d->dg0 && d->db0 && d->y &&
           d->mean && d->rstd && d->dx && d->dgamma && d->dbeta && d->got && d->tol;
}

static void ln_free(ln_data *d)
{
    float *all[] = {d->x, d->gamma, d->beta, d->dy, d->dx0,    d->dg0,   d->db0,
                    d->y, d->mean,  d->rstd, d->dx, d->dgamma, d->dbeta, d->got};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        free(all[i]);
    free(d->tol);
    free(d->scale);
}

/* The row bound 32 (cols + 16) u (scale + |want|) for n elements. */
static void row_tolerances(double *tol, const float *want, size_t n, size_t cols,
                           const float *scale_per_row, size_t row_len)
{
    const double k = 32.0 * (double)(cols + 16) * U;
    for (size_t i = 0; i < n; i++) {
        double scale = scale_per_row ? fabs((double)scale_per_row[i / row_len]) : 1.0;
        tol[i] = k * (scale + fabs((double)want[i]));
    }
}

/* Device buffers of the layernorm test, at offsets 1 .. 11. */
enum { LN_X, LN_GAMMA, LN_BETA, LN_Y, LN_MEAN, LN_RSTD, LN_DY, LN_DX, LN_DG, LN_DB, LN_COUNT };
static const size_t ln_off[LN_COUNT] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};

static porta_status ln_upload(porta_context *ctx, const ln_data *d, porta_buffer **b)
{
    const size_t n = d->rows * d->cols;
    /* y's buffer starts with arbitrary data (dx0): the forward overwrites it. */
    const float *src[LN_COUNT] = {d->x,    d->gamma, d->beta, d->dx0, d->mean,
                                  d->rstd, d->dy,    d->dx0,  d->dg0, d->db0};
    const size_t len[LN_COUNT] = {n, d->cols, d->cols, n, d->rows, d->rows, n, n, d->cols, d->cols};
    porta_status st = PORTA_OK;
    for (int i = 0; !st && i < LN_COUNT; i++)
        st = upload(ctx, src[i], ln_off[i], len[i], &b[i]);
    return st;
}

static porta_status ln_forward(porta_context *ctx, const ln_data *d, porta_buffer **b)
{
    const size_t *o = ln_off;
    return porta_layernorm_forward(
        ctx, d->rows, d->cols, d->eps, porta_view_at(b[LN_X], o[LN_X]),
        porta_view_at(b[LN_GAMMA], o[LN_GAMMA]), porta_view_at(b[LN_BETA], o[LN_BETA]),
        porta_view_at(b[LN_Y], o[LN_Y]), porta_view_at(b[LN_MEAN], o[LN_MEAN]),
        porta_view_at(b[LN_RSTD], o[LN_RSTD]));
}

static porta_status ln_backward(porta_context *ctx, const ln_data *d, porta_buffer **b,
                                int accumulate)
{
    const size_t *o = ln_off;
    return porta_layernorm_backward(
        ctx, d->rows, d->cols, porta_view_at(b[LN_DY], o[LN_DY]), porta_view_at(b[LN_X], o[LN_X]),
        porta_view_at(b[LN_GAMMA], o[LN_GAMMA]), porta_view_at(b[LN_MEAN], o[LN_MEAN]),
        porta_view_at(b[LN_RSTD], o[LN_RSTD]), porta_view_at(b[LN_DX], o[LN_DX]),
        porta_view_at(b[LN_DG], o[LN_DG]), porta_view_at(b[LN_DB], o[LN_DB]), accumulate);
}

/* Compare device buffer `which` (n elements) with want under tol. */
static void ln_compare(test_state *t, porta_context *ctx, const char *dev, const char *what,
                       const ln_data *d, porta_buffer **b, int which, const float *want, size_t n)
{
    porta_status st = download(ctx, b[which], ln_off[which], n, d->got);
    CHECK_OK(t, ctx, st, what);
    if (!st)
        compare(t, dev, what, d->got, want, d->tol, n);
}

static void ln_check_forward(test_state *t, porta_context *ctx, const char *dev, const ln_data *d,
                             porta_buffer **b, const char *name)
{
    const size_t n = d->rows * d->cols;
    char what[96];
    porta_status st = ln_forward(ctx, d, b);
    snprintf(what, sizeof(what), "%s forward", name);
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
    if (st)
        return;
    for (size_t r = 0; r < d->rows; r++)
        d->scale[r] = 2.0f * d->rstd[r] * (fabsf(d->mean[r]) + 1.0f);
    row_tolerances(d->tol, d->y, n, d->cols, d->scale, d->cols);
    ln_compare(t, ctx, dev, what, d, b, LN_Y, d->y, n);
    snprintf(what, sizeof(what), "%s mean", name);
    row_tolerances(d->tol, d->mean, d->rows, d->cols, NULL, 1);
    ln_compare(t, ctx, dev, what, d, b, LN_MEAN, d->mean, d->rows);
    snprintf(what, sizeof(what), "%s rstd", name);
    row_tolerances(d->tol, d->rstd, d->rows, d->cols, NULL, 1);
    ln_compare(t, ctx, dev, what, d, b, LN_RSTD, d->rstd, d->rows);
}

/* 8 (rows + 16) u (sum_r |term| + |old|) for dgamma (xhat != 0) or dbeta. */
static void column_tolerances(const ln_data *d, int gamma, const float *old)
{
    const double k = 8.0 * (double)(d->rows + 16) * U;
    for (size_t c = 0; c < d->cols; c++) {
        double s = old ? fabs((double)old[c]) : 0.0;
        for (size_t r = 0; r < d->rows; r++) {
            size_t i = r * d->cols + c;
            double xhat = gamma ? ((double)d->x[i] - d->mean[r]) * d->rstd[r] : 1.0;
            s += fabs((double)d->dy[i] * xhat);
        }
        d->tol[c] = k * (s + 1e-3);
    }
}

static void ln_check_backward(test_state *t, porta_context *ctx, const char *dev, const ln_data *d,
                              porta_buffer **b, const char *name, int accumulate)
{
    const size_t n = d->rows * d->cols;
    char what[96];
    /* The reference's saved statistics, so both sides start alike. */
    porta_status st = porta_buffer_write(ctx, b[LN_MEAN], ln_off[LN_MEAN] * sizeof(float),
                                         d->rows * sizeof(float), d->mean);
    if (!st)
        st = porta_buffer_write(ctx, b[LN_RSTD], ln_off[LN_RSTD] * sizeof(float),
                                d->rows * sizeof(float), d->rstd);
    if (!st)
        st = ln_backward(ctx, d, b, accumulate);
    snprintf(what, sizeof(what), "%s backward%s dx", name, accumulate ? " accumulate" : "");
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
    if (st)
        return;
    for (size_t r = 0; r < d->rows; r++)
        d->scale[r] = d->rstd[r] * (1.0f + 2.0f * d->rstd[r] * (fabsf(d->mean[r]) + 1.0f));
    row_tolerances(d->tol, d->dx, n, d->cols, d->scale, d->cols);
    ln_compare(t, ctx, dev, what, d, b, LN_DX, d->dx, n);
    snprintf(what, sizeof(what), "%s backward%s dgamma", name, accumulate ? " accumulate" : "");
    column_tolerances(d, 1, accumulate ? d->dg0 : NULL);
    ln_compare(t, ctx, dev, what, d, b, LN_DG, d->dgamma, d->cols);
    snprintf(what, sizeof(what), "%s backward%s dbeta", name, accumulate ? " accumulate" : "");
    column_tolerances(d, 0, accumulate ? d->db0 : NULL);
    ln_compare(t, ctx, dev, what, d, b, LN_DB, d->dbeta, d->cols);
}

static void check_layernorm_shape(test_state *t, porta_context *ctx, const char *dev, shape s,
                                  uint32_t seed, int accumulate)
{
    ln_data d = {0};
    int ok = ln_alloc(&d, s, seed);
    CHECK(t, ok, "out of host memory");
    porta_buffer *b[LN_COUNT] = {0};
    char name[64];
    snprintf(name, sizeof(name), "layernorm %zux%zu", s.rows, s.cols);
    if (ok) {
        porta_ref_layernorm_forward(d.rows, d.cols, d.eps, d.x, d.gamma, d.beta, d.y, d.mean,
                                    d.rstd);
        memcpy(d.dx, d.dx0, d.rows * d.cols * sizeof(float));
        memcpy(d.dgamma, d.dg0, d.cols * sizeof(float));
        memcpy(d.dbeta, d.db0, d.cols * sizeof(float));
        porta_ref_layernorm_backward(d.rows, d.cols, d.dy, d.x, d.gamma, d.mean, d.rstd, d.dx,
                                     d.dgamma, d.dbeta, accumulate);
        porta_status st = ln_upload(ctx, &d, b);
        CHECK_OK(t, ctx, st, "layernorm buffers");
        if (!st) {
            ln_check_forward(t, ctx, dev, &d, b, name);
            ln_check_backward(t, ctx, dev, &d, b, name, accumulate);
        }
    }
    for (int i = 0; i < LN_COUNT; i++)
        porta_buffer_destroy(ctx, b[i]);
    ln_free(&d);
}

static void check_layernorms(test_state *t, porta_context *ctx, const char *dev)
{
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
        check_layernorm_shape(t, ctx, dev, shapes[s], 100 + (uint32_t)s, (int)(s % 2));
    check_layernorm_shape(t, ctx, dev, big_rows, 99, 1);
}

/* ---- softmax ---- */

typedef struct sm_data {
    size_t rows, cols;
    float *x, *y, *dy, *dx0, *dx, *got;
    double *tol;
} sm_data;

static int sm_alloc(sm_data *d, shape s, uint32_t seed)
{
    const size_t n = s.rows * s.cols;
    d->rows = s.rows;
    d->cols = s.cols;
    d->x = host_random(n, &seed, 4.0f, 10.0f); /* far from 0: the max is subtracted */
    d->dy = host_random(n, &seed, 1.0f, 0.0f);
    d->dx0 = host_random(n, &seed, 1.0f, 0.0f);
    d->y = malloc(n * sizeof(float));
    d->dx = malloc(n * sizeof(float));
    d->got = malloc(n * sizeof(float));
    d->tol = calloc(n, sizeof(double));
    return d->x && d->dy && d->dx0 && d->y && d->dx && d->got && d->tol;
}

static void sm_free(sm_data *d)
{
    free(d->x);
    free(d->y);
    free(d->dy);
    free(d->dx0);
    free(d->dx);
    free(d->got);
    free(d->tol);
}

/* Softmax forward then backward (from the reference y) on the device. */
static porta_status sm_run(porta_context *ctx, sm_data *d, int accumulate, float *y_dev)
{
    const size_t n = d->rows * d->cols, xo = 3, yo = 1, dyo = 6, dxo = 2;
    porta_buffer *x = NULL, *y = NULL, *dy = NULL, *dx = NULL;
    porta_status st = upload(ctx, d->x, xo, n, &x);
    if (!st)
        st = upload(ctx, d->dx0, yo, n, &y);
    if (!st)
        st = upload(ctx, d->dy, dyo, n, &dy);
    if (!st)
        st = upload(ctx, d->dx0, dxo, n, &dx);
    if (!st)
        st = porta_softmax_forward(ctx, d->rows, d->cols, porta_view_at(x, xo),
                                   porta_view_at(y, yo));
    if (!st)
        st = download(ctx, y, yo, n, y_dev);
    if (!st)
        st = porta_buffer_write(ctx, y, yo * sizeof(float), n * sizeof(float), d->y);
    if (!st)
        st = porta_softmax_backward(ctx, d->rows, d->cols, porta_view_at(y, yo),
                                    porta_view_at(dy, dyo), porta_view_at(dx, dxo), accumulate);
    if (!st)
        st = download(ctx, dx, dxo, n, d->got);
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, y);
    porta_buffer_destroy(ctx, dy);
    porta_buffer_destroy(ctx, dx);
    return st;
}

static void check_softmax_shape(test_state *t, porta_context *ctx, const char *dev, shape s,
                                uint32_t seed, int accumulate)
{
    sm_data d = {0};
    const size_t n = s.rows * s.cols;
    float *y_dev = malloc(n * sizeof(float));
    int ok = sm_alloc(&d, s, seed) && y_dev;
    CHECK(t, ok, "out of host memory");
    char what[96];
    snprintf(what, sizeof(what), "softmax %zux%zu", s.rows, s.cols);
    if (ok)
        porta_ref_softmax_forward(d.rows, d.cols, d.x, d.y);
    porta_status st = ok ? sm_run(ctx, &d, accumulate, y_dev) : PORTA_OK;
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
    if (ok && !st) {
        for (size_t i = 0; i < n; i++)
            d.tol[i] = (64.0 + 4.0 * (double)d.cols) * U * fabs((double)d.y[i]);
        snprintf(what, sizeof(what), "softmax %zux%zu forward", s.rows, s.cols);
        compare(t, dev, what, y_dev, d.y, d.tol, n);
        memcpy(d.dx, d.dx0, n * sizeof(float));
        porta_ref_softmax_backward(d.rows, d.cols, d.y, d.dy, d.dx, accumulate);
        for (size_t i = 0; i < n; i++)
            d.tol[i] = (16.0 + 4.0 * (double)d.cols) * U * fabs((double)d.y[i]) *
                           (2.0 + fabs((double)d.dy[i])) +
                       (accumulate ? fabs((double)d.dx0[i]) * U : 0.0);
        snprintf(what, sizeof(what), "softmax %zux%zu backward%s", s.rows, s.cols,
                 accumulate ? " accumulate" : "");
        compare(t, dev, what, d.got, d.dx, d.tol, n);
    }
    free(y_dev);
    sm_free(&d);
}

static void check_softmaxes(test_state *t, porta_context *ctx, const char *dev, int big)
{
    for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++)
        check_softmax_shape(t, ctx, dev, shapes[s], 200 + (uint32_t)s, (int)(s % 2 == 0));
    if (big)
        check_softmax_shape(t, ctx, dev, big_rows, 199, 0);
}

/* ---- finite differences of the references (host only) ---- */

static void check_fd_activations(test_state *t)
{
    static const double points[] = {-7.5, -2.0, -0.3, 0.4, 1.7, 6.0};
    const double h = 1e-5;
    for (int fn = 0; fn < 4; fn++)
        for (size_t i = 0; i < sizeof(points) / sizeof(points[0]); i++) {
            double x = points[i];
            double fd =
                (porta_ref_activation(fn, x + h) - porta_ref_activation(fn, x - h)) / (2 * h);
            double an = porta_ref_activation_derivative(fn, x);
            CHECK(t, fabs(fd - an) <= 1e-7 * (1.0 + fabs(an)),
                  "%s'(%g): analytic %.12g, finite difference %.12g", fn_names[fn], x, an, fd);
        }
}

/* sum(w * layernorm(x; gamma, beta)) over a 3 x 5 matrix, in double of the
 * float reference outputs. */
static double ln_loss(const float *x, const float *gamma, const float *beta, const float *w)
{
    float y[15], mean[3], rstd[3];
    porta_ref_layernorm_forward(3, 5, 1e-5f, x, gamma, beta, y, mean, rstd);
    double s = 0.0;
    for (size_t i = 0; i < 15; i++)
        s += (double)w[i] * y[i];
    return s;
}

/* The derivative of the loss by v[j] as a central difference, step h. */
static double ln_fd(float *v, size_t j, const float *x, const float *gamma, const float *beta,
                    const float *w)
{
    const float h = 1e-2f, keep = v[j];
    v[j] = keep + h;
    double up = ln_loss(x, gamma, beta, w);
    v[j] = keep - h;
    double down = ln_loss(x, gamma, beta, w);
    v[j] = keep;
    return (up - down) / (2.0 * (double)h);
}

static void check_fd_layernorm(test_state *t)
{
    uint32_t seed = 7;
    float x[15], gamma[5], beta[5], w[15], y[15], mean[3], rstd[3], dx[15], dg[5], db[5];
    for (size_t i = 0; i < 15; i++) {
        x[i] = 2.0f * next_value(&seed);
        w[i] = next_value(&seed);
    }
    for (size_t i = 0; i < 5; i++) {
        gamma[i] = 1.0f + 0.5f * next_value(&seed);
        beta[i] = next_value(&seed);
    }
    porta_ref_layernorm_forward(3, 5, 1e-5f, x, gamma, beta, y, mean, rstd);
    porta_ref_layernorm_backward(3, 5, w, x, gamma, mean, rstd, dx, dg, db, 0);
    static const size_t xs[] = {0, 6, 14};
    for (size_t k = 0; k < 3; k++) {
        double fd = ln_fd(x, xs[k], x, gamma, beta, w);
        CHECK(t, fabs(fd - dx[xs[k]]) <= 2e-3 * (1.0 + fabs(fd)),
              "layernorm dx[%zu]: analytic %.9g, finite difference %.9g", xs[k], (double)dx[xs[k]],
              fd);
    }
    for (size_t c = 0; c < 5; c += 2) {
        double fg = ln_fd(gamma, c, x, gamma, beta, w), fb = ln_fd(beta, c, x, gamma, beta, w);
        CHECK(t, fabs(fg - dg[c]) <= 2e-3 * (1.0 + fabs(fg)),
              "layernorm dgamma[%zu]: analytic %.9g, finite difference %.9g", c, (double)dg[c], fg);
        CHECK(t, fabs(fb - db[c]) <= 2e-3 * (1.0 + fabs(fb)),
              "layernorm dbeta[%zu]: analytic %.9g, finite difference %.9g", c, (double)db[c], fb);
    }
}

static double sm_loss(const float *x, const float *w)
{
    float y[12];
    porta_ref_softmax_forward(2, 6, x, y);
    double s = 0.0;
    for (size_t i = 0; i < 12; i++)
        s += (double)w[i] * y[i];
    return s;
}

static void check_fd_softmax(test_state *t)
{
    uint32_t seed = 8;
    float x[12], w[12], y[12], dx[12];
    for (size_t i = 0; i < 12; i++) {
        x[i] = 2.0f * next_value(&seed);
        w[i] = next_value(&seed);
    }
    porta_ref_softmax_forward(2, 6, x, y);
    porta_ref_softmax_backward(2, 6, y, w, dx, 0);
    for (size_t j = 0; j < 12; j += 5) {
        const float h = 1e-2f, keep = x[j];
        x[j] = keep + h;
        double up = sm_loss(x, w);
        x[j] = keep - h;
        double down = sm_loss(x, w);
        x[j] = keep;
        double fd = (up - down) / (2.0 * (double)h);
        CHECK(t, fabs(fd - dx[j]) <= 1e-3 * (1.0 + fabs(fd)),
              "softmax dx[%zu]: analytic %.9g, finite difference %.9g", j, (double)dx[j], fd);
    }
}

/* ---- reproducibility and bad arguments ---- */

/* The layernorm forward and backward twice on 64 x 129: the same bits. */
static void check_reproducible(test_state *t, porta_context *ctx, const char *dev)
{
    ln_data d = {0};
    int ok = ln_alloc(&d, (shape){64, 129}, 5);
    porta_buffer *b[LN_COUNT] = {0};
    float *r[2] = {malloc(64 * 129 * sizeof(float)), malloc(129 * sizeof(float))};
    porta_status st = ok && r[0] && r[1] ? ln_upload(ctx, &d, b) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    for (int run = 0; run < 2 && !st; run++) {
        st = ln_forward(ctx, &d, b);
        if (!st)
            st = ln_backward(ctx, &d, b, 0);
        if (!st)
            st = download(ctx, b[LN_DX], ln_off[LN_DX], 64 * 129, run ? d.got : r[0]);
        if (!st)
            st = download(ctx, b[LN_DG], ln_off[LN_DG], 129, run ? d.got + 64 * 129 - 129 : r[1]);
    }
    CHECK_OK(t, ctx, st, "reproducibility runs");
    if (!st)
        CHECK(t,
              memcmp(r[0], d.got, (64 * 129 - 129) * sizeof(float)) == 0 &&
                  memcmp(r[1], d.got + 64 * 129 - 129, 129 * sizeof(float)) == 0,
              "%s layernorm backward not reproducible", dev);
    for (int i = 0; i < LN_COUNT; i++)
        porta_buffer_destroy(ctx, b[i]);
    free(r[0]);
    free(r[1]);
    ln_free(&d);
}

/* Expect `want` from a call, with a message naming `call` on failure. */
static void expect(test_state *t, porta_context *ctx, const char *dev, const char *what,
                   porta_status got, porta_status want, const char *call)
{
    CHECK(t, got == want, "%s %s: got %s (%s), want %s", dev, what, porta_strerror(got),
          porta_context_message(ctx), porta_strerror(want));
    if (want && got == want)
        CHECK(t, strstr(porta_context_message(ctx), call) != NULL,
              "%s %s: message '%s' does not name %s", dev, what, porta_context_message(ctx), call);
}

static void check_errors(test_state *t, porta_context *ctx, const char *dev)
{
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    porta_buffer *a = NULL, *b = NULL, *c = NULL;
    porta_status st = porta_buffer_create(ctx, 16 * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, 16 * sizeof(float), &b);
    if (!st)
        st = porta_buffer_create(ctx, 16 * sizeof(float), &c);
    CHECK_OK(t, ctx, st, "error-test buffers");
    if (st)
        return;
    const char *af = "porta_activation_forward", *ab = "porta_activation_backward";
    expect(
        t, ctx, dev, "activation fn 7",
        porta_activation_forward(ctx, (porta_activation)7, porta_view_of(a), porta_view_of(b), 4),
        bad, af);
    expect(t, ctx, dev, "activation y past the end",
           porta_activation_forward(ctx, PORTA_GELU, porta_view_of(a), porta_view_at(b, 1), 16),
           bad, af);
    expect(t, ctx, dev, "activation x NULL",
           porta_activation_forward(ctx, PORTA_RELU, porta_view_none(), porta_view_of(b), 4), bad,
           af);
    expect(t, ctx, dev, "activation backward dy past the end",
           porta_activation_backward(ctx, PORTA_TANH, porta_view_of(a), porta_view_at(b, 13),
                                     porta_view_of(c), 4, false),
           bad, ab);
    expect(t, ctx, dev, "activation n 0",
           porta_activation_backward(ctx, PORTA_SIGMOID, porta_view_of(a), porta_view_of(b),
                                     porta_view_of(c), 0, true),
           PORTA_OK, ab);
    const char *lf = "porta_layernorm_forward", *lb = "porta_layernorm_backward";
    expect(t, ctx, dev, "layernorm cols 0",
           porta_layernorm_forward(ctx, 2, 0, 1e-5f, porta_view_of(a), porta_view_of(b),
                                   porta_view_of(b), porta_view_of(c), porta_view_of(b),
                                   porta_view_at(b, 4)),
           bad, lf);
    expect(t, ctx, dev, "layernorm eps NaN",
           porta_layernorm_forward(ctx, 2, 4, NAN, porta_view_of(a), porta_view_of(b),
                                   porta_view_at(b, 4), porta_view_of(c), porta_view_at(b, 8),
                                   porta_view_at(b, 12)),
           bad, lf);
    expect(t, ctx, dev, "layernorm eps < 0",
           porta_layernorm_forward(ctx, 2, 4, -1.0f, porta_view_of(a), porta_view_of(b),
                                   porta_view_at(b, 4), porta_view_of(c), porta_view_at(b, 8),
                                   porta_view_at(b, 12)),
           bad, lf);
    expect(t, ctx, dev, "layernorm x past the end",
           porta_layernorm_forward(ctx, 5, 4, 1e-5f, porta_view_of(a), porta_view_of(b),
                                   porta_view_at(b, 4), porta_view_of(c), porta_view_at(b, 8),
                                   porta_view_at(b, 12)),
           bad, lf);
    expect(t, ctx, dev, "layernorm gamma past the end",
           porta_layernorm_forward(ctx, 2, 4, 1e-5f, porta_view_of(a), porta_view_at(b, 14),
                                   porta_view_at(b, 4), porta_view_of(c), porta_view_at(b, 8),
                                   porta_view_at(b, 12)),
           bad, lf);
    expect(t, ctx, dev, "layernorm rows overflow",
           porta_layernorm_forward(ctx, SIZE_MAX / 2, 4, 1e-5f, porta_view_of(a), porta_view_of(b),
                                   porta_view_at(b, 4), porta_view_of(c), porta_view_at(b, 8),
                                   porta_view_at(b, 12)),
           bad, lf);
    expect(t, ctx, dev, "layernorm rows 0",
           porta_layernorm_forward(ctx, 0, 4, 1e-5f, porta_view_of(a), porta_view_of(b),
                                   porta_view_at(b, 4), porta_view_of(c), porta_view_at(b, 8),
                                   porta_view_at(b, 12)),
           PORTA_OK, lf);
    expect(t, ctx, dev, "layernorm backward dbeta past the end",
           porta_layernorm_backward(ctx, 2, 4, porta_view_of(a), porta_view_at(a, 8),
                                    porta_view_of(b), porta_view_at(b, 4), porta_view_at(b, 6),
                                    porta_view_of(c), porta_view_at(c, 8), porta_view_at(b, 13),
                                    false),
           bad, lb);
    expect(t, ctx, dev, "layernorm backward dgamma NULL",
           porta_layernorm_backward(ctx, 2, 4, porta_view_of(a), porta_view_at(a, 8),
                                    porta_view_of(b), porta_view_at(b, 4), porta_view_at(b, 6),
                                    porta_view_of(c), porta_view_none(), porta_view_at(b, 8),
                                    false),
           bad, lb);
    const char *sf = "porta_softmax_forward", *sb = "porta_softmax_backward";
    expect(t, ctx, dev, "softmax cols 0",
           porta_softmax_forward(ctx, 1, 0, porta_view_of(a), porta_view_of(b)), bad, sf);
    expect(t, ctx, dev, "softmax y past the end",
           porta_softmax_forward(ctx, 4, 4, porta_view_of(a), porta_view_at(b, 1)), bad, sf);
    expect(t, ctx, dev, "softmax backward dx past the end",
           porta_softmax_backward(ctx, 3, 5, porta_view_of(a), porta_view_of(b),
                                  porta_view_at(c, 2), false),
           bad, sb);
    expect(t, ctx, dev, "softmax rows 0",
           porta_softmax_backward(ctx, 0, 5, porta_view_of(a), porta_view_of(b), porta_view_of(c),
                                  false),
           PORTA_OK, sb);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, c);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    check_activations(t, ctx, info->spec);
    check_layernorms(t, ctx, info->spec);
    check_softmaxes(t, ctx, info->spec, strstr(info->name, "llvmpipe") == NULL);
    check_reproducible(t, ctx, info->spec);
    check_errors(t, ctx, info->spec);
}

int main(void)
{
    test_init();
    test_state t = {0};
    check_fd_activations(&t);
    check_fd_layernorm(&t);
    check_fd_softmax(&t);
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
