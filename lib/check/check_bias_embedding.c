/* check_bias_embedding.c: kernels.bias and kernels.embedding, forward and
 * backward against lib/ref/ref_seq.c.
 *
 * bias_add and embedding_forward are one float addition and a copy: the
 * same bits. bias_backward and embedding_backward are float sums of
 * `terms` terms in the device's fixed order: 8 (terms + 16) u (sum |terms|
 * + |old|).
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

static void check_bias_shape(porta__check *c, shape s, uint32_t seed, bool accumulate)
{
    porta_context *ctx = c->ctx;
    const size_t n = s.rows * s.cols, bo = 3, yo = 5, dbo = 2;
    float *bias = porta__check_random_new(s.cols, &seed, 1.0f, 0.0f);
    float *y = porta__check_random_new(n, &seed, 1.0f, 0.5f);
    float *db0 = porta__check_random_new(s.cols, &seed, 1.0f, 0.0f);
    float *want = malloc((n + s.cols) * sizeof(float));
    double *tol = malloc(s.cols * sizeof(double));
    porta_buffer *b[3] = {0};
    char what[96];
    if (!porta__check_host_memory(c, bias && y && db0 && want && tol))
        goto done;
    porta_status st = porta__check_upload(ctx, bias, bo, s.cols, 1, 0.0f, &b[0]);
    if (!st)
        st = porta__check_upload(ctx, y, yo, n, 1, 0.0f, &b[1]);
    if (!st)
        st = porta__check_upload(ctx, db0, dbo, s.cols, 1, 0.0f, &b[2]);
    /* the backward pass reads y before the forward pass adds the bias */
    if (!st)
        st = porta_bias_backward(ctx, s.rows, s.cols, porta_view_at(b[1], yo),
                                 porta_view_at(b[2], dbo), accumulate);
    snprintf(what, sizeof(what), "bias_backward %zux%zu%s", s.rows, s.cols,
             accumulate ? " accumulate" : "");
    if (porta__check_call(c, st, "%s", what)) {
        memcpy(want + n, db0, s.cols * sizeof(float));
        porta_ref_bias_backward(s.rows, s.cols, y, want + n, accumulate);
        const double k = 8.0 * (double)(s.rows + 16) * PORTA_CHECK_U;
        for (size_t col = 0; col < s.cols; col++) {
            double sum = accumulate ? fabs((double)db0[col]) : 0.0;
            for (size_t r = 0; r < s.rows; r++)
                sum += fabs((double)y[r * s.cols + col]);
            tol[col] = k * sum;
        }
        porta__check_compare_buffer(c, what, b[2], dbo, want + n, tol, s.cols, 1, 0.0f);
    }
    snprintf(what, sizeof(what), "bias_add %zux%zu", s.rows, s.cols);
    if (!c->fatal && porta__check_call(c,
                                       porta_bias_add(ctx, s.rows, s.cols, porta_view_at(b[0], bo),
                                                      porta_view_at(b[1], yo)),
                                       "%s", what)) {
        memcpy(want, y, n * sizeof(float));
        porta_ref_bias_add(s.rows, s.cols, bias, want);
        porta__check_compare_buffer(c, what, b[1], yo, want, NULL, n, 1, 0.0f);
    }
done:
    for (int i = 0; i < 3; i++)
        porta_buffer_destroy(ctx, b[i]);
    free(bias);
    free(y);
    free(db0);
    free(want);
    free(tol);
}

void porta__check_bias(porta__check *c)
{
    /* rows 1, odd; cols 1, 10, 4097; many rows: several chunks of the
     * two-pass column sum, narrow and block-wide column blocks */
    static const shape shapes[] = {{1, 1},     {1, 10},    {3, 7},    {5, 4097},
                                   {1000, 10}, {2049, 33}, {70001, 3}};
    const size_t n = sizeof(shapes) / sizeof(shapes[0]) - (c->quick ? 1 : 0);
    for (size_t s = 0; s < n && !c->fatal; s++)
        check_bias_shape(c, shapes[s], 300 + (uint32_t)s, s % 2 == 1);
}

typedef struct emb_case {
    size_t n_tokens, vocab, dim;
} emb_case;

static void check_embedding_case(porta__check *c, emb_case e, uint32_t seed, bool accumulate)
{
    porta_context *ctx = c->ctx;
    const size_t ny = e.n_tokens * e.dim, nt = e.vocab * e.dim;
    const size_t to = 1, tbo = 4, yo = 3, dto = 2;
    uint32_t *tokens = porta__check_alloc(e.n_tokens, sizeof(uint32_t));
    float *table = porta__check_random_new(nt, &seed, 1.0f, 0.0f);
    float *dy = porta__check_random_new(ny, &seed, 1.0f, 0.0f);
    float *dt0 = porta__check_random_new(nt, &seed, 1.0f, 0.0f);
    float *want = malloc((ny + nt + 1) * sizeof(float));
    double *tol = malloc((nt + 1) * sizeof(double));
    porta_buffer *b[4] = {0};
    char what[96], w[128];
    if (!porta__check_host_memory(c, tokens && table && dy && dt0 && want && tol))
        goto done;
    for (size_t i = 0; i < e.n_tokens; i++) {
        seed = seed * 1664525u + 1013904223u;
        /* mostly rows 0 and 1 (many repeats) */
        tokens[i] = (uint32_t)((seed >> 8) % (e.vocab + (i % 3 == 0 ? 0 : 2)));
        if (tokens[i] >= e.vocab)
            tokens[i] = (uint32_t)(tokens[i] - e.vocab);
    }
    if (e.n_tokens > 3)
        tokens[e.n_tokens / 2] = (uint32_t)e.vocab + 5; /* one out of range */
    snprintf(what, sizeof(what), "embedding n=%zu vocab=%zu dim=%zu", e.n_tokens, e.vocab, e.dim);
    porta_status st = porta__check_upload(ctx, tokens, to, e.n_tokens, 1, 0.0f, &b[0]);
    if (!st)
        st = porta__check_upload(ctx, table, tbo, nt, 1, 0.0f, &b[1]);
    if (!st)
        st = porta__check_upload(ctx, dy, yo, ny, 1, 0.0f, &b[2]);
    if (!st)
        st = porta__check_upload(ctx, dt0, dto, nt, 1, 0.0f, &b[3]);
    if (!st)
        st = porta_embedding_backward(ctx, porta_view_at(b[0], to), e.n_tokens,
                                      porta_view_at(b[2], yo), e.vocab, e.dim,
                                      porta_view_at(b[3], dto), accumulate);
    snprintf(w, sizeof(w), "%s backward%s", what, accumulate ? " accumulate" : "");
    if (porta__check_call(c, st, "%s", w)) {
        memcpy(want + ny, dt0, nt * sizeof(float));
        porta_ref_embedding_backward(tokens, e.n_tokens, dy, e.vocab, e.dim, want + ny, accumulate);
        const double k = 8.0 * (double)(e.n_tokens + 16) * PORTA_CHECK_U;
        for (size_t v = 0; v < e.vocab; v++)
            for (size_t d = 0; d < e.dim; d++) {
                double s = accumulate ? fabs((double)dt0[v * e.dim + d]) : 0.0;
                for (size_t i = 0; i < e.n_tokens; i++)
                    if (tokens[i] == v)
                        s += fabs((double)dy[i * e.dim + d]);
                tol[v * e.dim + d] = k * s;
            }
        porta__check_compare_buffer(c, w, b[3], dto, want + ny, tol, nt, 1, 0.0f);
    }
    snprintf(w, sizeof(w), "%s forward", what);
    if (!c->fatal &&
        porta__check_call(c,
                          porta_embedding_forward(ctx, porta_view_at(b[0], to), e.n_tokens,
                                                  porta_view_at(b[1], tbo), e.vocab, e.dim,
                                                  porta_view_at(b[2], yo)),
                          "%s", w)) {
        porta_ref_embedding_forward(tokens, e.n_tokens, table, e.vocab, e.dim, want);
        porta__check_compare_buffer(c, w, b[2], yo, want, NULL, ny, 1, 0.0f);
    }
done:
    for (int i = 0; i < 4; i++)
        porta_buffer_destroy(ctx, b[i]);
    free(tokens);
    free(table);
    free(dy);
    free(dt0);
    free(want);
    free(tol);
}

void porta__check_embedding(porta__check *c)
{
    /* one token, odd dims, a byte vocabulary, more tokens than one
     * backward dispatch (16384), a row past a workgroup, none at all */
    static const emb_case cases[] = {{1, 1, 1}, {33, 7, 10},   {300, 7, 129}, {257, 256, 10},
                                     {0, 4, 5}, {17000, 5, 3}, {40, 3, 4097}};
    const size_t n = sizeof(cases) / sizeof(cases[0]) - (c->quick ? 2 : 0);
    for (size_t i = 0; i < n && !c->fatal; i++)
        check_embedding_case(c, cases[i], 400 + (uint32_t)i, i % 2 == 1);
}
