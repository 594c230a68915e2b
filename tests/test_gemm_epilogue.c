/* test_gemm_epilogue: porta_gemm_bias_act (the GEMM epilogue: bias per
 * column, activation, the pre-activation stored on request) on every device
 * against the C reference (lib/ref).
 *
 * Every activation (and none) meets every variant (NN, NT, TN, TT), with
 * and without the bias and the pre-activation output, on awkward shapes
 * (1, odd, not a multiple of any block, k == 0), with offsets and padded
 * leading dimensions and alpha / beta combinations (beta = 0 over a
 * NaN-filled C). Each epilogue and plan is a kernel build of its own, so
 * the cases are few and chosen to cover, not a full product. Forced plans:
 * each path and register block, split-K (where the epilogue runs in
 * gemm_reduce) and K over one dispatch (16384, where only the last chunk
 * applies it). Tolerances, u = 2^-24, per output element:
 *
 *   pre:  tv = (k + 4) u (|alpha| sum_q |a_iq b_qj| + |beta c_ij| + |bias_j|)
 *         (porta_gemm's float summation bound, plus the bias addition);
 *   C:    tv without activation, else 1.2 tv (no activation's slope exceeds
 *         1.13) + test_activations' bound 1e-5 |f| + 4e-6 (1 + |v|);
 *
 * every other element of the output buffer (C and pre share one) must keep
 * its bits. Also: the same call twice gives the same bits (a direct and a
 * split-K problem), and the argument checks.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "gemm_internal.h"
#include "check/gemm_plans.h"
#include "internal.h"
#include "ref/ref.h"

#define U (1.0 / 16777216.0)

typedef struct shape {
    size_t m, n, k;
} shape;

static const shape shapes[] = {{1, 1, 1},    {7, 5, 3},    {17, 33, 29}, {100, 1, 37},
                               {1, 100, 37}, {65, 9, 131}, {3, 9, 0},    {40, 70, 20}};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))

/* An epilogue: bias or not, an activation (-1: none), pre or not. */
typedef struct epilogue {
    int bias, act, pre;
} epilogue;

static const char *const act_names[] = {"none", "relu", "gelu", "tanh", "sigmoid"};

typedef struct scalars {
    float alpha, beta;
} scalars;

static const scalars coeffs[] = {{1.0f, 0.0f}, {0.75f, -0.5f}, {-2.0f, 1.0f}};

/* One problem. The output buffer holds C at c_off, then pre at pre_off. */
typedef struct epi_case {
    bool ta, tb;
    size_t m, n, k;
    float alpha, beta;
    epilogue e;
    size_t a_off, b_off, c_off, pre_off, bias_off, lda, ldb, ldc;
} epi_case;

static float next_value(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
}

/* Elements a rows x cols matrix with leading dimension ld spans. */
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
    if (g.lda == 0)
        g.lda = 1;
    if (g.ldb == 0)
        g.ldb = 1;
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

static int host_alloc(host_data *h, const epi_case *g, uint32_t seed)
{
    h->na = g->a_off + span(g->ta ? g->k : g->m, g->ta ? g->m : g->k, g->lda) + 5;
    h->nb = g->b_off + span(g->tb ? g->n : g->k, g->tb ? g->k : g->n, g->ldb) + 5;
    h->nbias = g->bias_off + g->n + 5;
    h->nout = g->pre_off + span(g->m, g->n, g->ldc) + 5;
    h->a = malloc(h->na * sizeof(float));
    h->b = malloc(h->nb * sizeof(float));
    h->bias = malloc(h->nbias * sizeof(float));
    h->out0 = malloc(h->nout * sizeof(float));
    h->want = malloc(h->nout * sizeof(float));
    h->got = malloc(h->nout * sizeof(float));
    h->tol = malloc(h->nout * sizeof(double));
    if (!h->a || !h->b || !h->bias || !h->out0 || !h->want || !h->got || !h->tol)
        return 0;
    for (size_t i = 0; i < h->na; i++)
        h->a[i] = next_value(&seed);
    for (size_t i = 0; i < h->nb; i++)
        h->b[i] = next_value(&seed);
    for (size_t i = 0; i < h->nbias; i++)
        h->bias[i] = 3.0f * next_value(&seed); /* reaches the activations' curved parts */
    for (size_t i = 0; i < h->nout; i++)
        h->out0[i] = next_value(&seed);
    for (size_t i = 0; g->beta == 0.0f && i < g->m; i++)
        for (size_t j = 0; j < g->n; j++)
            h->out0[g->c_off + i * g->ldc + j] = NAN; /* beta = 0 must not read C */
    return 1;
}

/* The reference into h->want and the tolerance of every element. */
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
            tv *= (double)(g->k + 4) * U;
            /* v as the reference computed it, before the activation */
            double v = g->e.pre ? (double)h->want[pi] : 0.0;
            if (!g->e.pre) {
                float r = h->out0[ci];
                porta_ref_gemm_bias_act(
                    g->ta, g->tb, 1, 1, g->k, g->alpha, h->a + g->a_off + (g->ta ? i : i * g->lda),
                    g->lda, h->b + g->b_off + (g->tb ? j * g->ldb : j), g->ldb, g->beta, &r, 1,
                    g->e.bias ? h->bias + g->bias_off + j : NULL, -1, NULL);
                v = (double)r;
            }
            if (g->e.pre)
                h->tol[pi] = tv;
            h->tol[ci] = g->e.act < 0
                             ? tv
                             : 1.2 * tv + 1e-5 * fabs((double)h->want[ci]) + 4e-6 * (1.0 + fabs(v));
        }
}

/* Count elements outside their tolerance (or with changed bits). */
static size_t compare(const host_data *h, size_t *first)
{
    size_t bad = 0;
    for (size_t i = 0; i < h->nout; i++) {
        int ok = h->tol[i] < 0 ? memcmp(&h->got[i], &h->want[i], sizeof(float)) == 0
                               : fabs((double)h->got[i] - (double)h->want[i]) <= h->tol[i];
        if (!ok && bad++ == 0)
            *first = i;
    }
    return bad;
}

static porta_status upload(porta_context *ctx, const float *h, size_t n, porta_buffer **out)
{
    porta_status st = porta_buffer_create(ctx, n * sizeof(float), out);
    return st ? st : porta_buffer_write(ctx, *out, 0, n * sizeof(float), h);
}

/* Run a case on the device (`plan` NULL: the preset) into h->got. */
static porta_status run_device(porta_context *ctx, const porta__gemm_plan *plan, const epi_case *g,
                               host_data *h)
{
    porta_buffer *a = NULL, *b = NULL, *bias = NULL, *out = NULL;
    porta_status st = upload(ctx, h->a, h->na, &a);
    if (!st)
        st = upload(ctx, h->b, h->nb, &b);
    if (!st)
        st = upload(ctx, h->bias, h->nbias, &bias);
    if (!st)
        st = upload(ctx, h->out0, h->nout, &out);
    /* The preset through the public call, a forced plan through the
     * plan-forcing entry point: the same arguments either way. */
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
        st = porta_buffer_read(ctx, out, 0, h->nout * sizeof(float), h->got);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, bias);
    porta_buffer_destroy(ctx, out);
    return st;
}

static void check_case(test_state *t, porta_context *ctx, const char *dev,
                       const porta__gemm_plan *plan, const epi_case *g, uint32_t seed)
{
    host_data h = {0};
    int ok = host_alloc(&h, g, seed);
    CHECK(t, ok, "out of host memory");
    char what[160];
    snprintf(what, sizeof(what), "%s gemm_bias_act %c%c %zux%zux%zu alpha %g beta %g %s%s%s (%s)",
             dev, g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, (double)g->alpha,
             (double)g->beta, g->e.bias ? "bias+" : "", act_names[g->e.act + 1],
             g->e.pre ? "+pre" : "", plan ? plan->preset : "preset");
    porta_status st = ok ? run_device(ctx, plan, g, &h) : PORTA_OK;
    if (ok)
        CHECK(t, st == PORTA_OK, "%s: %s: %s", what, porta_strerror(st),
              porta_context_message(ctx));
    if (ok && st == PORTA_OK) {
        reference(g, &h);
        size_t first = 0, bad = compare(&h, &first);
        CHECK(t, bad == 0, "%s: %zu elements wrong, first [%zu] (%s) = %.9g, want %.9g (tol %.3g)",
              what, bad, first, first >= g->pre_off ? "pre" : "C", (double)h.got[first],
              (double)h.want[first], h.tol[first]);
    }
    host_free(&h);
}

/* Every activation (and none) with every variant, on the presets; the
 * bias and the pre-activation output on in most cases, off in some.
 * (Each epilogue is a kernel build of its own: few cases, many shapes.) */
static void check_epilogues(test_state *t, porta_context *ctx, const char *dev)
{
    uint32_t seed = 1;
    for (int v = 0; v < 4; v++)
        for (int act = -1; act < 4; act++) {
            const size_t i = (size_t)(5 * v + act + 1);
            const size_t s = i % N_SHAPES;
            const epilogue e = {i % 4 != 1, act, i % 3 != 2};
            epi_case g = make_case(v >> 1, v & 1, shapes[s], s % 2 ? 3 : 0, coeffs[i % 3], e);
            check_case(t, ctx, dev, NULL, &g, seed++);
        }
}

/* Forced plans: each path and block shape, split-K, and K in two chunks. */
static void check_plans(test_state *t, porta_context *ctx, const char *dev)
{
    porta__gemm_plan preset;
    porta__gemm_plan_choose(ctx, false, false, 256, 256, 256, 1, &preset);
    const porta__gemm_plan *plans = gemm_forced_plans;
    porta_device_info info;
    porta_device_current(ctx, &info);
    const size_t vw = porta__gemm_vec_width(ctx);
    uint32_t seed = 700;
    for (size_t i = 0; i < GEMM_FORCED_PLAN_COUNT; i++) {
        porta__gemm_plan p = plans[i];
        p.fma = preset.fma;
        if (p.tiled && info.max_workgroup_size < 256)
            continue;
        for (int v = 0; v < 3; v++) { /* NN, NT, TN: bias + each f, pre or not */
            const epilogue e = {1, (int)(i + (size_t)v) % 4, (int)(i + (size_t)v) % 2};
            epi_case g = make_case(v == 2, v == 1, (shape){37, 2 * vw + 5, 29}, 3, coeffs[v], e);
            check_case(t, ctx, dev, &p, &g, seed++);
        }
        /* the smallest m and n the plan allows */
        const int v = (int)(i % 3);
        epi_case g = make_case(v == 2, v == 1, (shape){p.tm, p.tiled ? 1 : p.nv * vw, 7}, 0,
                               coeffs[2], (epilogue){1, (int)(i + 1) % 4, 1});
        check_case(t, ctx, dev, &p, &g, seed++);
        /* split-K: the epilogue in gemm_reduce, with and without bias */
        porta__gemm_plan sp = p;
        sp.splits = i % 2 ? 3 : 5;
        g = make_case(v == 2, v == 1, (shape){p.tm + 2, p.tiled ? 3 : p.nv * vw + 1, 2051}, 2,
                      coeffs[i % 2 ? 1 : 2], (epilogue){1, (int)(i + 2) % 4, 1});
        check_case(t, ctx, dev, &sp, &g, seed++);
        g.e = (epilogue){0, (int)(i + 3) % 4, (int)i % 2};
        check_case(t, ctx, dev, &sp, &g, seed++);
    }
    /* K over one dispatch: the first chunk must not apply the epilogue.
     * The preset would split K; force whole chunks. */
    porta__gemm_plan p = preset;
    p.splits = 1;
    p.tm = 1;
    p.nv = 1;
    p.preset = "two K chunks";
    epi_case g = make_case(false, true, (shape){5, p.tiled ? 20 : vw + 3, 16400}, 1, coeffs[1],
                           (epilogue){1, 1, 1});
    check_case(t, ctx, dev, &p, &g, seed++);
    /* The preset's own split-K (one small output, a long K). */
    g = make_case(false, false, (shape){5, 20, 4096}, 0, coeffs[0], (epilogue){1, 1, 1});
    check_case(t, ctx, dev, NULL, &g, seed++);
}

/* The same calls twice give the same bits. */
static void check_reproducible(test_state *t, porta_context *ctx, const char *dev)
{
    const shape ss[] = {{96, 96, 96}, {5, 20, 4096}};
    for (size_t s = 0; s < 2; s++) {
        epi_case g = make_case(false, true, ss[s], 1, coeffs[1], (epilogue){1, 1, 1});
        host_data h = {0};
        int ok = host_alloc(&h, &g, 42);
        float *first = ok ? malloc(h.nout * sizeof(float)) : NULL;
        porta_status st = first ? run_device(ctx, NULL, &g, &h) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
        if (!st) {
            memcpy(first, h.got, h.nout * sizeof(float));
            st = run_device(ctx, NULL, &g, &h);
        }
        CHECK_OK(t, ctx, st, "gemm_bias_act reproducibility runs");
        if (!st)
            CHECK(t, memcmp(first, h.got, h.nout * sizeof(float)) == 0,
                  "%s gemm_bias_act %zux%zux%zu: two runs differ", dev, g.m, g.n, g.k);
        free(first);
        host_free(&h);
    }
}

/* One bad call on 64-float buffers: C 4 x 4 at 0 (ldc 4), A and B 4 x 4. */
typedef struct bad_call {
    const char *what, *names;
    size_t ldc, bias_off, pre_off;
    int act, bias_is_c, pre;
    porta_status want;
} bad_call;

static const bad_call bad_calls[] = {
    {"activation 4", "activation", 4, 0, 32, 4, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"activation -2", "activation", 4, 0, 32, -2, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"ldc < n", "c.ld", 3, 0, 32, 0, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"bias past the end", "bias", 4, 61, 32, 0, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"pre past the end", "pre", 4, 0, 50, 0, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"pre overlaps c", "pre", 4, 0, 15, 0, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"bias overlaps c", "bias", 4, 14, 32, 0, 1, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"bias overlaps pre", "bias", 4, 40, 32, 0, 1, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"pre beside c", NULL, 4, 0, 16, 2, 0, 1, PORTA_OK},
    {"bias beside c and pre", NULL, 4, 48, 16, 1, 1, 1, PORTA_OK},
};

static void check_errors(test_state *t, porta_context *ctx, const char *dev)
{
    porta_buffer *ab = NULL, *out = NULL, *bias = NULL;
    porta_status st = porta_buffer_create(ctx, 64 * sizeof(float), &ab);
    if (!st)
        st = porta_buffer_create(ctx, 64 * sizeof(float), &out);
    if (!st)
        st = porta_buffer_create(ctx, 64 * sizeof(float), &bias);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(ab), 64, 0.5f);
    CHECK_OK(t, ctx, st, "error-test buffers");
    for (size_t i = 0; !st && i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
        const bad_call *x = &bad_calls[i];
        const porta_gemm_epilogue e = {porta_view_at(x->bias_is_c ? out : bias, x->bias_off),
                                       (porta_activation)x->act,
                                       x->pre ? porta_view_at(out, x->pre_off) : porta_view_none()};
        porta_status got =
            porta_gemm_bias_act(ctx, 4, 4, 4, 1.0f, porta_matrix_of(porta_view_of(ab), 4),
                                porta_matrix_of(porta_view_at(ab, 16), 4), 0.0f,
                                porta_matrix_of(porta_view_of(out), x->ldc), &e);
        CHECK(t, got == x->want, "%s gemm_bias_act %s: got %s (%s), want %s", dev, x->what,
              porta_strerror(got), porta_context_message(ctx), porta_strerror(x->want));
        if (x->want && got == x->want) {
            const char *msg = porta_context_message(ctx);
            CHECK(t, strstr(msg, "porta_gemm_bias_act") && strstr(msg, x->names),
                  "%s gemm_bias_act %s: message '%s' does not name porta_gemm_bias_act and %s", dev,
                  x->what, msg, x->names);
        }
    }
    /* The activation layer refuses "no activation". */
    porta_status got = st ? st
                          : porta_activation_forward(ctx, PORTA_ACTIVATION_NONE, porta_view_of(ab),
                                                     porta_view_of(out), 4);
    CHECK(t, got == PORTA_ERROR_INVALID_ARGUMENT,
          "%s porta_activation_forward(PORTA_ACTIVATION_NONE): got %s", dev, porta_strerror(got));
    /* m == 0 is a no-op. */
    const porta_gemm_epilogue relu = {porta_view_of(bias), PORTA_RELU, porta_view_none()};
    got = st ? st
             : porta_gemm_bias_act(ctx, 0, 4, 4, 1.0f, porta_matrix_of(porta_view_of(ab), 4),
                                   porta_matrix_of(porta_view_at(ab, 16), 4), 0.0f,
                                   porta_matrix_of(porta_view_of(out), 4), &relu);
    CHECK(t, got == PORTA_OK, "%s gemm_bias_act m = 0: got %s (%s)", dev, porta_strerror(got),
          porta_context_message(ctx));
    porta_buffer_destroy(ctx, ab);
    porta_buffer_destroy(ctx, out);
    porta_buffer_destroy(ctx, bias);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    check_epilogues(t, ctx, info->spec);
    check_plans(t, ctx, info->spec);
    check_reproducible(t, ctx, info->spec);
    check_errors(t, ctx, info->spec);
}

int main(void)
{
    test_init();
    test_state t = {0};
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
