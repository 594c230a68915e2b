/* test_seq: the sequence-model kernels (bias, embedding, dropout, attention
 * softmax, strided gather) forward and backward on every device against
 * the C reference (lib/ref).
 *
 * Tolerances, with u = 2^-24:
 *  - bias_add, embedding_forward, tensor_gather, dropout: exact (one float
 *    addition, a copy, one multiplication); dropout is also compared bit for
 *    bit with the reference, which makes every device agree bit for bit;
 *  - bias_backward, embedding_backward: 8 (terms + 16) u (sum |terms| +
 *    |old|), the bound of a float sum of `terms` terms in any order;
 *  - attention softmax forward: (64 + 4 T) u |want| + 1e-30 (exp is a few
 *    ulp off on the devices); backward: (16 + 4 T) u |scale| |y| (2 + |dy|)
 *    (+ |dx0| u when accumulating).
 * The reference backward passes are checked against central finite
 * differences of the reference forward passes in double (host only), and
 * the argument checks against bad calls.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "ref/ref.h"

#define U (1.0 / 16777216.0)
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

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

/* A device buffer of off + n 4-byte words holding h at off (zeros before). */
static porta_status upload(porta_context *ctx, const void *h, size_t off, size_t n,
                           porta_buffer **out)
{
    porta_status st = porta_buffer_create(ctx, (off + n + 1) * sizeof(float), out);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(*out), off + n + 1, 0.0f);
    if (!st && n)
        st = porta_buffer_write(ctx, *out, off * sizeof(float), n * sizeof(float), h);
    return st;
}

static porta_status download(porta_context *ctx, porta_buffer *b, size_t off, size_t n, void *h)
{
    return n ? porta_buffer_read(ctx, b, off * sizeof(float), n * sizeof(float), h) : PORTA_OK;
}

static void destroy_all(porta_context *ctx, porta_buffer **b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        porta_buffer_destroy(ctx, b[i]);
        b[i] = NULL;
    }
}

/* Count elements outside |got - want| <= tol[i] (tol NULL: the same bits,
 * or both NaN); report the first. */
static void compare(test_state *t, const char *dev, const char *what, const float *got,
                    const float *want, const double *tol, size_t n)
{
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < n; i++) {
        int ok;
        if (tol)
            ok = fabs((double)got[i] - (double)want[i]) <= tol[i];
        else
            ok = memcmp(&got[i], &want[i], sizeof(float)) == 0 || (isnan(got[i]) && isnan(want[i]));
        if (!ok && bad++ == 0)
            first = i;
    }
    CHECK(t, bad == 0, "%s %s: %zu of %zu wrong, first [%zu] = %.9g, want %.9g (tol %.3g)", dev,
          what, bad, n, first, n ? (double)got[first] : 0.0, n ? (double)want[first] : 0.0,
          n && tol ? tol[first] : 0.0);
}

static void check_status(test_state *t, porta_context *ctx, const char *dev, const char *what,
                         porta_status st)
{
    CHECK(t, st == PORTA_OK, "%s %s: %s: %s", dev, what, porta_strerror(st),
          porta_context_message(ctx));
}

/* ---- bias ---- */

typedef struct shape {
    size_t rows, cols;
} shape;

/* Rows 1, odd; cols 1, 10, 4097; many rows (several chunks of the two-pass
 * column sum, for narrow and block-wide column blocks). */
static const shape bias_shapes[] = {{1, 1},     {1, 10},    {3, 7},    {5, 4097},
                                    {1000, 10}, {2049, 33}, {70001, 3}};

static void check_bias_shape(test_state *t, porta_context *ctx, const char *dev, shape s,
                             uint32_t seed, int accumulate)
{
    const size_t n = s.rows * s.cols, bo = 3, yo = 5, dbo = 2;
    float *bias = host_random(s.cols, &seed, 1.0f, 0.0f);
    float *y = host_random(n, &seed, 1.0f, 0.5f);
    float *db0 = host_random(s.cols, &seed, 1.0f, 0.0f);
    float *want = malloc((n + s.cols) * sizeof(float));
    float *got = malloc((n + s.cols) * sizeof(float));
    double *tol = malloc(s.cols * sizeof(double));
    char what[96];
    snprintf(what, sizeof(what), "bias %zux%zu", s.rows, s.cols);
    int ok = bias && y && db0 && want && got && tol;
    CHECK(t, ok, "out of host memory");
    porta_buffer *b[3] = {0};
    porta_status st = ok ? upload(ctx, bias, bo, s.cols, &b[0]) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = upload(ctx, y, yo, n, &b[1]);
    if (!st)
        st = upload(ctx, db0, dbo, s.cols, &b[2]);
    /* The backward pass reads y before the forward pass adds the bias. */
    if (!st)
        st = porta_bias_backward(ctx, s.rows, s.cols, porta_view_at(b[1], yo),
                                 porta_view_at(b[2], dbo), accumulate);
    if (!st)
        st = download(ctx, b[2], dbo, s.cols, got + n);
    if (!st)
        st = porta_bias_add(ctx, s.rows, s.cols, porta_view_at(b[0], bo), porta_view_at(b[1], yo));
    if (!st)
        st = download(ctx, b[1], yo, n, got);
    check_status(t, ctx, dev, what, st);
    if (ok && !st) {
        memcpy(want, y, n * sizeof(float));
        porta_ref_bias_add(s.rows, s.cols, bias, want);
        snprintf(what, sizeof(what), "bias_add %zux%zu", s.rows, s.cols);
        compare(t, dev, what, got, want, NULL, n);
        memcpy(want + n, db0, s.cols * sizeof(float));
        porta_ref_bias_backward(s.rows, s.cols, y, want + n, accumulate);
        const double k = 8.0 * (double)(s.rows + 16) * U;
        for (size_t c = 0; c < s.cols; c++) {
            double sum = accumulate ? fabs((double)db0[c]) : 0.0;
            for (size_t r = 0; r < s.rows; r++)
                sum += fabs((double)y[r * s.cols + c]);
            tol[c] = k * sum;
        }
        snprintf(what, sizeof(what), "bias_backward %zux%zu%s", s.rows, s.cols,
                 accumulate ? " accumulate" : "");
        compare(t, dev, what, got + n, want + n, tol, s.cols);
    }
    destroy_all(ctx, b, 3);
    free(bias);
    free(y);
    free(db0);
    free(want);
    free(got);
    free(tol);
}

/* The two-pass column sum twice: the same bits; rows == 0 writes zeros;
 * the scratch it grew still serves porta_vec_sum. */
static void check_bias_extra(test_state *t, porta_context *ctx, const char *dev)
{
    /* 12 chunks of 130 columns: more scratch than any call before. */
    const size_t rows = 3000, cols = 130;
    uint32_t seed = 77;
    float *dy = host_random(rows * cols, &seed, 1.0f, 0.0f);
    float r[2][130], z[130], sum = 0.0f;
    porta_buffer *b[3] = {0};
    porta_status st = dy ? upload(ctx, dy, 0, rows * cols, &b[0]) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = upload(ctx, dy, 0, cols, &b[1]);
    for (int run = 0; run < 2 && !st; run++) {
        st = porta_bias_backward(ctx, rows, cols, porta_view_of(b[0]), porta_view_of(b[1]), false);
        if (!st)
            st = download(ctx, b[1], 0, cols, r[run]);
    }
    if (!st)
        st = porta_bias_backward(ctx, 0, cols, porta_view_of(b[0]), porta_view_of(b[1]), false);
    if (!st)
        st = download(ctx, b[1], 0, cols, z);
    if (!st)
        st = upload(ctx, &sum, 0, 1, &b[2]);
    if (!st)
        st = porta_vec_sum(ctx, porta_view_of(b[0]), rows * cols, porta_view_of(b[2]));
    if (!st)
        st = download(ctx, b[2], 0, 1, &sum);
    check_status(t, ctx, dev, "bias_backward reproducibility", st);
    if (!st) {
        CHECK(t, memcmp(r[0], r[1], sizeof(r[0])) == 0, "%s bias_backward not reproducible", dev);
        int zeros = 1;
        for (size_t c = 0; c < cols; c++)
            zeros &= z[c] == 0.0f;
        CHECK(t, zeros, "%s bias_backward with 0 rows did not write zeros", dev);
        double want = porta_ref_sum(dy, rows * cols), scale = porta_ref_sum_abs(dy, rows * cols, 0);
        CHECK(t, fabs(sum - want) <= 8.0 * (rows * cols + 16) * U * scale,
              "%s vec_sum after bias_backward: %.9g, want %.9g", dev, (double)sum, want);
    }
    destroy_all(ctx, b, 3);
    free(dy);
}

static void check_bias(test_state *t, porta_context *ctx, const char *dev)
{
    for (size_t s = 0; s < COUNT(bias_shapes); s++)
        check_bias_shape(t, ctx, dev, bias_shapes[s], 300 + (uint32_t)s, (int)(s % 2));
    check_bias_extra(t, ctx, dev);
}

/* ---- embedding ---- */

typedef struct emb_case {
    size_t n_tokens, vocab, dim;
} emb_case;

/* One token, odd dims, the GPT's vocabulary, more tokens than one backward
 * dispatch takes (16384), no tokens at all. */
static const emb_case emb_cases[] = {{1, 1, 1},     {33, 7, 10},   {300, 7, 129}, {257, 256, 10},
                                     {17000, 5, 3}, {40, 3, 4097}, {0, 4, 5}};

static void check_embedding_case(test_state *t, porta_context *ctx, const char *dev, emb_case e,
                                 uint32_t seed, int accumulate)
{
    const size_t ny = e.n_tokens * e.dim, nt = e.vocab * e.dim;
    const size_t to = 1, tbo = 4, yo = 3, dto = 2;
    uint32_t *tokens = malloc((e.n_tokens ? e.n_tokens : 1) * sizeof(uint32_t));
    float *table = host_random(nt, &seed, 1.0f, 0.0f);
    float *dy = host_random(ny, &seed, 1.0f, 0.0f);
    float *dt0 = host_random(nt, &seed, 1.0f, 0.0f);
    float *want = malloc((ny + nt + 1) * sizeof(float));
    float *got = malloc((ny + nt + 1) * sizeof(float));
    double *tol = malloc((nt + 1) * sizeof(double));
    int ok = tokens && table && dy && dt0 && want && got && tol;
    CHECK(t, ok, "out of host memory");
    for (size_t i = 0; ok && i < e.n_tokens; i++) {
        seed = seed * 1664525u + 1013904223u;
        /* Mostly row 0 and 1 (many repeats), one token out of range. */
        tokens[i] = (uint32_t)((seed >> 8) % (e.vocab + (i % 3 == 0 ? 0 : 2)));
        if (tokens[i] >= e.vocab)
            tokens[i] = (uint32_t)(tokens[i] - e.vocab);
    }
    if (ok && e.n_tokens > 3)
        tokens[e.n_tokens / 2] = (uint32_t)e.vocab + 5;
    char what[96];
    snprintf(what, sizeof(what), "embedding n=%zu vocab=%zu dim=%zu", e.n_tokens, e.vocab, e.dim);
    porta_buffer *b[4] = {0};
    porta_status st =
        ok ? upload(ctx, tokens, to, e.n_tokens, &b[0]) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = upload(ctx, table, tbo, nt, &b[1]);
    if (!st)
        st = upload(ctx, dy, yo, ny, &b[2]);
    if (!st)
        st = upload(ctx, dt0, dto, nt, &b[3]);
    if (!st)
        st = porta_embedding_backward(ctx, porta_view_at(b[0], to), e.n_tokens,
                                      porta_view_at(b[2], yo), e.vocab, e.dim,
                                      porta_view_at(b[3], dto), accumulate);
    if (!st)
        st = download(ctx, b[3], dto, nt, got + ny);
    if (!st)
        st = porta_embedding_forward(ctx, porta_view_at(b[0], to), e.n_tokens,
                                     porta_view_at(b[1], tbo), e.vocab, e.dim,
                                     porta_view_at(b[2], yo));
    if (!st)
        st = download(ctx, b[2], yo, ny, got);
    check_status(t, ctx, dev, what, st);
    if (ok && !st) {
        porta_ref_embedding_forward(tokens, e.n_tokens, table, e.vocab, e.dim, want);
        char w[128];
        snprintf(w, sizeof(w), "%s forward", what);
        compare(t, dev, w, got, want, NULL, ny);
        memcpy(want + ny, dt0, nt * sizeof(float));
        porta_ref_embedding_backward(tokens, e.n_tokens, dy, e.vocab, e.dim, want + ny, accumulate);
        const double k = 8.0 * (double)(e.n_tokens + 16) * U;
        for (size_t v = 0; v < e.vocab; v++)
            for (size_t d = 0; d < e.dim; d++) {
                double s = accumulate ? fabs((double)dt0[v * e.dim + d]) : 0.0;
                for (size_t i = 0; i < e.n_tokens; i++)
                    if (tokens[i] == v)
                        s += fabs((double)dy[i * e.dim + d]);
                tol[v * e.dim + d] = k * s;
            }
        snprintf(w, sizeof(w), "%s backward%s", what, accumulate ? " accumulate" : "");
        compare(t, dev, w, got + ny, want + ny, tol, nt);
    }
    destroy_all(ctx, b, 4);
    free(tokens);
    free(table);
    free(dy);
    free(dt0);
    free(want);
    free(got);
    free(tol);
}

static void check_embedding(test_state *t, porta_context *ctx, const char *dev)
{
    for (size_t c = 0; c < COUNT(emb_cases); c++)
        check_embedding_case(t, ctx, dev, emb_cases[c], 400 + (uint32_t)c, (int)(c % 2));
}

/* ---- dropout ---- */

/* Forward and backward (accumulating) of n elements on the device; y and
 * dx come back. */
static porta_status dropout_run(porta_context *ctx, float p, uint64_t seed, uint64_t step, size_t n,
                                const float *x, const float *dx0, float *y, float *dx)
{
    const size_t xo = 3, yo = 1, dxo = 2;
    porta_buffer *b[3] = {0};
    porta_status st = upload(ctx, x, xo, n, &b[0]);
    if (!st)
        st = upload(ctx, dx0, yo, n, &b[1]);
    if (!st)
        st = upload(ctx, dx0, dxo, n, &b[2]);
    if (!st)
        st = porta_dropout_forward(ctx, p, seed, step, n, porta_view_at(b[0], xo),
                                   porta_view_at(b[1], yo));
    if (!st)
        st = porta_dropout_backward(ctx, p, seed, step, n, porta_view_at(b[0], xo),
                                    porta_view_at(b[2], dxo), true);
    if (!st)
        st = download(ctx, b[1], yo, n, y);
    if (!st)
        st = download(ctx, b[2], dxo, n, dx);
    destroy_all(ctx, b, 3);
    return st;
}

typedef struct drop_case {
    size_t n;
    float p;
    uint64_t seed, step;
} drop_case;

static const drop_case drop_cases[] = {{100000, 0.1f, 42, 0},
                                       {100003, 0.5f, 0x123456789ABCDEF0ull, 0xFFFFFFFF1ull},
                                       {1, 0.3f, 1, 1},
                                       {7, 0.9f, 2, 3},
                                       {100000, 0.0f, 5, 6}};

static void check_dropout_case(test_state *t, porta_context *ctx, const char *dev, drop_case c,
                               uint32_t seed)
{
    float *x = host_random(c.n, &seed, 2.0f, 0.0f);
    float *dx0 = host_random(c.n, &seed, 1.0f, 0.0f);
    float *y = malloc(c.n * sizeof(float)), *dx = malloc(c.n * sizeof(float));
    float *want = malloc(c.n * sizeof(float));
    int ok = x && dx0 && y && dx && want;
    CHECK(t, ok, "out of host memory");
    char what[96];
    snprintf(what, sizeof(what), "dropout n=%zu p=%g", c.n, (double)c.p);
    porta_status st = ok ? dropout_run(ctx, c.p, c.seed, c.step, c.n, x, dx0, y, dx)
                         : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    check_status(t, ctx, dev, what, st);
    if (ok && !st) {
        porta_ref_dropout(c.p, c.seed, c.step, c.n, x, want, 0);
        CHECK(t, memcmp(y, want, c.n * sizeof(float)) == 0, "%s %s forward: bits differ", dev,
              what);
        memcpy(want, dx0, c.n * sizeof(float));
        porta_ref_dropout(c.p, c.seed, c.step, c.n, x, want, 1);
        CHECK(t, memcmp(dx, want, c.n * sizeof(float)) == 0,
              "%s %s backward accumulate: bits differ", dev, what);
        if (c.p == 0.0f)
            CHECK(t, memcmp(y, x, c.n * sizeof(float)) == 0, "%s %s: not the identity", dev, what);
        if (c.n >= 100000) {
            size_t kept = 0;
            for (size_t i = 0; i < c.n; i++)
                kept += y[i] != 0.0f;
            const double mean = c.n * (1.0 - c.p), sd = sqrt(c.n * c.p * (1.0 - c.p));
            CHECK(t, fabs((double)kept - mean) <= 5.0 * sd + 1.0,
                  "%s %s: %zu kept, expected %.0f +- %.0f", dev, what, kept, mean, 5.0 * sd);
        }
    }
    free(x);
    free(dx0);
    free(y);
    free(dx);
    free(want);
}

/* The next step draws another mask; forward in place. */
static void check_dropout_steps(test_state *t, porta_context *ctx, const char *dev)
{
    const size_t n = 4099;
    uint32_t seed = 9;
    float *x = host_random(n, &seed, 1.0f, 2.0f); /* no zeros */
    float *y[2] = {malloc(n * sizeof(float)), malloc(n * sizeof(float))};
    porta_buffer *b = NULL;
    porta_status st = x && y[0] && y[1] ? PORTA_OK : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    for (int s = 0; s < 2 && !st; s++) {
        st = upload(ctx, x, 0, n, &b);
        if (!st)
            st = porta_dropout_forward(ctx, 0.5f, 7, (uint64_t)s, n, porta_view_of(b),
                                       porta_view_of(b));
        if (!st)
            st = download(ctx, b, 0, n, y[s]);
        porta_buffer_destroy(ctx, b);
        b = NULL;
    }
    check_status(t, ctx, dev, "dropout steps", st);
    if (!st) {
        size_t differ = 0;
        for (size_t i = 0; i < n; i++)
            differ += (y[0][i] == 0.0f) != (y[1][i] == 0.0f);
        /* Independent masks differ in half the elements. */
        CHECK(t, differ > n / 4 && differ < 3 * n / 4,
              "%s dropout: steps 0 and 1 differ in %zu of %zu mask bits", dev, differ, n);
        float *want = malloc(n * sizeof(float));
        if (want) {
            porta_ref_dropout(0.5f, 7, 1, n, x, want, 0);
            CHECK(t, memcmp(want, y[1], n * sizeof(float)) == 0, "%s dropout in place: bits differ",
                  dev);
        }
        free(want);
    }
    free(x);
    free(y[0]);
    free(y[1]);
}

static void check_dropout(test_state *t, porta_context *ctx, const char *dev)
{
    for (size_t c = 0; c < COUNT(drop_cases); c++)
        check_dropout_case(t, ctx, dev, drop_cases[c], 500 + (uint32_t)c);
    check_dropout_steps(t, ctx, dev);
}

/* ---- attention softmax ---- */

typedef struct att_case {
    size_t batch_heads, T;
    float scale;
    int causal;
} att_case;

/* The last two sit on both sides of the longest row that CPU devices give
 * one invocation (1024; longer rows take a workgroup each). */
static const att_case att_cases[] = {
    {1, 1, 1.0f, 1},        {3, 1, 0.5f, 0},       {2, 7, 0.125f, 1},
    {2, 7, -0.7f, 0},       {1, 129, 0.25f, 1},    {1, 129, 2.0f, 0},
    {5, 33, 0.3535534f, 1}, {1, 1100, 0.0625f, 1}, {1, 1024, 0.0625f, 0}};

static void check_attention_case(test_state *t, porta_context *ctx, const char *dev, att_case a,
                                 uint32_t seed, int accumulate)
{
    const size_t n = a.batch_heads * a.T * a.T, xo = 2, yo = 5, dyo = 1, dxo = 3;
    float *x = host_random(n, &seed, 8.0f, 20.0f); /* far from 0: the max matters */
    float *dy = host_random(n, &seed, 1.0f, 0.0f);
    float *dx0 = host_random(n, &seed, 1.0f, 0.0f);
    float *y = malloc(n * sizeof(float)), *dx = malloc(n * sizeof(float));
    float *got = malloc(n * sizeof(float));
    double *tol = calloc(n ? n : 1, sizeof(double));
    int ok = x && dy && dx0 && y && dx && got && tol;
    CHECK(t, ok, "out of host memory");
    char what[128];
    snprintf(what, sizeof(what), "attention_softmax %zux%zux%zu scale=%g%s", a.batch_heads, a.T,
             a.T, (double)a.scale, a.causal ? " causal" : "");
    porta_buffer *b[4] = {0};
    porta_status st = ok ? upload(ctx, x, xo, n, &b[0]) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = upload(ctx, dx0, yo, n, &b[1]); /* y starts as garbage: overwritten */
    if (!st)
        st = upload(ctx, dy, dyo, n, &b[2]);
    if (!st)
        st = upload(ctx, dx0, dxo, n, &b[3]);
    if (!st)
        st = porta_attention_softmax_forward(ctx, a.batch_heads, a.T, a.scale, a.causal,
                                             porta_view_at(b[0], xo), porta_view_at(b[1], yo));
    if (!st)
        st = download(ctx, b[1], yo, n, got);
    if (ok && !st) {
        porta_ref_attention_softmax_forward(a.batch_heads, a.T, a.scale, a.causal, x, y);
        for (size_t i = 0; i < n; i++)
            tol[i] = (64.0 + 4.0 * (double)a.T) * U * fabs((double)y[i]) + 1e-30;
        char w[160];
        snprintf(w, sizeof(w), "%s forward", what);
        compare(t, dev, w, got, y, tol, n);
        size_t masked_bad = 0;
        for (size_t i = 0; a.causal && i < n; i++) {
            const size_t row = i / a.T, j = i % a.T;
            masked_bad += j > row % a.T && memcmp(&got[i], &(float){0.0f}, sizeof(float)) != 0;
        }
        CHECK(t, masked_bad == 0, "%s %s: %zu masked entries are not +0", dev, w, masked_bad);
        /* The backward pass from the reference y, so both sides start alike. */
        st = porta_buffer_write(ctx, b[1], yo * sizeof(float), n * sizeof(float), y);
        if (!st)
            st = porta_attention_softmax_backward(ctx, a.batch_heads, a.T, a.scale,
                                                  porta_view_at(b[1], yo), porta_view_at(b[2], dyo),
                                                  porta_view_at(b[3], dxo), accumulate);
        if (!st)
            st = download(ctx, b[3], dxo, n, got);
    }
    check_status(t, ctx, dev, what, st);
    if (ok && !st) {
        memcpy(dx, dx0, n * sizeof(float));
        porta_ref_attention_softmax_backward(a.batch_heads, a.T, a.scale, y, dy, dx, accumulate);
        for (size_t i = 0; i < n; i++)
            tol[i] = (16.0 + 4.0 * (double)a.T) * U * fabs((double)a.scale) * fabs((double)y[i]) *
                         (2.0 + fabs((double)dy[i])) +
                     (accumulate ? fabs((double)dx0[i]) * U : 0.0);
        char w[160];
        snprintf(w, sizeof(w), "%s backward%s", what, accumulate ? " accumulate" : "");
        compare(t, dev, w, got, dx, tol, n);
    }
    destroy_all(ctx, b, 4);
    free(x);
    free(dy);
    free(dx0);
    free(y);
    free(dx);
    free(got);
    free(tol);
}

static void check_attention(test_state *t, porta_context *ctx, const char *dev)
{
    for (size_t c = 0; c < COUNT(att_cases); c++)
        check_attention_case(t, ctx, dev, att_cases[c], 600 + (uint32_t)c, (int)(c % 2));
}

/* ---- tensor gather ---- */

/* One gather on the device from x (nx elements at x_off) into y (y0, its
 * old contents), compared exactly with the reference. */
static void check_gather_case(test_state *t, porta_context *ctx, const char *dev, const char *name,
                              unsigned ndim, const size_t *shape, const size_t *strides,
                              const float *x, size_t nx, size_t x_off, const float *y0,
                              int accumulate, float *out)
{
    size_t ny = 1;
    for (unsigned d = 0; d < ndim; d++)
        ny *= shape[d];
    float *want = malloc(ny * sizeof(float)), *got = malloc(ny * sizeof(float));
    const size_t yo = 3;
    porta_buffer *b[2] = {0};
    porta_status st = want && got ? upload(ctx, x, 0, nx, &b[0]) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = upload(ctx, y0, yo, ny, &b[1]);
    if (!st)
        st = porta_tensor_gather(ctx, ndim, shape, strides, porta_view_at(b[0], x_off),
                                 porta_view_at(b[1], yo), accumulate);
    if (!st)
        st = download(ctx, b[1], yo, ny, got);
    check_status(t, ctx, dev, name, st);
    if (!st) {
        memcpy(want, y0, ny * sizeof(float));
        porta_ref_tensor_gather(ndim, shape, strides, x + x_off, want, accumulate);
        compare(t, dev, name, got, want, NULL, ny);
        if (out)
            memcpy(out, got, ny * sizeof(float));
    }
    destroy_all(ctx, b, 2);
    free(want);
    free(got);
}

/* The fused-QKV head split of the header's example, its one-call backward
 * (the round trip gives x back exactly), the head merge and its inverse,
 * a broadcast, one element and six dimensions. */
static void check_gather(test_state *t, porta_context *ctx, const char *dev)
{
    enum { B = 2, T = 3, H = 2, D = 5 };
    const size_t nx = (size_t)B * T * 3 * H * D, nq = (size_t)B * H * T * D;
    uint32_t seed = 700;
    float *x = host_random(nx, &seed, 1.0f, 0.0f);
    float *zeros = calloc(nx + 64, sizeof(float));
    float *noise = host_random(nx + 64, &seed, 1.0f, 0.0f);
    float *qkv = malloc(nx * sizeof(float)), *back = malloc(nx * sizeof(float));
    if (!x || !zeros || !noise || !qkv || !back) {
        CHECK(t, 0, "out of host memory");
        goto done;
    }
    const size_t split_shape[] = {B, H, T, D};
    const size_t split_strides[] = {T * 3 * H * D, D, 3 * H * D, 1};
    static const char *const names[] = {"gather q", "gather k", "gather v"};
    for (size_t s = 0; s < 3; s++)
        check_gather_case(t, ctx, dev, names[s], 4, split_shape, split_strides, x, nx, s * H * D,
                          zeros, 0, qkv + s * nq);
    /* d[B, T, 3, H, D] from dqkv [3, B, H, T, D]: the split's adjoint. */
    const size_t join_shape[] = {B, T, 3, H, D};
    const size_t join_strides[] = {H * T * D, D, (size_t)B * H * T * D, T * D, 1};
    check_gather_case(t, ctx, dev, "gather qkv backward", 5, join_shape, join_strides, qkv, nx, 0,
                      zeros, 0, back);
    CHECK(t, memcmp(back, x, nx * sizeof(float)) == 0,
          "%s gather: the QKV backward does not invert the split", dev);
    check_gather_case(t, ctx, dev, "gather qkv backward accumulate", 5, join_shape, join_strides,
                      qkv, nx, 0, noise, 1, NULL);
    /* Head merge [B, H, T, D] -> [B, T, H, D] and back. */
    const size_t merge_shape[] = {B, T, H, D}, merge_strides[] = {H * T * D, D, T * D, 1};
    const size_t unmerge_shape[] = {B, H, T, D}, unmerge_strides[] = {T * H * D, D, H * D, 1};
    check_gather_case(t, ctx, dev, "gather head merge", 4, merge_shape, merge_strides, qkv, nq, 0,
                      zeros, 0, back);
    memcpy(x, back, nq * sizeof(float));
    check_gather_case(t, ctx, dev, "gather head unmerge", 4, unmerge_shape, unmerge_strides, x, nq,
                      0, zeros, 0, back);
    CHECK(t, memcmp(back, qkv, nq * sizeof(float)) == 0,
          "%s gather: head unmerge does not invert the merge", dev);
    const size_t bc_shape[] = {7, 10}, bc_strides[] = {0, 1};
    check_gather_case(t, ctx, dev, "gather broadcast", 2, bc_shape, bc_strides, noise, 11, 1, noise,
                      1, NULL);
    const size_t one_shape[] = {1}, one_strides[] = {5};
    check_gather_case(t, ctx, dev, "gather one element", 1, one_shape, one_strides, noise, 9, 3,
                      zeros, 0, NULL);
    const size_t six_shape[] = {2, 1, 3, 2, 1, 5}, six_strides[] = {1, 100, 31, 2, 7, 6};
    check_gather_case(t, ctx, dev, "gather six dimensions", 6, six_shape, six_strides, noise, nx, 4,
                      zeros, 0, NULL);
done:
    free(x);
    free(zeros);
    free(noise);
    free(qkv);
    free(back);
}

/* ---- finite differences of the references (host only, in double) ---- */

/* Central difference of loss(v) by v[j], step h. */
typedef double (*loss_fn)(const float *v, const void *ctx);

static double central(loss_fn f, float *v, size_t j, float h, const void *c)
{
    const float keep = v[j];
    v[j] = keep + h;
    double up = f(v, c);
    v[j] = keep - h;
    double down = f(v, c);
    v[j] = keep;
    return (up - down) / ((double)(keep + h) - (double)(keep - h));
}

static void fd_compare(test_state *t, const char *what, loss_fn f, float *v, size_t n,
                       const float *grad, float h, double rel, const void *c)
{
    for (size_t j = 0; j < n; j++) {
        double fd = central(f, v, j, h, c);
        CHECK(t, fabs(fd - grad[j]) <= rel * (1.0 + fabs(fd)),
              "%s[%zu]: analytic %.9g, finite difference %.9g", what, j, (double)grad[j], fd);
    }
}

typedef struct fd_data {
    const float *w, *other;
    const uint32_t *tokens;
    size_t a, b, c;
    float scale;
    int causal;
    const size_t *shape, *strides;
} fd_data;

static double weighted(const float *y, const float *w, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++)
        if (!isnan(y[i])) /* the rows of out-of-range tokens */
            s += (double)w[i] * y[i];
    return s;
}

/* sum(w * bias_add(x, bias)) as a function of the bias. */
static double bias_loss(const float *bias, const void *c)
{
    const fd_data *d = c;
    float y[4 * 3];
    memcpy(y, d->other, sizeof(y));
    porta_ref_bias_add(4, 3, bias, y);
    return weighted(y, d->w, 12);
}

static double emb_loss(const float *table, const void *c)
{
    const fd_data *d = c;
    float y[6 * 3];
    porta_ref_embedding_forward(d->tokens, 6, table, 4, 3, y);
    return weighted(y, d->w, 18);
}

static double att_loss(const float *x, const void *c)
{
    const fd_data *d = c;
    float y[2 * 5 * 5];
    porta_ref_attention_softmax_forward(2, 5, d->scale, d->causal, x, y);
    return weighted(y, d->w, 50);
}

static double gather_loss(const float *x, const void *c)
{
    const fd_data *d = c;
    float y[24];
    porta_ref_tensor_gather(3, d->shape, d->strides, x, y, 0);
    return weighted(y, d->w, 24);
}

static double drop_loss(const float *x, const void *c)
{
    const fd_data *d = c;
    float y[40];
    porta_ref_dropout(d->scale, 3, 4, 40, x, y, 0);
    return weighted(y, d->w, 40);
}

static void check_finite_differences(test_state *t)
{
    uint32_t seed = 11;
    float w[50], v[50], other[50], grad[50];
    for (size_t i = 0; i < 50; i++) {
        w[i] = next_value(&seed);
        v[i] = 2.0f * next_value(&seed);
        other[i] = next_value(&seed);
    }
    fd_data d = {.w = w, .other = other};
    /* bias: d/dbias = bias_backward(w). */
    porta_ref_bias_backward(4, 3, w, grad, 0);
    fd_compare(t, "fd bias dbias", bias_loss, v, 3, grad, 0.25f, 1e-4, &d);
    /* embedding: d/dtable = embedding_backward(w); row 3 unused, one token
     * out of range. */
    const uint32_t tokens[6] = {1, 0, 1, 2, 9, 1};
    d.tokens = tokens;
    porta_ref_embedding_backward(tokens, 6, w, 4, 3, grad, 0);
    fd_compare(t, "fd embedding dtable", emb_loss, v, 12, grad, 0.25f, 1e-4, &d);
    /* attention softmax with a scale, causal and not. */
    float y[50];
    for (int causal = 0; causal < 2; causal++) {
        d.scale = 0.6f;
        d.causal = causal;
        porta_ref_attention_softmax_forward(2, 5, d.scale, causal, v, y);
        porta_ref_attention_softmax_backward(2, 5, d.scale, y, w, grad, 0);
        fd_compare(t, causal ? "fd attention causal dx" : "fd attention dx", att_loss, v, 50, grad,
                   1e-2f, 2e-3, &d);
    }
    /* gather: a permute's gradient is the inverse permute's gather. */
    const size_t shape[] = {2, 4, 3}, strides[] = {1, 6, 2};
    const size_t inv_shape[] = {4, 3, 2}, inv_strides[] = {3, 1, 12};
    d.shape = shape;
    d.strides = strides;
    porta_ref_tensor_gather(3, inv_shape, inv_strides, w, grad, 0);
    fd_compare(t, "fd gather dx", gather_loss, v, 24, grad, 0.25f, 1e-4, &d);
    /* dropout: d/dx = dropout_backward(w). */
    d.scale = 0.25f; /* p */
    porta_ref_dropout(0.25f, 3, 4, 40, w, grad, 0);
    fd_compare(t, "fd dropout dx", drop_loss, v, 40, grad, 0.25f, 1e-4, &d);
}

/* Philox-4x32-10 of counter 0 under key 0 (Random123's known answer). */
static void check_philox_known_answer(test_state *t)
{
    static const uint32_t want[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    for (size_t i = 0; i < 4; i++) {
        uint32_t got = porta_ref_dropout_word(0, 0, i);
        CHECK(t, got == want[i], "philox(0, 0) word %zu: %08x, want %08x", i, got, want[i]);
    }
}

/* ---- bad arguments ---- */

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
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT, ok = PORTA_OK;
    porta_buffer *a = NULL, *b = NULL;
    porta_status st = porta_buffer_create(ctx, 64 * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, 64 * sizeof(float), &b);
    CHECK_OK(t, ctx, st, "error-test buffers");
    if (st)
        return;
    const char *ba = "porta_bias_add", *bb = "porta_bias_backward";
    expect(t, ctx, dev, "bias cols 0",
           porta_bias_add(ctx, 2, 0, porta_view_of(a), porta_view_of(b)), bad, ba);
    expect(t, ctx, dev, "bias y past the end",
           porta_bias_add(ctx, 8, 8, porta_view_of(a), porta_view_at(b, 1)), bad, ba);
    expect(t, ctx, dev, "bias NULL", porta_bias_add(ctx, 2, 2, porta_view_none(), porta_view_of(b)),
           bad, ba);
    expect(t, ctx, dev, "bias overflow",
           porta_bias_add(ctx, SIZE_MAX / 2, 4, porta_view_of(a), porta_view_of(b)), bad, ba);
    expect(t, ctx, dev, "bias rows 0",
           porta_bias_add(ctx, 0, 4, porta_view_of(a), porta_view_of(b)), ok, ba);
    expect(t, ctx, dev, "bias backward dbias past the end",
           porta_bias_backward(ctx, 2, 10, porta_view_of(a), porta_view_at(b, 60), false), bad, bb);
    expect(t, ctx, dev, "bias backward dy past the end",
           porta_bias_backward(ctx, 7, 10, porta_view_of(a), porta_view_of(b), true), bad, bb);
    const char *ef = "porta_embedding_forward", *eb = "porta_embedding_backward";
    expect(t, ctx, dev, "embedding vocab 0",
           porta_embedding_forward(ctx, porta_view_of(a), 2, porta_view_of(b), 0, 4,
                                   porta_view_at(b, 8)),
           bad, ef);
    expect(t, ctx, dev, "embedding dim 0",
           porta_embedding_forward(ctx, porta_view_of(a), 2, porta_view_of(b), 4, 0,
                                   porta_view_at(b, 8)),
           bad, ef);
    expect(t, ctx, dev, "embedding table past the end",
           porta_embedding_forward(ctx, porta_view_of(a), 2, porta_view_of(b), 17, 4,
                                   porta_view_at(a, 8)),
           bad, ef);
    expect(t, ctx, dev, "embedding tokens past the end",
           porta_embedding_forward(ctx, porta_view_at(a, 60), 5, porta_view_of(b), 2, 4,
                                   porta_view_at(b, 8)),
           bad, ef);
    expect(t, ctx, dev, "embedding backward dy past the end",
           porta_embedding_backward(ctx, porta_view_of(a), 17, porta_view_of(b), 2, 4,
                                    porta_view_at(a, 20), false),
           bad, eb);
    expect(t, ctx, dev, "embedding backward dtable NULL",
           porta_embedding_backward(ctx, porta_view_of(a), 2, porta_view_of(b), 2, 4,
                                    porta_view_none(), false),
           bad, eb);
    const char *df = "porta_dropout_forward", *db = "porta_dropout_backward";
    expect(t, ctx, dev, "dropout p 1",
           porta_dropout_forward(ctx, 1.0f, 1, 2, 8, porta_view_of(a), porta_view_of(b)), bad, df);
    expect(t, ctx, dev, "dropout p -0.1",
           porta_dropout_forward(ctx, -0.1f, 1, 2, 8, porta_view_of(a), porta_view_of(b)), bad, df);
    expect(t, ctx, dev, "dropout p NaN",
           porta_dropout_forward(ctx, NAN, 1, 2, 8, porta_view_of(a), porta_view_of(b)), bad, df);
    expect(t, ctx, dev, "dropout y past the end",
           porta_dropout_forward(ctx, 0.5f, 1, 2, 8, porta_view_of(a), porta_view_at(b, 57)), bad,
           df);
    expect(t, ctx, dev, "dropout n 0",
           porta_dropout_forward(ctx, 0.5f, 1, 2, 0, porta_view_of(a), porta_view_of(b)), ok, df);
    expect(t, ctx, dev, "dropout backward dy NULL",
           porta_dropout_backward(ctx, 0.5f, 1, 2, 8, porta_view_none(), porta_view_of(b), false),
           bad, db);
    const char *af = "porta_attention_softmax_forward", *ab = "porta_attention_softmax_backward";
    expect(
        t, ctx, dev, "attention T 0",
        porta_attention_softmax_forward(ctx, 2, 0, 1.0f, true, porta_view_of(a), porta_view_of(b)),
        bad, af);
    expect(t, ctx, dev, "attention scale inf",
           porta_attention_softmax_forward(ctx, 1, 4, INFINITY, true, porta_view_of(a),
                                           porta_view_of(b)),
           bad, af);
    expect(
        t, ctx, dev, "attention x past the end",
        porta_attention_softmax_forward(ctx, 5, 4, 1.0f, true, porta_view_of(a), porta_view_of(b)),
        bad, af);
    expect(t, ctx, dev, "attention overflow",
           porta_attention_softmax_forward(ctx, 4, SIZE_MAX / 2, 1.0f, true, porta_view_of(a),
                                           porta_view_of(b)),
           bad, af);
    expect(
        t, ctx, dev, "attention batch_heads 0",
        porta_attention_softmax_forward(ctx, 0, 4, 1.0f, false, porta_view_of(a), porta_view_of(b)),
        ok, af);
    expect(t, ctx, dev, "attention backward scale NaN",
           porta_attention_softmax_backward(ctx, 1, 4, NAN, porta_view_of(a), porta_view_at(a, 16),
                                            porta_view_of(b), false),
           bad, ab);
    expect(t, ctx, dev, "attention backward dx past the end",
           porta_attention_softmax_backward(ctx, 1, 4, 1.0f, porta_view_of(a), porta_view_at(a, 16),
                                            porta_view_at(b, 50), false),
           bad, ab);
    const char *g = "porta_tensor_gather";
    const size_t shape[] = {4, 4, 4, 1, 1, 1, 1}, strides[] = {16, 4, 1, 0, 0, 0, 0};
    const size_t far[] = {16, 4, 5};
    expect(t, ctx, dev, "gather ndim 0",
           porta_tensor_gather(ctx, 0, shape, strides, porta_view_of(a), porta_view_of(b), false),
           bad, g);
    expect(t, ctx, dev, "gather ndim 7",
           porta_tensor_gather(ctx, 7, shape, strides, porta_view_of(a), porta_view_of(b), false),
           bad, g);
    expect(t, ctx, dev, "gather shape NULL",
           porta_tensor_gather(ctx, 2, NULL, strides, porta_view_of(a), porta_view_of(b), false),
           bad, g);
    expect(t, ctx, dev, "gather source past the end",
           porta_tensor_gather(ctx, 3, shape, far, porta_view_of(a), porta_view_of(b), false), bad,
           g);
    expect(
        t, ctx, dev, "gather x_off past the end",
        porta_tensor_gather(ctx, 3, shape, strides, porta_view_at(a, 1), porta_view_of(b), false),
        bad, g);
    expect(
        t, ctx, dev, "gather y past the end",
        porta_tensor_gather(ctx, 3, shape, strides, porta_view_of(a), porta_view_at(b, 2), false),
        bad, g);
    const size_t huge[] = {3, SIZE_MAX / 2};
    expect(t, ctx, dev, "gather stride overflow",
           porta_tensor_gather(ctx, 2, shape, huge, porta_view_of(a), porta_view_of(b), false), bad,
           g);
    const size_t empty[] = {4, 0};
    expect(t, ctx, dev, "gather empty shape",
           porta_tensor_gather(ctx, 2, empty, strides, porta_view_of(a), porta_view_of(b), false),
           ok, g);
    expect(t, ctx, dev, "gather six dimensions",
           porta_tensor_gather(ctx, 6, shape, strides, porta_view_of(a), porta_view_of(b), true),
           ok, g);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    check_bias(t, ctx, info->spec);
    check_embedding(t, ctx, info->spec);
    check_dropout(t, ctx, info->spec);
    check_attention(t, ctx, info->spec);
    check_gather(t, ctx, info->spec);
    check_errors(t, ctx, info->spec);
}

int main(void)
{
    test_init();
    test_state t = {0};
    check_philox_known_answer(&t);
    check_finite_differences(&t);
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
