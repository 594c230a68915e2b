/* check_gemm_epilogue.c: kernels.gemm_epilogue, porta_gemm_bias_act
 * against porta_ref_gemm_bias_act.
 *
 * Every activation (and none) meets every variant, with and without the
 * bias and the pre-activation output, on awkward shapes (k == 0 too),
 * then forced plans, split-K (the epilogue in the reduction) and K over
 * one dispatch (only the last chunk applies it). Tolerances per element:
 *   pre: tv = (k + 4) u (|alpha| sum_q |a_iq b_qj| + |beta c_ij| + |bias_j|)
 *   C:   tv without activation, else 1.2 tv + 1e-5 |f| + 4e-6 (1 + |v|)
 * (no activation's slope exceeds 1.13; the second part is the activation
 * bound of kernels.activations); other elements keep their bits.
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

typedef struct epilogue {
    int bias, act, pre; /* act -1: none */
} epilogue;

static const char *const act_names[] = {"none", "relu", "gelu", "tanh", "sigmoid"};

typedef struct scalars {
    float alpha, beta;
} scalars;

static const scalars coeffs[] = {{1.0f, 0.0f}, {0.75f, -0.5f}, {-2.0f, 1.0f}};

/* The output buffer holds C at c_off, then pre at pre_off. */
typedef struct epi_case {
    bool ta, tb;
    size_t m, n, k;
    float alpha, beta;
    epilogue e;
    size_t a_off, b_off, c_off, pre_off, bias_off, lda, ldb, ldc;
} epi_case;

static size_t span(size_t rows, size_t cols, size_t ld)
{
    return rows && cols ? (rows - 1) * ld + cols : 0;
}

static epi_case make_case(bool ta, bool tb, shape s, size_t pad, scalars co, epilogue e)
{
    epi_case g = {.ta = ta, .tb = tb, .m = s.m, .n = s.n, .k = s.k, .e = e};
    g.alpha = co.alpha;
    g.beta = co.beta;
    g.lda = (ta ? s.m : s.k) + pad;
    g.ldb = (tb ? s.k : s.n) + pad;
    g.lda = g.lda ? g.lda : 1;
    g.ldb = g.ldb ? g.ldb : 1;
    g.ldc = s.n + pad;
    g.a_off = pad * 3;
    g.b_off = pad * 5;
    g.bias_off = pad * 2 + 1;
    g.c_off = pad * 7;
    g.pre_off = g.c_off + span(s.m, s.n, g.ldc) + pad + 3;
    return g;
}

typedef struct host_data {
    float *a, *b, *bias, *out0, *want, *got;
    double *tol;
    size_t na, nb, nbias, nout;
} host_data;

static void host_free(host_data *h)
{
    free(h->a);
    free(h->b);
    free(h->bias);
    free(h->out0);
    free(h->want);
    free(h->got);
    free(h->tol);
}

static bool host_alloc(host_data *h, const epi_case *g, uint32_t seed)
{
    h->na = g->a_off + span(g->ta ? g->k : g->m, g->ta ? g->m : g->k, g->lda) + 5;
    h->nb = g->b_off + span(g->tb ? g->n : g->k, g->tb ? g->k : g->n, g->ldb) + 5;
    h->nbias = g->bias_off + g->n + 5;
    h->nout = g->pre_off + span(g->m, g->n, g->ldc) + 5;
    h->a = porta__check_random_new(h->na, &seed, 1.0f, 0.0f);
    h->b = porta__check_random_new(h->nb, &seed, 1.0f, 0.0f);
    /* a bias reaching the activations' curved parts */
    h->bias = porta__check_random_new(h->nbias, &seed, 3.0f, 0.0f);
    h->out0 = porta__check_random_new(h->nout, &seed, 1.0f, 0.0f);
    h->want = malloc(h->nout * sizeof(float));
    h->got = malloc(h->nout * sizeof(float));
    h->tol = malloc(h->nout * sizeof(double));
    if (!h->a || !h->b || !h->bias || !h->out0 || !h->want || !h->got || !h->tol)
        return false;
    for (size_t i = 0; g->beta == 0.0f && i < g->m; i++)
        for (size_t j = 0; j < g->n; j++)
            h->out0[g->c_off + i * g->ldc + j] = NAN; /* beta = 0 must not read C */
    return true;
}

static void reference(const epi_case *g, host_data *h)
{
    memcpy(h->want, h->out0, h->nout * sizeof(float));
    porta_ref_gemm_bias_act(g->ta, g->tb, g->m, g->n, g->k, g->alpha, h->a + g->a_off, g->lda,
                            h->b + g->b_off, g->ldb, g->beta, h->want + g->c_off, g->ldc,
                            g->e.bias ? h->bias + g->bias_off : NULL, g->e.act,
                            g->e.pre ? h->want + g->pre_off : NULL);
    for (size_t i = 0; i < h->nout; i++)
        h->tol[i] = -1.0;
    for (size_t i = 0; i < g->m; i++)
        for (size_t j = 0; j < g->n; j++) {
            double s = 0.0;
            for (size_t q = 0; q < g->k; q++) {
                size_t ai = g->a_off + (g->ta ? q * g->lda + i : i * g->lda + q);
                size_t bi = g->b_off + (g->tb ? j * g->ldb + q : q * g->ldb + j);
                s += fabs((double)h->a[ai] * (double)h->b[bi]);
            }
            const size_t ci = g->c_off + i * g->ldc + j, pi = g->pre_off + i * g->ldc + j;
            double tv = fabs((double)g->alpha) * s;
            if (g->beta != 0.0f)
                tv += fabs((double)g->beta * (double)h->out0[ci]);
            if (g->e.bias)
                tv += fabs((double)h->bias[g->bias_off + j]);
            tv *= (double)(g->k + 4) * PORTA_CHECK_U;
            /* v as the reference computed it, before the activation */
            double v;
            if (g->e.pre) {
                v = (double)h->want[pi];
                h->tol[pi] = tv;
            } else {
                float r = h->out0[ci];
                porta_ref_gemm_bias_act(
                    g->ta, g->tb, 1, 1, g->k, g->alpha, h->a + g->a_off + (g->ta ? i : i * g->lda),
                    g->lda, h->b + g->b_off + (g->tb ? j * g->ldb : j), g->ldb, g->beta, &r, 1,
                    g->e.bias ? h->bias + g->bias_off + j : NULL, -1, NULL);
                v = (double)r;
            }
            h->tol[ci] = g->e.act < 0
                             ? tv
                             : 1.2 * tv + 1e-5 * fabs((double)h->want[ci]) + 4e-6 * (1.0 + fabs(v));
        }
}

static porta_status run_device(porta_context *ctx, const porta__gemm_plan *plan, const epi_case *g,
                               host_data *h)
{
    porta_buffer *a = NULL, *b = NULL, *bias = NULL, *out = NULL;
    porta_status st = porta__check_upload(ctx, h->a, 0, h->na, 0, 0.0f, &a);
    if (!st)
        st = porta__check_upload(ctx, h->b, 0, h->nb, 0, 0.0f, &b);
    if (!st)
        st = porta__check_upload(ctx, h->bias, 0, h->nbias, 0, 0.0f, &bias);
    if (!st)
        st = porta__check_upload(ctx, h->out0, 0, h->nout, 0, 0.0f, &out);
    porta_matrix ma = porta_matrix_of(porta_view_at(a, g->a_off), g->lda);
    porta_matrix mb = porta_matrix_of(porta_view_at(b, g->b_off), g->ldb);
    ma.transposed = g->ta;
    mb.transposed = g->tb;
    const porta_gemm_epilogue e = {
        .bias = g->e.bias ? porta_view_at(bias, g->bias_off) : porta_view_none(),
        .activation = g->e.act < 0 ? PORTA_ACTIVATION_NONE : (porta_activation)g->e.act,
        .pre = g->e.pre ? porta_view_at(out, g->pre_off) : porta_view_none()};
    const porta_matrix mc = porta_matrix_of(porta_view_at(out, g->c_off), g->ldc);
    if (!st && !plan)
        st = porta_gemm_bias_act(ctx, g->m, g->n, g->k, g->alpha, ma, mb, g->beta, mc, &e);
    else if (!st)
        st = porta__gemm_bias_act_planned(ctx, plan, g->m, g->n, g->k, g->alpha, ma, mb, g->beta,
                                          mc, &e);
    if (!st)
        st = porta__check_download(ctx, out, 0, h->nout, h->got);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, bias);
    porta_buffer_destroy(ctx, out);
    return st;
}

static void check_case(porta__check *c, const porta__gemm_plan *plan, const epi_case *g,
                       uint32_t seed)
{
    char what[200];
    snprintf(what, sizeof(what), "gemm_bias_act %c%c %zux%zux%zu alpha %g beta %g %s%s%s (%s)",
             g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, (double)g->alpha,
             (double)g->beta, g->e.bias ? "bias+" : "", act_names[g->e.act + 1],
             g->e.pre ? "+pre" : "", plan ? plan->preset : "preset");
    host_data h;
    memset(&h, 0, sizeof(h));
    if (porta__check_host_memory(c, host_alloc(&h, g, seed)) &&
        porta__check_call(c, run_device(c->ctx, plan, g, &h), "%s", what)) {
        reference(g, &h);
        /* tol < 0 marks elements outside C: compared bit for bit. */
        size_t first = 0;
        const size_t bad = porta__check_count_bad(c, h.got, h.want, h.tol, h.nout, &first);
        porta__check_case(c, bad == 0,
                          "%s: %zu elements wrong, first [%zu] (%s) = %.9g, reference %.9g "
                          "(tolerance %.3g)",
                          what, bad, first,
                          h.tol[first] < 0      ? "outside the outputs, bits must stay"
                          : first >= g->pre_off ? "pre"
                                                : "C",
                          (double)h.got[first], (double)h.want[first], h.tol[first]);
    }
    host_free(&h);
}

/* Every activation (and none) with every variant, on the presets (each
 * epilogue is a kernel build of its own: few cases, many shapes). */
static void check_epilogues(porta__check *c)
{
    static const shape shapes[] = {{1, 1, 1},    {7, 5, 3},    {17, 33, 29}, {100, 1, 37},
                                   {1, 100, 37}, {65, 9, 131}, {3, 9, 0},    {40, 70, 20}};
    const size_t n_shapes = sizeof(shapes) / sizeof(shapes[0]);
    uint32_t seed = 1;
    for (int v = 0; v < 4 && !c->fatal; v++)
        for (int act = -1; act < 4; act++) {
            const size_t i = (size_t)(5 * v + act + 1);
            if (c->quick && i % 2)
                continue;
            const size_t s = i % n_shapes;
            const epilogue e = {i % 4 != 1, act, i % 3 != 2};
            epi_case g = make_case(v >> 1, v & 1, shapes[s], s % 2 ? 3 : 0, coeffs[i % 3], e);
            check_case(c, NULL, &g, seed++);
        }
}

/* Forced plans: each path and block shape, split-K, K in two chunks. */
static void check_plans(porta__check *c)
{
    porta__gemm_plan preset;
    porta__gemm_plan_choose(c->ctx, false, false, 256, 256, 256, 1, &preset);
    const size_t vw = porta__gemm_vec_width(c->ctx);
    uint32_t seed = 700;
    for (size_t i = 0; i < GEMM_FORCED_PLAN_COUNT && !c->fatal; i++) {
        porta__gemm_plan p = gemm_forced_plans[i];
        p.fma = preset.fma;
        if (p.tiled && c->info.max_workgroup_size < 256) {
            porta__check_skip(c, "the tiled plan needs workgroups of 256 (the device: %u)",
                              c->info.max_workgroup_size);
            continue;
        }
        for (int v = 0; v < (c->quick ? 1 : 3); v++) {
            const epilogue e = {1, (int)(i + (size_t)v) % 4, (int)(i + (size_t)v) % 2};
            epi_case g = make_case(v == 2, v == 1, (shape){37, 2 * vw + 5, 29}, 3, coeffs[v], e);
            check_case(c, &p, &g, seed++);
        }
        const int v = (int)(i % 3);
        epi_case g = make_case(v == 2, v == 1, (shape){p.tm, p.tiled ? 1 : p.nv * vw, 7}, 0,
                               coeffs[2], (epilogue){1, (int)(i + 1) % 4, 1});
        check_case(c, &p, &g, seed++);
        porta__gemm_plan sp = p;
        sp.splits = i % 2 ? 3 : 5;
        g = make_case(v == 2, v == 1, (shape){p.tm + 2, p.tiled ? 3 : p.nv * vw + 1, 2051}, 2,
                      coeffs[i % 2 ? 1 : 2], (epilogue){1, (int)(i + 2) % 4, 1});
        check_case(c, &sp, &g, seed++);
        if (!c->quick) {
            g.e = (epilogue){0, (int)(i + 3) % 4, (int)i % 2};
            check_case(c, &sp, &g, seed++);
        }
    }
    /* K over one dispatch: the first chunk must not apply the epilogue
     * (whole chunks forced: the preset would split K). */
    porta__gemm_plan p = preset;
    p.splits = 1;
    p.tm = 1;
    p.nv = 1;
    p.preset = "two K chunks";
    epi_case g = make_case(false, true, (shape){5, p.tiled ? 20 : vw + 3, 16400}, 1, coeffs[1],
                           (epilogue){1, 1, 1});
    check_case(c, &p, &g, seed++);
    /* the preset's own split-K (a small output, a long K) */
    g = make_case(false, false, (shape){5, 20, 4096}, 0, coeffs[0], (epilogue){1, 1, 1});
    check_case(c, NULL, &g, seed++);
}

void porta__check_gemm_epilogue(porta__check *c)
{
    check_epilogues(c);
    check_plans(c);
}
