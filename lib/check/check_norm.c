/* check_norm.c: kernels.layernorm and kernels.softmax, forward and
 * backward against lib/ref/ref_layers.c.
 *
 * Layer norm y, mean, rstd, dx: 32 (cols + 16) u (scale + |ref|), the
 * float summation bound over a row, where scale is what an error of the
 * row's float mean is multiplied by: 1 for mean and rstd, 2 rstd (|mean| +
 * 1) for y, rstd (1 + 2 rstd (|mean| + 1)) for dx; dgamma, dbeta: 8 (rows
 * + 16) u (sum of |terms| + |old|). Softmax y: (64 + 4 cols) u |ref|; dx:
 * (16 + 4 cols) u |y| (2 + |dy|) (+ u |old|). Each backward pass starts
 * from the reference's saved statistics (or y), so both sides start alike.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "ref/ref.h"

typedef struct shape {
    size_t rows, cols;
} shape;

/* 1x1, odd, wide, past a workgroup, one long row; (full) more rows than
 * one grid dimension (65535) and one dgamma dispatch (16384). */
static const shape shapes[] = {{1, 1}, {3, 7}, {5, 1000}, {64, 129}, {1, 4099}, {66000, 1}};

/* Buffers of the layer norm check, at offsets 1 .. 11. */
enum { LN_X, LN_GAMMA, LN_BETA, LN_Y, LN_MEAN, LN_RSTD, LN_DY, LN_DX, LN_DG, LN_DB, LN_COUNT };
static const size_t ln_off[LN_COUNT] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 11};

typedef struct ln_data {
    size_t rows, cols;
    float *in[LN_COUNT];                          /* what each buffer starts with */
    float *y, *mean, *rstd, *dx, *dgamma, *dbeta; /* the reference's */
    double *tol;
} ln_data;

static void ln_free(ln_data *d)
{
    for (int i = 0; i < LN_COUNT; i++)
        free(d->in[i]);
    float *out[] = {d->y, d->mean, d->rstd, d->dx, d->dgamma, d->dbeta};
    for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
        free(out[i]);
    free(d->tol);
}

static size_t ln_len(const ln_data *d, int which)
{
    const size_t n = d->rows * d->cols;
    static const int per_row[LN_COUNT] = {2, 1, 1, 2, 0, 0, 2, 2, 1, 1};
    return per_row[which] == 2 ? n : per_row[which] == 1 ? d->cols : d->rows;
}

static bool ln_alloc(ln_data *d, shape s, uint32_t seed)
{
    memset(d, 0, sizeof(*d));
    d->rows = s.rows;
    d->cols = s.cols;
    const size_t n = s.rows * s.cols, big = n > s.rows ? n : s.rows;
    /* rows off zero (shift 3) so the two-pass variance matters */
    static const float scale[LN_COUNT] = {1, 0.5f, 1, 1, 1, 1, 1, 1, 1, 1};
    static const float shift[LN_COUNT] = {3, 1, 0, 0, 0, 0, 0, 0, 0, 0};
    bool ok = true;
    for (int i = 0; i < LN_COUNT; i++) {
        d->in[i] = porta__check_random_new(ln_len(d, i), &seed, scale[i], shift[i]);
        ok &= d->in[i] != NULL;
    }
    d->y = malloc(n * sizeof(float));
    d->mean = malloc(s.rows * sizeof(float));
    d->rstd = malloc(s.rows * sizeof(float));
    d->dx = malloc(n * sizeof(float));
    d->dgamma = malloc(s.cols * sizeof(float));
    d->dbeta = malloc(s.cols * sizeof(float));
    d->tol = malloc(big * sizeof(double));
    return ok && d->y && d->mean && d->rstd && d->dx && d->dgamma && d->dbeta && d->tol;
}

/* 32 (cols + 16) u (scale[r] + |want|) for n values of rows of row_len. */
static void row_tolerances(double *tol, const float *want, size_t n, size_t cols,
                           const double *scale, size_t row_len)
{
    const double k = 32.0 * (double)(cols + 16) * PORTA_CHECK_U;
    for (size_t i = 0; i < n; i++)
        tol[i] = k * ((scale ? scale[i / row_len] : 1.0) + fabs((double)want[i]));
}

/* 8 (rows + 16) u (sum_r |term| + |old|) for dgamma (xhat) or dbeta. */
static void column_tolerances(const ln_data *d, bool gamma, bool accumulate)
{
    const double k = 8.0 * (double)(d->rows + 16) * PORTA_CHECK_U;
    const float *old = d->in[gamma ? LN_DG : LN_DB];
    for (size_t c = 0; c < d->cols; c++) {
        double s = accumulate ? fabs((double)old[c]) : 0.0;
        for (size_t r = 0; r < d->rows; r++) {
            const size_t i = r * d->cols + c;
            const double xhat = gamma ? ((double)d->in[LN_X][i] - d->mean[r]) * d->rstd[r] : 1.0;
            s += fabs((double)d->in[LN_DY][i] * xhat);
        }
        d->tol[c] = k * (s + 1e-3);
    }
}

static void check_layernorm_shape(porta__check *c, shape s, uint32_t seed, bool accumulate)
{
    porta_context *ctx = c->ctx;
    ln_data d;
    porta_buffer *b[LN_COUNT] = {0};
    double *scale = porta__check_alloc(s.rows, sizeof(double));
    char name[64], what[128];
    snprintf(name, sizeof(name), "layernorm %zux%zu", s.rows, s.cols);
    if (!porta__check_host_memory(c, ln_alloc(&d, s, seed) && scale))
        goto done;
    const size_t n = d.rows * d.cols;
    porta_ref_layernorm_forward(d.rows, d.cols, 1e-5f, d.in[LN_X], d.in[LN_GAMMA], d.in[LN_BETA],
                                d.y, d.mean, d.rstd);
    memcpy(d.dx, d.in[LN_DX], n * sizeof(float));
    memcpy(d.dgamma, d.in[LN_DG], d.cols * sizeof(float));
    memcpy(d.dbeta, d.in[LN_DB], d.cols * sizeof(float));
    porta_ref_layernorm_backward(d.rows, d.cols, d.in[LN_DY], d.in[LN_X], d.in[LN_GAMMA], d.mean,
                                 d.rstd, d.dx, d.dgamma, d.dbeta, accumulate);
    porta_status st = PORTA_OK;
    for (int i = 0; i < LN_COUNT && !st; i++)
        st = porta__check_upload(ctx, d.in[i], ln_off[i], ln_len(&d, i), 0, 0.0f, &b[i]);
#define V(i) porta_view_at(b[i], ln_off[i])
    if (!st)
        st = porta_layernorm_forward(ctx, d.rows, d.cols, 1e-5f, V(LN_X), V(LN_GAMMA), V(LN_BETA),
                                     V(LN_Y), V(LN_MEAN), V(LN_RSTD));
    snprintf(what, sizeof(what), "%s forward", name);
    if (porta__check_call(c, st, "%s", what)) {
        for (size_t r = 0; r < d.rows; r++)
            scale[r] = 2.0 * d.rstd[r] * (fabs((double)d.mean[r]) + 1.0);
        row_tolerances(d.tol, d.y, n, d.cols, scale, d.cols);
        porta__check_compare_buffer(c, what, b[LN_Y], ln_off[LN_Y], d.y, d.tol, n, 0, 0.0f);
        snprintf(what, sizeof(what), "%s mean", name);
        row_tolerances(d.tol, d.mean, d.rows, d.cols, NULL, 1);
        porta__check_compare_buffer(c, what, b[LN_MEAN], ln_off[LN_MEAN], d.mean, d.tol, d.rows, 0,
                                    0.0f);
        snprintf(what, sizeof(what), "%s rstd", name);
        row_tolerances(d.tol, d.rstd, d.rows, d.cols, NULL, 1);
        porta__check_compare_buffer(c, what, b[LN_RSTD], ln_off[LN_RSTD], d.rstd, d.tol, d.rows, 0,
                                    0.0f);
    }
    st = c->fatal;
    if (!st)
        st = porta_buffer_write(ctx, b[LN_MEAN], ln_off[LN_MEAN] * sizeof(float),
                                d.rows * sizeof(float), d.mean);
    if (!st)
        st = porta_buffer_write(ctx, b[LN_RSTD], ln_off[LN_RSTD] * sizeof(float),
                                d.rows * sizeof(float), d.rstd);
    if (!st)
        st = porta_layernorm_backward(ctx, d.rows, d.cols, V(LN_DY), V(LN_X), V(LN_GAMMA),
                                      V(LN_MEAN), V(LN_RSTD), V(LN_DX), V(LN_DG), V(LN_DB),
                                      accumulate);
#undef V
    const char *acc = accumulate ? " accumulate" : "";
    snprintf(what, sizeof(what), "%s backward%s dx", name, acc);
    if (!c->fatal && porta__check_call(c, st, "%s", what)) {
        for (size_t r = 0; r < d.rows; r++)
            scale[r] = d.rstd[r] * (1.0 + 2.0 * d.rstd[r] * (fabs((double)d.mean[r]) + 1.0));
        row_tolerances(d.tol, d.dx, n, d.cols, scale, d.cols);
        porta__check_compare_buffer(c, what, b[LN_DX], ln_off[LN_DX], d.dx, d.tol, n, 0, 0.0f);
        snprintf(what, sizeof(what), "%s backward%s dgamma", name, acc);
        column_tolerances(&d, true, accumulate);
        porta__check_compare_buffer(c, what, b[LN_DG], ln_off[LN_DG], d.dgamma, d.tol, d.cols, 0,
                                    0.0f);
        snprintf(what, sizeof(what), "%s backward%s dbeta", name, acc);
        column_tolerances(&d, false, accumulate);
        porta__check_compare_buffer(c, what, b[LN_DB], ln_off[LN_DB], d.dbeta, d.tol, d.cols, 0,
                                    0.0f);
    }
done:
    for (int i = 0; i < LN_COUNT; i++)
        porta_buffer_destroy(ctx, b[i]);
    ln_free(&d);
    free(scale);
}

void porta__check_layernorm(porta__check *c)
{
    const size_t n = sizeof(shapes) / sizeof(shapes[0]) - (c->quick ? 1 : 0);
    for (size_t s = 0; s < n && !c->fatal; s++)
        check_layernorm_shape(c, shapes[s], 100 + (uint32_t)s, s % 2 == 1);
}

static void check_softmax_shape(porta__check *c, shape s, uint32_t seed, bool accumulate)
{
    porta_context *ctx = c->ctx;
    const size_t n = s.rows * s.cols, xo = 3, yo = 1, dyo = 6, dxo = 2;
    float *x = porta__check_random_new(n, &seed, 4.0f, 10.0f); /* far from 0 */
    float *dy = porta__check_random_new(n, &seed, 1.0f, 0.0f);
    float *dx0 = porta__check_random_new(n, &seed, 1.0f, 0.0f);
    float *y = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float));
    double *tol = malloc(n * sizeof(double));
    porta_buffer *b[4] = {0};
    char what[96];
    if (!porta__check_host_memory(c, x && dy && dx0 && y && dx && tol))
        goto done;
    porta_ref_softmax_forward(s.rows, s.cols, x, y);
    porta_status st = porta__check_upload(ctx, x, xo, n, 0, 0.0f, &b[0]);
    if (!st)
        st = porta__check_upload(ctx, dx0, yo, n, 0, 0.0f, &b[1]); /* y: overwritten */
    if (!st)
        st = porta__check_upload(ctx, dy, dyo, n, 0, 0.0f, &b[2]);
    if (!st)
        st = porta__check_upload(ctx, dx0, dxo, n, 0, 0.0f, &b[3]);
    if (!st)
        st = porta_softmax_forward(ctx, s.rows, s.cols, porta_view_at(b[0], xo),
                                   porta_view_at(b[1], yo));
    snprintf(what, sizeof(what), "softmax %zux%zu forward", s.rows, s.cols);
    if (!porta__check_call(c, st, "%s", what))
        goto done;
    for (size_t i = 0; i < n; i++)
        tol[i] = (64.0 + 4.0 * (double)s.cols) * PORTA_CHECK_U * fabs((double)y[i]);
    porta__check_compare_buffer(c, what, b[1], yo, y, tol, n, 0, 0.0f);
    st = c->fatal ? c->fatal
                  : porta_buffer_write(ctx, b[1], yo * sizeof(float), n * sizeof(float), y);
    if (!st)
        st = porta_softmax_backward(ctx, s.rows, s.cols, porta_view_at(b[1], yo),
                                    porta_view_at(b[2], dyo), porta_view_at(b[3], dxo), accumulate);
    snprintf(what, sizeof(what), "softmax %zux%zu backward%s", s.rows, s.cols,
             accumulate ? " accumulate" : "");
    if (!c->fatal && porta__check_call(c, st, "%s", what)) {
        memcpy(dx, dx0, n * sizeof(float));
        porta_ref_softmax_backward(s.rows, s.cols, y, dy, dx, accumulate);
        for (size_t i = 0; i < n; i++)
            tol[i] = (16.0 + 4.0 * (double)s.cols) * PORTA_CHECK_U * fabs((double)y[i]) *
                         (2.0 + fabs((double)dy[i])) +
                     (accumulate ? fabs((double)dx0[i]) * PORTA_CHECK_U : 0.0);
        porta__check_compare_buffer(c, what, b[3], dxo, dx, tol, n, 0, 0.0f);
    }
done:
    for (int i = 0; i < 4; i++)
        porta_buffer_destroy(ctx, b[i]);
    free(x);
    free(dy);
    free(dx0);
    free(y);
    free(dx);
    free(tol);
}

void porta__check_softmax(porta__check *c)
{
    /* The tall shape takes llvmpipe seconds per dispatch of one-row
     * workgroups: only in the full run. */
    const size_t n = sizeof(shapes) / sizeof(shapes[0]) - (c->quick ? 1 : 0);
    for (size_t s = 0; s < n && !c->fatal; s++)
        check_softmax_shape(c, shapes[s], 200 + (uint32_t)s, s % 2 == 0);
}
