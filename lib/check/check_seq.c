/* check_seq.c: kernels.dropout, kernels.attention_softmax and
 * kernels.tensor_gather against lib/ref/ref_seq.c.
 *
 * Dropout and gathers are the same bits as the reference (one
 * multiplication per element; copies and one addition). Attention softmax
 * forward: (64 + 4 T) u |ref| + 1e-30 (exp is a few ulp off on devices),
 * masked entries exactly +0; backward: (16 + 4 T) u |scale| |y| (2 + |dy|)
 * (+ u |old| accumulating), from the reference's y.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "ref/ref.h"

/* ---- dropout ---------------------------------------------------------- */

typedef struct drop_case {
    size_t n;
    float p;
    uint64_t seed, step;
} drop_case;

static void check_dropout_case(porta__check *c, drop_case d, uint32_t seed)
{
    porta_context *ctx = c->ctx;
    const size_t xo = 3, yo = 1, dxo = 2;
    float *x = porta__check_random_new(d.n, &seed, 2.0f, 0.0f);
    float *dx0 = porta__check_random_new(d.n, &seed, 1.0f, 0.0f);
    float *want = malloc(d.n * sizeof(float));
    porta_buffer *b[3] = {0};
    char what[96], w[128];
    snprintf(what, sizeof(what), "dropout n=%zu p=%g seed %llx step %llx", d.n, (double)d.p,
             (unsigned long long)d.seed, (unsigned long long)d.step);
    if (!porta__check_host_memory(c, x && dx0 && want))
        goto done;
    porta_status st = porta__check_upload(ctx, x, xo, d.n, 1, 0.0f, &b[0]);
    if (!st)
        st = porta__check_upload(ctx, dx0, yo, d.n, 1, 0.0f, &b[1]);
    if (!st)
        st = porta__check_upload(ctx, dx0, dxo, d.n, 1, 0.0f, &b[2]);
    if (!st)
        st = porta_dropout_forward(ctx, d.p, d.seed, d.step, d.n, porta_view_at(b[0], xo),
                                   porta_view_at(b[1], yo));
    if (!st)
        st = porta_dropout_backward(ctx, d.p, d.seed, d.step, d.n, porta_view_at(b[0], xo),
                                    porta_view_at(b[2], dxo), true);
    if (!porta__check_call(c, st, "%s", what))
        goto done;
    snprintf(w, sizeof(w), "%s forward", what);
    porta_ref_dropout(d.p, d.seed, d.step, d.n, x, want, 0);
    porta__check_compare_buffer(c, w, b[1], yo, want, NULL, d.n, 1, 0.0f);
    if (d.n >= 100000) {
        /* the mask keeps 1 - p of the elements, within 5 standard deviations */
        size_t kept = 0;
        for (size_t i = 0; i < d.n; i++)
            kept += want[i] != 0.0f;
        const double mean = (double)d.n * (1.0 - d.p);
        const double sd = sqrt((double)d.n * d.p * (1.0 - d.p));
        porta__check_case(c, fabs((double)kept - mean) <= 5.0 * sd + 1.0,
                          "%s: %zu kept, expected %.0f +- %.0f", what, kept, mean, 5.0 * sd);
    }
    snprintf(w, sizeof(w), "%s backward accumulate", what);
    memcpy(want, dx0, d.n * sizeof(float));
    porta_ref_dropout(d.p, d.seed, d.step, d.n, x, want, 1);
    porta__check_compare_buffer(c, w, b[2], dxo, want, NULL, d.n, 1, 0.0f);
done:
    for (int i = 0; i < 3; i++)
        porta_buffer_destroy(ctx, b[i]);
    free(x);
    free(dx0);
    free(want);
}

/* In place, and the next step draws another mask. */
static void check_dropout_steps(porta__check *c)
{
    const size_t n = 4099;
    uint32_t seed = 9;
    float *x = porta__check_random_new(n, &seed, 1.0f, 2.0f); /* no zeros */
    float *y[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
    float *want = malloc(n * sizeof(float));
    porta_buffer *b = NULL;
    if (!porta__check_host_memory(c, x && y[0] && y[1] && want))
        goto done;
    porta_status st = PORTA_OK;
    for (int s = 0; s < 2 && !st; s++) {
        st = porta__check_upload(c->ctx, x, 0, n, 0, 0.0f, &b);
        if (!st)
            st = porta_dropout_forward(c->ctx, 0.5f, 7, (uint64_t)s, n, porta_view_of(b),
                                       porta_view_of(b));
        if (!st)
            st = porta__check_download(c->ctx, b, 0, n, y[s]);
        porta_buffer_destroy(c->ctx, b);
        b = NULL;
    }
    if (porta__check_call(c, st, "dropout in place, steps 0 and 1")) {
        size_t differ = 0;
        for (size_t i = 0; i < n; i++)
            differ += (y[0][i] == 0.0f) != (y[1][i] == 0.0f);
        porta__check_case(c, differ > n / 4 && differ < 3 * n / 4,
                          "dropout p=0.5: steps 0 and 1 differ in %zu of %zu mask bits (expected "
                          "about half)",
                          differ, n);
        porta_ref_dropout(0.5f, 7, 1, n, x, want, 0);
        porta__check_compare(c, "dropout in place n=4099 step 1", y[1], want, NULL, n);
    }
done:
    free(x);
    free(y[0]);
    free(y[1]);
    free(want);
}

void porta__check_dropout(porta__check *c)
{
    static const drop_case cases[] = {{1, 0.3f, 1, 1},
                                      {7, 0.9f, 2, 3},
                                      {100000, 0.1f, 42, 0},
                                      {100003, 0.5f, 0x123456789ABCDEF0ull, 0xFFFFFFFF1ull},
                                      {100000, 0.0f, 5, 6}};
    const size_t n = sizeof(cases) / sizeof(cases[0]);
    for (size_t i = 0; i < n && !c->fatal; i++)
        check_dropout_case(c, cases[i], 500 + (uint32_t)i);
    if (!c->fatal)
        check_dropout_steps(c);
}

/* ---- attention softmax ------------------------------------------------ */

typedef struct att_case {
    size_t batch_heads, T;
    float scale;
    int causal;
} att_case;

static void check_attention_case(porta__check *c, att_case a, uint32_t seed, bool accumulate)
{
    porta_context *ctx = c->ctx;
    const size_t n = a.batch_heads * a.T * a.T, xo = 2, yo = 5, dyo = 1, dxo = 3;
    float *x = porta__check_random_new(n, &seed, 8.0f, 20.0f); /* far from 0 */
    float *dy = porta__check_random_new(n, &seed, 1.0f, 0.0f);
    float *dx0 = porta__check_random_new(n, &seed, 1.0f, 0.0f);
    float *y = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float));
    float *got = malloc(n * sizeof(float));
    double *tol = malloc(n * sizeof(double));
    porta_buffer *b[4] = {0};
    char what[128], w[160];
    snprintf(what, sizeof(what), "attention_softmax %zux%zux%zu scale=%g%s", a.batch_heads, a.T,
             a.T, (double)a.scale, a.causal ? " causal" : "");
    if (!porta__check_host_memory(c, x && dy && dx0 && y && dx && got && tol))
        goto done;
    porta_status st = porta__check_upload(ctx, x, xo, n, 0, 0.0f, &b[0]);
    if (!st)
        st = porta__check_upload(ctx, dx0, yo, n, 0, 0.0f, &b[1]); /* y: overwritten */
    if (!st)
        st = porta__check_upload(ctx, dy, dyo, n, 0, 0.0f, &b[2]);
    if (!st)
        st = porta__check_upload(ctx, dx0, dxo, n, 0, 0.0f, &b[3]);
    if (!st)
        st = porta_attention_softmax_forward(ctx, a.batch_heads, a.T, a.scale, a.causal,
                                             porta_view_at(b[0], xo), porta_view_at(b[1], yo));
    if (!st)
        st = porta__check_download(ctx, b[1], yo, n, got);
    snprintf(w, sizeof(w), "%s forward", what);
    if (!porta__check_call(c, st, "%s", w))
        goto done;
    porta_ref_attention_softmax_forward(a.batch_heads, a.T, a.scale, a.causal, x, y);
    for (size_t i = 0; i < n; i++)
        tol[i] = (64.0 + 4.0 * (double)a.T) * PORTA_CHECK_U * fabs((double)y[i]) + 1e-30;
    porta__check_compare(c, w, got, y, tol, n);
    if (a.causal) {
        size_t masked_bad = 0;
        const float zero = 0.0f;
        for (size_t i = 0; i < n; i++) {
            const size_t row = i / a.T, j = i % a.T;
            masked_bad += j > row % a.T && memcmp(&got[i], &zero, sizeof(float)) != 0;
        }
        porta__check_case(c, masked_bad == 0, "%s: %zu masked entries are not +0", w, masked_bad);
    }
    st = porta_buffer_write(ctx, b[1], yo * sizeof(float), n * sizeof(float), y);
    if (!st)
        st = porta_attention_softmax_backward(ctx, a.batch_heads, a.T, a.scale,
                                              porta_view_at(b[1], yo), porta_view_at(b[2], dyo),
                                              porta_view_at(b[3], dxo), accumulate);
    snprintf(w, sizeof(w), "%s backward%s", what, accumulate ? " accumulate" : "");
    if (porta__check_call(c, st, "%s", w)) {
        memcpy(dx, dx0, n * sizeof(float));
        porta_ref_attention_softmax_backward(a.batch_heads, a.T, a.scale, y, dy, dx, accumulate);
        for (size_t i = 0; i < n; i++)
            tol[i] = (16.0 + 4.0 * (double)a.T) * PORTA_CHECK_U * fabs((double)a.scale) *
                         fabs((double)y[i]) * (2.0 + fabs((double)dy[i])) +
                     (accumulate ? fabs((double)dx0[i]) * PORTA_CHECK_U : 0.0);
        porta__check_compare_buffer(c, w, b[3], dxo, dx, tol, n, 0, 0.0f);
    }
done:
    for (int i = 0; i < 4; i++)
        porta_buffer_destroy(ctx, b[i]);
    free(x);
    free(dy);
    free(dx0);
    free(y);
    free(dx);
    free(got);
    free(tol);
}

void porta__check_attention(porta__check *c)
{
    /* the last two on both sides of the longest row CPU devices give one
     * invocation (1024; longer rows take a workgroup each) */
    static const att_case cases[] = {
        {1, 1, 1.0f, 1},        {3, 1, 0.5f, 0},       {2, 7, 0.125f, 1},
        {2, 7, -0.7f, 0},       {1, 129, 0.25f, 1},    {1, 129, 2.0f, 0},
        {5, 33, 0.3535534f, 1}, {1, 1100, 0.0625f, 1}, {1, 1024, 0.0625f, 0}};
    const size_t n = sizeof(cases) / sizeof(cases[0]) - (c->quick ? 2 : 0);
    for (size_t i = 0; i < n && !c->fatal; i++)
        check_attention_case(c, cases[i], 600 + (uint32_t)i, i % 2 == 1);
}

/* ---- tensor gather ---------------------------------------------------- */

/* One gather from x (nx elements, from x_off) into y (starting as y0),
 * compared bit for bit; the result into out when not NULL. */
static void gather_case(porta__check *c, const char *name, unsigned ndim, const size_t *shape,
                        const size_t *strides, const float *x, size_t nx, size_t x_off,
                        const float *y0, bool accumulate, float *out)
{
    porta_context *ctx = c->ctx;
    size_t ny = 1;
    for (unsigned d = 0; d < ndim; d++)
        ny *= shape[d];
    float *want = malloc(ny * sizeof(float)), *got = malloc(ny * sizeof(float));
    const size_t yo = 3;
    porta_buffer *b[2] = {0};
    if (!porta__check_host_memory(c, want && got))
        goto done;
    porta_status st = porta__check_upload(ctx, x, 0, nx, 0, 0.0f, &b[0]);
    if (!st)
        st = porta__check_upload(ctx, y0, yo, ny, 1, 0.0f, &b[1]);
    if (!st)
        st = porta_tensor_gather(ctx, ndim, shape, strides, porta_view_at(b[0], x_off),
                                 porta_view_at(b[1], yo), accumulate);
    if (!st)
        st = porta__check_download(ctx, b[1], yo, ny, got);
    if (porta__check_call(c, st, "%s", name)) {
        memcpy(want, y0, ny * sizeof(float));
        porta_ref_tensor_gather(ndim, shape, strides, x + x_off, want, accumulate);
        porta__check_compare(c, name, got, want, NULL, ny);
        if (out)
            memcpy(out, got, ny * sizeof(float));
    }
done:
    porta_buffer_destroy(ctx, b[0]);
    porta_buffer_destroy(ctx, b[1]);
    free(want);
    free(got);
}

/* The fused-QKV head split of porta.h's example and its one-call backward
 * (the round trip gives x back exactly), head merge and its inverse, a
 * broadcast, one element, six dimensions. */
void porta__check_gather(porta__check *c)
{
    enum { B = 2, T = 3, H = 2, D = 5 };
    const size_t nx = (size_t)B * T * 3 * H * D, nq = (size_t)B * H * T * D;
    uint32_t seed = 700;
    float *x = porta__check_random_new(nx, &seed, 1.0f, 0.0f);
    float *zeros = porta__check_alloc(nx + 64, sizeof(float));
    float *noise = porta__check_random_new(nx + 64, &seed, 1.0f, 0.0f);
    float *qkv = porta__check_alloc(nx, sizeof(float)),
          *back = porta__check_alloc(nx, sizeof(float));
    if (!porta__check_host_memory(c, x && zeros && noise && qkv && back))
        goto done;
    const size_t split_shape[] = {B, H, T, D};
    const size_t split_strides[] = {T * 3 * H * D, D, 3 * H * D, 1};
    static const char *const names[] = {"gather q", "gather k", "gather v"};
    for (size_t s = 0; s < 3; s++)
        gather_case(c, names[s], 4, split_shape, split_strides, x, nx, s * H * D, zeros, false,
                    qkv + s * nq);
    /* d[B, T, 3, H, D] from dqkv [3, B, H, T, D]: the split's adjoint */
    const size_t join_shape[] = {B, T, 3, H, D};
    const size_t join_strides[] = {H * T * D, D, (size_t)B * H * T * D, T * D, 1};
    gather_case(c, "gather qkv backward", 5, join_shape, join_strides, qkv, nx, 0, zeros, false,
                back);
    porta__check_case(c, memcmp(back, x, nx * sizeof(float)) == 0,
                      "gather: the QKV backward does not invert the head split");
    gather_case(c, "gather qkv backward accumulate", 5, join_shape, join_strides, qkv, nx, 0, noise,
                true, NULL);
    const size_t merge_shape[] = {B, T, H, D}, merge_strides[] = {H * T * D, D, T * D, 1};
    const size_t unmerge_shape[] = {B, H, T, D}, unmerge_strides[] = {T * H * D, D, H * D, 1};
    gather_case(c, "gather head merge", 4, merge_shape, merge_strides, qkv, nq, 0, zeros, false,
                back);
    memcpy(x, back, nq * sizeof(float));
    gather_case(c, "gather head unmerge", 4, unmerge_shape, unmerge_strides, x, nq, 0, zeros, false,
                back);
    porta__check_case(c, memcmp(back, qkv, nq * sizeof(float)) == 0,
                      "gather: head unmerge does not invert the merge");
    const size_t bc_shape[] = {7, 10}, bc_strides[] = {0, 1};
    gather_case(c, "gather broadcast", 2, bc_shape, bc_strides, noise, 11, 1, noise, true, NULL);
    const size_t one_shape[] = {1}, one_strides[] = {5};
    gather_case(c, "gather one element", 1, one_shape, one_strides, noise, 9, 3, zeros, false,
                NULL);
    const size_t six_shape[] = {2, 1, 3, 2, 1, 5}, six_strides[] = {1, 100, 31, 2, 7, 6};
    gather_case(c, "gather six dimensions", 6, six_shape, six_strides, noise, nx, 4, zeros, false,
                NULL);
done:
    free(x);
    free(zeros);
    free(noise);
    free(qkv);
    free(back);
}
