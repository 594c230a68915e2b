/* test_gemm: porta_gemm on every device against the C reference (lib/ref).
 *
 * All four variants (NN, NT, TN, TT) over awkward shapes (1, odd, not a
 * multiple of the 64 x 64 tile, K over the 16384 the host dispatches at
 * once), padded leading dimensions, offsets, a batch of 3 with strides, and
 * alpha / beta combinations including beta = 0 over a NaN-filled C. Every
 * output element must lie within the worst-case bound of float summation,
 *
 *   |C - ref| <= (k + 3) * 2^-24 * (|alpha| * sum_q |a_iq| |b_qj| + |beta * c_ij|),
 *
 * and every element of C's buffer that is not an output must keep its bits.
 * The same cases run through forced plans (every path and register-block
 * shape the presets use: the tiled path, direct blocks of 8 x 2 vectors,
 * 3 x 1 and 1 x 1, and split-K into several slices with beta != 0), so
 * every preset is covered on every device whatever the presets pick there.
 * Also checks reproducibility and the argument checks.
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

typedef struct shape {
    size_t m, n, k;
} shape;

static const shape shapes[] = {{1, 1, 1},    {7, 5, 3},    {17, 33, 29},  {64, 64, 64},
                               {100, 1, 37}, {1, 100, 37}, {129, 65, 200}};

typedef struct scalars {
    float alpha, beta;
} scalars;

static const scalars coeffs[] = {{1.0f, 0.0f}, {0.75f, -0.5f}, {-2.0f, 1.0f}};

/* One problem: shape, layout and coefficients. */
typedef struct gemm_case {
    bool ta, tb;
    size_t m, n, k, batch;
    float alpha, beta;
    size_t a_off, b_off, c_off, lda, ldb, ldc, sa, sb, sc;
} gemm_case;

static float next_value(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return (float)(*s >> 8) / 8388608.0f - 1.0f; /* [-1, 1) */
}

/* Elements of a buffer holding `batch` rows x cols matrices (ld, stride). */
static size_t buffer_elems(size_t off, size_t rows, size_t cols, size_t ld, size_t batch,
                           size_t stride)
{
    return off + (batch - 1) * stride + (rows - 1) * ld + cols + 5;
}

/* A case with leading dimensions padded by `pad` and batches `gap` apart. */
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

/* The tolerance of every element of C's buffer: -1 where it is no output
 * (its bits must stay), else the bound above. */
static void tolerances(const gemm_case *g, const float *a, const float *b, const float *c0,
                       double *tol, size_t c_elems)
{
    for (size_t i = 0; i < c_elems; i++)
        tol[i] = -1.0;
    const double u = ldexp(1.0, -24);
    for (size_t p = 0; p < g->batch; p++)
        for (size_t i = 0; i < g->m; i++)
            for (size_t j = 0; j < g->n; j++) {
                double s = 0.0;
                for (size_t q = 0; q < g->k; q++) {
                    size_t ai = g->a_off + p * g->sa + (g->ta ? q * g->lda + i : i * g->lda + q);
                    size_t bi = g->b_off + p * g->sb + (g->tb ? j * g->ldb + q : q * g->ldb + j);
                    s += fabs((double)a[ai] * (double)b[bi]);
                }
                size_t ci = g->c_off + p * g->sc + i * g->ldc + j;
                double old = g->beta == 0.0f ? 0.0 : fabs((double)g->beta * (double)c0[ci]);
                tol[ci] = (double)(g->k + 3) * u * (fabs((double)g->alpha) * s + old);
            }
}

/* Compare the device's C buffer with the reference; count failures. */
static size_t compare(const float *got, const float *want, const double *tol, size_t n,
                      size_t *first)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        int ok = tol[i] < 0 ? memcmp(&got[i], &want[i], sizeof(float)) == 0
                            : fabs((double)got[i] - (double)want[i]) <= tol[i];
        if (!ok && bad++ == 0)
            *first = i;
    }
    return bad;
}

typedef struct host_data {
    float *a, *b, *c0, *want, *got;
    double *tol;
    size_t na, nb, nc;
} host_data;

static int host_alloc(host_data *h, const gemm_case *g, uint32_t seed)
{
    h->na =
        buffer_elems(g->a_off, g->ta ? g->k : g->m, g->ta ? g->m : g->k, g->lda, g->batch, g->sa);
    h->nb =
        buffer_elems(g->b_off, g->tb ? g->n : g->k, g->tb ? g->k : g->n, g->ldb, g->batch, g->sb);
    h->nc = buffer_elems(g->c_off, g->m, g->n, g->ldc, g->batch, g->sc);
    h->a = malloc(h->na * sizeof(float));
    h->b = malloc(h->nb * sizeof(float));
    h->c0 = malloc(h->nc * sizeof(float));
    h->want = malloc(h->nc * sizeof(float));
    h->got = malloc(h->nc * sizeof(float));
    h->tol = malloc(h->nc * sizeof(double));
    if (!h->a || !h->b || !h->c0 || !h->want || !h->got || !h->tol)
        return 0;
    for (size_t i = 0; i < h->na; i++)
        h->a[i] = next_value(&seed);
    for (size_t i = 0; i < h->nb; i++)
        h->b[i] = next_value(&seed);
    for (size_t i = 0; i < h->nc; i++)
        h->c0[i] = g->beta == 0.0f ? NAN : next_value(&seed);
    return 1;
}

static void host_free(host_data *h)
{
    free(h->a);
    free(h->b);
    free(h->c0);
    free(h->want);
    free(h->got);
    free(h->tol);
}

static porta_status run_device(porta_context *ctx, const porta__gemm_plan *plan, const gemm_case *g,
                               host_data *h)
{
    porta_buffer *a = NULL, *b = NULL, *c = NULL;
    porta_status st = porta_buffer_create(ctx, h->na * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, h->nb * sizeof(float), &b);
    if (!st)
        st = porta_buffer_create(ctx, h->nc * sizeof(float), &c);
    if (!st)
        st = porta_buffer_write(ctx, a, 0, h->na * sizeof(float), h->a);
    if (!st)
        st = porta_buffer_write(ctx, b, 0, h->nb * sizeof(float), h->b);
    if (!st)
        st = porta_buffer_write(ctx, c, 0, h->nc * sizeof(float), h->c0);
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
         * plan-forcing entry point: both paths stay covered. */
        st = plan ? porta__gemm_planned(ctx, plan, g->m, g->n, g->k, g->alpha, ma, mb, g->beta, mc,
                                        g->batch)
                  : porta_gemm(ctx, g->m, g->n, g->k, g->alpha, ma, mb, g->beta, mc, g->batch);
    }
    if (!st)
        st = porta_buffer_read(ctx, c, 0, h->nc * sizeof(float), h->got);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, c);
    return st;
}

/* Run one case on the device and check it; returns 1 when it passed. */
static int check_case(test_state *t, porta_context *ctx, const char *dev,
                      const porta__gemm_plan *plan, const gemm_case *g, uint32_t seed)
{
    host_data h = {0};
    int ok = host_alloc(&h, g, seed);
    CHECK(t, ok, "out of host memory");
    porta_status st = ok ? run_device(ctx, plan, g, &h) : PORTA_OK;
    if (ok) {
        CHECK(t, st == PORTA_OK, "%s gemm %c%c %zux%zux%zu batch %zu (%s): %s: %s", dev,
              g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, g->batch,
              plan ? plan->preset : "preset", porta_strerror(st), porta_context_message(ctx));
    }
    if (ok && st == PORTA_OK) {
        memcpy(h.want, h.c0, h.nc * sizeof(float));
        porta_ref_gemm(g->ta, g->tb, g->m, g->n, g->k, g->alpha, h.a + g->a_off, g->lda,
                       h.b + g->b_off, g->ldb, g->beta, h.want + g->c_off, g->ldc, g->batch, g->sa,
                       g->sb, g->sc);
        tolerances(g, h.a, h.b, h.c0, h.tol, h.nc);
        size_t first = 0;
        size_t bad = compare(h.got, h.want, h.tol, h.nc, &first);
        CHECK(t, bad == 0,
              "%s gemm %c%c %zux%zux%zu batch %zu alpha %g beta %g (%s): %zu elements wrong, "
              "first C[%zu] = %.9g, want %.9g (tol %.3g)",
              dev, g->ta ? 'T' : 'N', g->tb ? 'T' : 'N', g->m, g->n, g->k, g->batch,
              (double)g->alpha, (double)g->beta, plan ? plan->preset : "preset", bad, first,
              (double)h.got[first], (double)h.want[first], h.tol[first]);
        ok = bad == 0;
    }
    host_free(&h);
    return ok && st == PORTA_OK;
}

static void check_variants(test_state *t, porta_context *ctx, const char *dev)
{
    uint32_t seed = 1;
    for (int v = 0; v < 4; v++) {
        const bool ta = v >> 1, tb = v & 1;
        for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
            scalars co = coeffs[(s + (size_t)v) % 3];
            gemm_case g = make_case(ta, tb, shapes[s], 1, s % 2 ? 3 : 0, 0, co);
            check_case(t, ctx, dev, NULL, &g, seed++);
        }
        for (size_t c = 0; c < 3; c++) {
            shape s = c == 0 ? (shape){23, 70, 19} : (shape){65, 9, 131};
            gemm_case g = make_case(ta, tb, s, 3, 2, 11, coeffs[c]);
            check_case(t, ctx, dev, NULL, &g, seed++);
        }
        /* K beyond one dispatch (16384): two chunks accumulate into C. */
        gemm_case g = make_case(ta, tb, (shape){5, 20, 16400}, 1, 1, 0, coeffs[(size_t)v % 3]);
        check_case(t, ctx, dev, NULL, &g, seed++);
        /* Broadcast A or B over the batch (stride 0). */
        g = make_case(ta, tb, (shape){5, 6, 7}, 3, 0, 0, coeffs[1]);
        if (v % 2)
            g.sa = 0;
        else
            g.sb = 0;
        check_case(t, ctx, dev, NULL, &g, seed++);
    }
}

/* Forced plans: each path and block shape on awkward shapes, two of the
 * four variants each (every variant meets two direct block shapes), then
 * split-K (K not a multiple of the slices or of 4). */
static void check_plans(test_state *t, porta_context *ctx, const char *dev)
{
    porta__gemm_plan preset;
    porta__gemm_plan_choose(ctx, false, false, 256, 256, 256, 1, &preset);
    const porta__gemm_plan *plans = gemm_forced_plans;
    uint32_t seed = 500;
    const uint32_t vw = porta__gemm_vec_width(ctx);
    porta_device_info info;
    porta_device_current(ctx, &info);
    const unsigned max_local = info.max_workgroup_size;
    for (size_t i = 0; i < GEMM_FORCED_PLAN_COUNT; i++) {
        porta__gemm_plan p = plans[i];
        p.fma = preset.fma;
        if (p.tiled && max_local < 256)
            continue;
        for (int half = 0; half < 2; half++) { /* two variants per plan (kernel builds) */
            int v = (int)(i + 2 * (size_t)half) % 4;
            const bool ta = v >> 1, tb = v & 1;
            /* Not a multiple of any block; the smallest m and n the plan
             * allows; a batch; split-K with beta. */
            shape big = {37, 2 * vw + 5, 29};
            shape least = {p.tm, p.tiled ? 1 : p.nv * vw, 7};
            gemm_case g = make_case(ta, tb, big, 1, 3, 0, coeffs[(size_t)v % 3]);
            check_case(t, ctx, dev, &p, &g, seed++);
            g = make_case(ta, tb, least, 1, 0, 0, coeffs[(size_t)(v + 1) % 3]);
            check_case(t, ctx, dev, &p, &g, seed++);
            g = make_case(ta, tb, (shape){19, 2 * vw + 1, 13}, 2, 1, 7, coeffs[1]);
            check_case(t, ctx, dev, &p, &g, seed++);
            porta__gemm_plan sp = p;
            sp.splits = v % 2 ? 3 : 5;
            g = make_case(ta, tb, (shape){p.tm + 2, p.tiled ? 3 : p.nv * vw + 1, 2051}, 1, 2, 0,
                          coeffs[v % 2 ? 1 : 2]);
            check_case(t, ctx, dev, &sp, &g, seed++);
        }
    }
    /* A plan that cannot run the shape is refused, not run. */
    porta__gemm_plan p = plans[1];
    porta_buffer *buf = NULL;
    porta_status st = porta_buffer_create(ctx, 64 * sizeof(float), &buf);
    if (!st)
        st = porta__gemm_planned(ctx, &p, 4, 4, 4, 1.0f, porta_matrix_of(porta_view_at(buf, 0), 4),
                                 porta_matrix_of(porta_view_at(buf, 16), 4), 0.0f,
                                 porta_matrix_of(porta_view_at(buf, 32), 4), 1);
    CHECK(t, st == PORTA_ERROR_UNSUPPORTED, "%s gemm: 8-row plan on 4 rows: got %s", dev,
          porta_strerror(st));
    porta_buffer_destroy(ctx, buf);
}

/* The same call twice gives the same bits. */
static void check_reproducible(test_state *t, porta_context *ctx, const char *dev)
{
    const size_t n = 96 * 96;
    porta_buffer *a = NULL, *c = NULL;
    float *host = malloc(n * sizeof(float)), *r1 = malloc(n * sizeof(float)),
          *r2 = malloc(n * sizeof(float));
    porta_status st = host && r1 && r2 ? PORTA_OK : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    uint32_t seed = 99;
    for (size_t i = 0; st == PORTA_OK && i < n; i++)
        host[i] = next_value(&seed);
    if (!st)
        st = porta_buffer_create(ctx, n * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, n * sizeof(float), &c);
    if (!st)
        st = porta_buffer_write(ctx, a, 0, n * sizeof(float), host);
    porta_matrix ma = porta_matrix_of(porta_view_of(a), 96), mb = ma;
    mb.transposed = true;
    const porta_matrix mc = porta_matrix_of(porta_view_of(c), 96);
    for (int run = 0; run < 2 && !st; run++) {
        st = porta_gemm(ctx, 96, 96, 96, 1.0f, ma, mb, 0.0f, mc, 1);
        if (!st)
            st = porta_buffer_read(ctx, c, 0, n * sizeof(float), run ? r2 : r1);
    }
    CHECK_OK(t, ctx, st, "reproducibility run");
    if (!st)
        CHECK(t, memcmp(r1, r2, n * sizeof(float)) == 0, "%s gemm not reproducible", dev);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, c);
    free(host);
    free(r1);
    free(r2);
}

/* porta_gemm on 4 x 4 buffers with one argument changed. */
typedef struct bad_call {
    const char *what;
    size_t m, n, k, lda, ldb, ldc, a_off, batch, stride_c;
    int null_b;
    porta_status want;
} bad_call;

static const bad_call bad_calls[] = {
    {"lda < k", 4, 4, 4, 3, 4, 4, 0, 1, 0, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"ldb < n", 4, 4, 4, 4, 3, 4, 0, 1, 0, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"ldc < n", 4, 4, 4, 4, 4, 3, 0, 1, 0, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"lda 0", 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"a past the end", 4, 4, 4, 4, 4, 4, 1, 1, 0, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"k past a", 4, 4, 5, 5, 4, 4, 0, 1, 0, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"batch past c", 2, 2, 2, 2, 2, 2, 0, 5, 4, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"stride_c overlaps", 2, 2, 2, 2, 2, 2, 0, 2, 3, 0, PORTA_ERROR_INVALID_ARGUMENT},
    {"b NULL", 4, 4, 4, 4, 4, 4, 0, 1, 0, 1, PORTA_ERROR_INVALID_ARGUMENT},
    {"m 0", 0, 4, 4, 4, 4, 4, 0, 1, 0, 0, PORTA_OK},
    {"batch 0", 4, 4, 4, 4, 4, 4, 0, 0, 0, 0, PORTA_OK},
};

static void check_errors(test_state *t, porta_context *ctx, const char *dev)
{
    porta_buffer *a = NULL, *b = NULL, *c = NULL;
    porta_status st = porta_buffer_create(ctx, 16 * sizeof(float), &a);
    if (!st)
        st = porta_buffer_create(ctx, 16 * sizeof(float), &b);
    if (!st)
        st = porta_buffer_create(ctx, 16 * sizeof(float), &c);
    CHECK_OK(t, ctx, st, "error-test buffers");
    for (size_t i = 0; !st && i < sizeof(bad_calls) / sizeof(bad_calls[0]); i++) {
        const bad_call *x = &bad_calls[i];
        porta_matrix mc = porta_matrix_of(porta_view_of(c), x->ldc);
        mc.batch_stride = x->stride_c;
        porta_status got = porta_gemm(
            ctx, x->m, x->n, x->k, 1.0f, porta_matrix_of(porta_view_at(a, x->a_off), x->lda),
            porta_matrix_of(x->null_b ? porta_view_none() : porta_view_of(b), x->ldb), 0.0f, mc,
            x->batch);
        CHECK(t, got == x->want, "%s gemm %s: got %s (%s), want %s", dev, x->what,
              porta_strerror(got), porta_context_message(ctx), porta_strerror(x->want));
        if (x->want && got == x->want)
            CHECK(t, strstr(porta_context_message(ctx), "porta_gemm") != NULL,
                  "%s gemm %s: message '%s' does not name porta_gemm", dev, x->what,
                  porta_context_message(ctx));
    }
    /* k == 0: C = beta * C. */
    float ones[16], got[16];
    for (size_t i = 0; i < 16; i++)
        ones[i] = 1.0f;
    if (!st)
        st = porta_buffer_write(ctx, c, 0, sizeof(ones), ones);
    porta_matrix ta = porta_matrix_of(porta_view_of(a), 4),
                 tb = porta_matrix_of(porta_view_of(b), 1);
    ta.transposed = true;
    tb.transposed = true;
    if (!st)
        st = porta_gemm(ctx, 4, 4, 0, 1.0f, ta, tb, 0.5f, porta_matrix_of(porta_view_of(c), 4), 1);
    if (!st)
        st = porta_buffer_read(ctx, c, 0, sizeof(got), got);
    CHECK_OK(t, ctx, st, "gemm k = 0");
    for (size_t i = 0; !st && i < 16; i++)
        CHECK(t, got[i] == 0.5f, "%s gemm k = 0: C[%zu] = %g, want 0.5", dev, i, (double)got[i]);
    porta_buffer_destroy(ctx, a);
    porta_buffer_destroy(ctx, b);
    porta_buffer_destroy(ctx, c);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    check_variants(t, ctx, info->spec);
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
