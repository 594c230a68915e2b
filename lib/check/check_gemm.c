/* check_gemm.c: kernels.gemm, porta_gemm against porta_ref_gemm.
 *
 * Every variant (NN, NT, TN, TT) over awkward shapes, padded leading
 * dimensions, offsets, batches with strides, a broadcast operand, K over
 * one dispatch, alpha / beta combinations (beta = 0 over a NaN-filled C),
 * then every forced plan (the tiled path, direct blocks, split-K with
 * beta). Each output lies within the worst-case bound of float summation,
 *   |C - ref| <= (k + 3) u (|alpha| sum_q |a_iq b_qj| + |beta c_ij|),
 * and every element of C's buffer that is no output keeps its bits.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/gemm_plans.h"
#include "check_internal.h"
#include "gemm_internal.h"
#include "ref/ref.h"

typedef struct shape {
    size_t m, n, k;
} shape;

typedef struct scalars {
    float alpha, beta;
} scalars;

static const scalars coeffs[] = {{1.0f, 0.0f}, {0.75f, -0.5f}, {-2.0f, 1.0f}};

typedef struct gemm_case {
    bool ta, tb;
    size_t m, n, k, batch;
    float alpha, beta;
    size_t a_off, b_off, c_off, lda, ldb, ldc, sa, sb, sc;
} gemm_case;

static size_t buffer_elems(size_t off, size_t rows, size_t cols, size_t ld, size_t batch,
                           size_t stride)
{
    return off + (batch - 1) * stride + (rows - 1) * ld + cols + 5;
}

static gemm_case make_case(bool ta, bool tb, shape s, size_t batch, size_t pad, size_t gap,
                           scalars co)
{
    gemm_case g = {.ta = ta, .tb = tb, .m = s.m, .n = s.n, .k = s.k, .batch = batch};
    g.alpha = co.alpha;
    g.beta = co.beta;
    g.lda = (ta ? s.m : s.k) + pad;
    g.ldb = (tb ? s.k : s.n) + pad;
    g.ldc = s.n + pad;
    g.a_off = pad * 3;
    g.b_off = pad * 5;
    g.c_off = pad * 7;
    g.sa = (ta ? s.k : s.m) * g.lda + gap;
    g.sb = (tb ? s.n : s.k) * g.ldb + gap;
    g.sc = s.m * g.ldc + gap;
    return g;
}

typedef struct host_data {
    float *a, *b, *c0, *want, *got;
    double *tol;
    size_t na, nb, nc;
} host_data;

static void host_free(host_data *h)
{
    free(h->a);
    free(h->b);
    free(h->c0);
    free(h->want);
    free(h->got);
    free(h->tol);
}

static bool host_alloc(host_data *h, const gemm_case *g, uint32_t seed)
{
    h->na =
        buffer_elems(g->a_off, g->ta ? g->k : g->m, g->ta ? g->m : g->k, g->lda, g->batch, g->sa);
    h->nb =
        buffer_elems(g->b_off, g->tb ? g->n : g->k, g->tb ? g->k : g->n, g->ldb, g->batch, g->sb);
    h->nc = buffer_elems(g->c_off, g->m, g->n, g->ldc, g->batch, g->sc);
    h->a = porta__check_random_new(h->na, &seed, 1.0f, 0.0f);
    h->b = porta__check_random_new(h->nb, &seed, 1.0f, 0.0f);
    h->c0 = porta__check_random_new(h->nc, &seed, 1.0f, 0.0f);
    h->want = malloc(h->nc * sizeof(float));
    h->got = malloc(h->nc * sizeof(float));
    h->tol = malloc(h->nc * sizeof(double));
    if (!h->a || !h->b || !h->c0 || !h->want || !h->got || !h->tol)
        return false;
    for (size_t i = 0; g->beta == 0.0f && i < h->nc; i++)
        h->c0[i] = NAN; /* beta = 0 must not read C */
    return true;
}

/* The reference into want, and each element's tolerance (-1: not an
 * output, its bits must stay). */
static void reference(const gemm_case *g, host_data *h)
{
    memcpy(h->want, h->c0, h->nc * sizeof(float));
    porta_ref_gemm(g->ta, g->tb, g->m, g->n, g->k, g->alpha, h->a + g->a_off, g->lda,
                   h->b + g->b_off, g->ldb, g->beta, h->want + g->c_off, g->ldc, g->batch, g->sa,
                   g->sb, g->sc);
    for (size_t i = 0; i < h->nc; i++)
        h->tol[i] = -1.0;
    for (size_t p = 0; p < g->batch; p++)
        for (size_t i = 0; i < g->m; i++)
            for (size_t j = 0; j < g->n; j++) {
                double s = 0.0;
                for (size_t q = 0; q < g->k; q++) {
                    size_t ai = g->a_off + p * g->sa + (g->ta ? q * g->lda + i : i * g->lda + q);
                    size_t bi = g->b_off + p * g->sb + (g->tb ? j * g->ldb + q : q * g->ldb + j);
                    s += fabs((double)h->a[ai] * (double)h->b[bi]);
                }
                size_t ci = g->c_off + p * g->sc + i * g->ldc + j;
                double old = g->beta == 0.0f ? 0.0 : fabs((double)g->beta * (double)h->c0[ci]);
                h->tol[ci] =
                    (double)(g->k + 3) * PORTA_CHECK_U * (fabs((double)g->alpha) * s + old);
            }
}

static porta_status run_device(porta_context *ctx, const porta__gemm_plan *plan, const gemm_case *g,
                               host_data *h)
{
    porta_buffer *a = NULL, *b = NULL, *c = NULL;
    porta_status st = porta__check_upload(ctx, h->a, 0, h->na, 0, 0.0f, &a);
    if (!st)
        st = porta__check_upload(ctx, h->b, 0, h->nb, 0, 0.0f, &b);
    if (!st)
        st = porta__check_upload(ctx, h->c0, 0, h->nc, 0, 0.0f, &c);
    if (!st) {
        porta_matrix ma = porta_matrix_of(porta_view_at(a, g->a_off), g->lda);
        porta_matrix mb = porta_matrix_of(porta_view_at(b, g->b_off), g->ldb);
        porta_matrix mc = porta_matrix_of(porta_view_at(c, g->c_off), g->ldc);
        ma.transposed = g->ta;
        mb.transposed = g->tb;
        ma.batch_stride = g->sa;
        mb.batch_stride = g->sb;
        mc.batch_stride = g->sc;
        /* The preset through the public call, a forced plan through the
         * plan-forcing entry point: both paths covered. */
        st = plan ? porta__gemm_planned(ctx, plan, g->m, g->n, g->k, g->alpha, ma, mb, g->beta, mc,
                                        g->batch)
                  : porta_gemm(ctx, g->m, g->n, g->k, g->alpha, ma, mb, g->beta, mc, g->batch);
    }
    if (!st)
        st = porta__check_download(ctx, c, 0, h->nc, h->got);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, c);
    return st;
}

static void check_case(porta__check *c, const porta__gemm_plan *plan, const gemm_case *g,
                       uint32_t seed)
{
    char what[200];
    snprintf(what, sizeof(what), "gemm %c%c %zux%zux%zu batch %zu alpha %g beta %g (%s)",
             g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, g->batch, (double)g->alpha,
             (double)g->beta, plan ? plan->preset : "preset");
    host_data h;
    memset(&h, 0, sizeof(h));
    if (porta__check_host_memory(c, host_alloc(&h, g, seed)) &&
        porta__check_call(c, run_device(c->ctx, plan, g, &h), "%s", what)) {
        reference(g, &h);
        /* tol < 0 marks elements outside C: compared bit for bit. */
        size_t first = 0;
        const size_t bad = porta__check_count_bad(c, h.got, h.want, h.tol, h.nc, &first);
        porta__check_case(
            c, bad == 0, "%s: %zu elements wrong, first C[%zu] = %.9g, reference %.9g (%s %.3g)",
            what, bad, first, (double)h.got[first], (double)h.want[first],
            h.tol[first] < 0 ? "outside C, bits must stay; tol" : "tolerance", h.tol[first]);
    }
    host_free(&h);
}

/* Every variant on the preset: shapes of 1, odd, a prime, past a 64 x 64
 * tile; batches with gaps; K over one dispatch (16384); a broadcast. */
static void check_variants(porta__check *c)
{
    static const shape shapes[] = {{1, 1, 1},    {7, 5, 3},    {17, 33, 29},  {64, 64, 64},
                                   {100, 1, 37}, {1, 100, 37}, {129, 65, 200}};
    const size_t n_shapes = c->quick ? 4 : sizeof(shapes) / sizeof(shapes[0]);
    uint32_t seed = 1;
    for (int v = 0; v < 4 && !c->fatal; v++) {
        const bool ta = v >> 1, tb = v & 1;
        for (size_t s = 0; s < n_shapes; s++) {
            const size_t pick = c->quick ? (s + (size_t)v) % 7 : s;
            gemm_case g = make_case(ta, tb, shapes[pick], 1, pick % 2 ? 3 : 0, 0,
                                    coeffs[(pick + (size_t)v) % 3]);
            check_case(c, NULL, &g, seed++);
        }
        for (size_t k = 0; k < (c->quick ? 1u : 3u); k++) {
            shape s = k == 0 ? (shape){23, 70, 19} : (shape){65, 9, 131};
            gemm_case g = make_case(ta, tb, s, 3, 2, 11, coeffs[k]);
            check_case(c, NULL, &g, seed++);
        }
        if (!c->quick || v == 1) {
            gemm_case g = make_case(ta, tb, (shape){5, 20, 16400}, 1, 1, 0, coeffs[(size_t)v % 3]);
            check_case(c, NULL, &g, seed++);
        }
        gemm_case g = make_case(ta, tb, (shape){5, 6, 7}, 3, 0, 0, coeffs[1]);
        if (v % 2)
            g.sa = 0;
        else
            g.sb = 0;
        check_case(c, NULL, &g, seed++);
    }
}

/* Forced plans: each path and block shape on awkward shapes, then
 * split-K (K no multiple of the slices or of 4). */
static void check_plans(porta__check *c)
{
    porta__gemm_plan preset;
    porta__gemm_plan_choose(c->ctx, false, false, 256, 256, 256, 1, &preset);
    uint32_t seed = 500;
    const uint32_t vw = porta__gemm_vec_width(c->ctx);
    for (size_t i = 0; i < GEMM_FORCED_PLAN_COUNT && !c->fatal; i++) {
        porta__gemm_plan p = gemm_forced_plans[i];
        p.fma = preset.fma;
        if (p.tiled && c->info.max_workgroup_size < 256) {
            porta__check_skip(c, "the tiled plan needs workgroups of 256 (the device: %u)",
                              c->info.max_workgroup_size);
            continue;
        }
        for (int half = 0; half < (c->quick ? 1 : 2); half++) {
            const int v = (int)(i + 2 * (size_t)half) % 4;
            const bool ta = v >> 1, tb = v & 1;
            shape big = {37, 2 * vw + 5, 29};
            shape least = {p.tm, p.tiled ? 1 : p.nv * vw, 7};
            gemm_case g = make_case(ta, tb, big, 1, 3, 0, coeffs[(size_t)v % 3]);
            check_case(c, &p, &g, seed++);
            g = make_case(ta, tb, least, 1, 0, 0, coeffs[(size_t)(v + 1) % 3]);
            check_case(c, &p, &g, seed++);
            g = make_case(ta, tb, (shape){19, 2 * vw + 1, 13}, 2, 1, 7, coeffs[1]);
            check_case(c, &p, &g, seed++);
            porta__gemm_plan sp = p;
            sp.splits = v % 2 ? 3 : 5;
            g = make_case(ta, tb, (shape){p.tm + 2, p.tiled ? 3 : p.nv * vw + 1, 2051}, 1, 2, 0,
                          coeffs[v % 2 ? 1 : 2]);
            check_case(c, &sp, &g, seed++);
        }
    }
}

void porta__check_gemm(porta__check *c)
{
    check_variants(c);
    check_plans(c);
}
