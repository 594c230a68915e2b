/* check_loss.c: kernels.cross_entropy and kernels.accuracy against
 * lib/ref/ref_loss.c.
 *
 * Loss (the sum of the partials): per row 1e-5 (|row loss| + 2 max |x| +
 * 1), exp / log / division a few ulp off relative to the row's terms, plus
 * rows 2^-23 sum |row loss| for the float sums of the partials. dlogits:
 * 2e-5 |ref| + 2e-6 grad_scale. Elements around the outputs keep their
 * canary. Accuracy counts are exact.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check_internal.h"
#include "ref/ref.h"

#define OFF_LOGITS 3
#define OFF_LABELS 2
#define OFF_DLOGITS 5
#define OFF_PARTIALS 1
#define PAD 4
#define MAX_PARTIALS 64 /* min(rows, 64) */
#define CANARY -12345.0f

typedef struct xshape {
    size_t rows, classes;
    float range; /* logits in [-range, range) */
} xshape;

/* +-80 and +-100: exp(x) without the max subtracted overflows float */
static const xshape shapes[] = {{1, 1, 4.0f},     {1, 10, 4.0f},     {7, 3, 4.0f},
                                {64, 10, 4.0f},   {7, 3, 80.0f},     {1000, 10, 4.0f},
                                {33, 1000, 4.0f}, {65, 300, 100.0f}, {1000, 10, 80.0f}};
#define N_SHAPES (sizeof(shapes) / sizeof(shapes[0]))
#define QUICK_SHAPES 6

typedef struct problem {
    size_t rows, classes, n;
    float scale;
    float *logits, *want;
    uint32_t *labels;
    double *row_loss;
    double loss;
} problem;

static void problem_free(problem *p)
{
    free(p->logits);
    free(p->labels);
    free(p->want);
    free(p->row_loss);
}

static bool problem_make(problem *p, size_t rows, size_t classes, float range, uint32_t seed)
{
    memset(p, 0, sizeof(*p));
    p->rows = rows;
    p->classes = classes;
    p->n = rows * classes;
    p->scale = 1.0f / (float)rows;
    p->logits = porta__check_random_new(p->n, &seed, range, 0.0f);
    p->labels = malloc(rows * sizeof(uint32_t));
    p->want = malloc(p->n * sizeof(float));
    p->row_loss = malloc(rows * sizeof(double));
    if (!p->logits || !p->labels || !p->want || !p->row_loss)
        return false;
    for (size_t r = 0; r < rows; r++) {
        seed = seed * 1664525u + 1013904223u;
        p->labels[r] = (seed >> 8) % (uint32_t)classes;
    }
    return true;
}

static double loss_tolerance(const problem *p)
{
    double tol = 0.0, mag = 0.0;
    for (size_t r = 0; r < p->rows; r++) {
        const float *x = p->logits + r * p->classes;
        double m = 0.0;
        for (size_t k = 0; k < p->classes; k++)
            m = fmax(m, fabs((double)x[k]));
        tol += 1e-5 * (fabs(p->row_loss[r]) + 2.0 * m + 1.0);
        mag += fabs(p->row_loss[r]);
    }
    return tol + (double)p->rows * ldexp(1.0, -23) * mag;
}

typedef struct device_bufs {
    porta_buffer *logits, *labels, *dlogits, *partials;
} device_bufs;

static void bufs_destroy(porta_context *ctx, device_bufs *d)
{
    porta_buffer_destroy(ctx, d->logits);
    porta_buffer_destroy(ctx, d->labels);
    porta_buffer_destroy(ctx, d->dlogits);
    porta_buffer_destroy(ctx, d->partials);
}

static porta_status bufs_create(porta_context *ctx, const problem *p, device_bufs *d)
{
    memset(d, 0, sizeof(*d));
    porta_status st = porta__check_upload(ctx, p->logits, OFF_LOGITS, p->n, 0, 0.0f, &d->logits);
    if (!st)
        st = porta__check_upload(ctx, p->labels, OFF_LABELS, p->rows, 0, 0.0f, &d->labels);
    if (!st)
        st = porta__check_upload(ctx, NULL, 0, OFF_DLOGITS + p->n + PAD, 0, CANARY, &d->dlogits);
    if (!st)
        st = porta__check_upload(ctx, NULL, 0, OFF_PARTIALS + MAX_PARTIALS + PAD, 0, CANARY,
                                 &d->partials);
    return st;
}

/* One shape, rows_per_group as lib/loss.c's split hook takes it (0: the
 * public call's). */
static void check_shape(porta__check *c, const xshape *s, size_t split, uint32_t seed)
{
    porta_context *ctx = c->ctx;
    problem p;
    device_bufs d = {0};
    const size_t nd = OFF_DLOGITS + s->rows * s->classes + PAD,
                 np = OFF_PARTIALS + MAX_PARTIALS + PAD;
    float *dl = malloc(nd * sizeof(float)), *part = malloc(np * sizeof(float));
    char what[128];
    snprintf(what, sizeof(what), "cross_entropy %zux%zu logits +-%g%s", s->rows, s->classes,
             (double)s->range, split ? " (rows split over dispatches)" : "");
    if (!porta__check_host_memory(c, problem_make(&p, s->rows, s->classes, s->range, seed) && dl &&
                                         part))
        goto done;
    p.loss =
        porta_ref_cross_entropy(p.logits, p.labels, p.rows, p.classes, p.scale, p.want, p.row_loss);
    size_t count = 0;
    porta_status st = bufs_create(ctx, &p, &d);
    if (!st)
        st = porta__cross_entropy_split(ctx, porta_view_at(d.logits, OFF_LOGITS),
                                        porta_view_at(d.labels, OFF_LABELS), p.rows, p.classes,
                                        p.scale, porta_view_at(d.dlogits, OFF_DLOGITS),
                                        porta_view_at(d.partials, OFF_PARTIALS), &count, split);
    if (!st)
        st = porta__check_download(ctx, d.dlogits, 0, nd, dl);
    if (!st)
        st = porta__check_download(ctx, d.partials, 0, np, part);
    if (!porta__check_call(c, st, "%s", what))
        goto done;
    const size_t groups = p.rows < MAX_PARTIALS ? p.rows : MAX_PARTIALS;
    porta__check_case(
        c, count == groups && part[0] == CANARY && part[OFF_PARTIALS + count] == CANARY,
        "%s: %zu partials (want %zu), or written outside their range", what, count, groups);
    double sum = 0.0;
    for (size_t g = 0; g < count && g < MAX_PARTIALS; g++)
        sum += (double)part[OFF_PARTIALS + g];
    char w[160];
    snprintf(w, sizeof(w), "%s loss", what);
    porta__check_close(c, w, sum, p.loss, loss_tolerance(&p));
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < nd; i++) {
        bool ok;
        if (i < OFF_DLOGITS || i >= OFF_DLOGITS + p.n) {
            ok = dl[i] == CANARY;
        } else {
            const double want = p.want[i - OFF_DLOGITS];
            const double tol = 2e-5 * fabs(want) + 2e-6 * p.scale;
            const double e = fabs((double)dl[i] - want);
            ok = e <= tol;
            if (ok && e / tol > c->worst)
                c->worst = e / tol;
        }
        if (!ok && bad++ == 0)
            first = i;
    }
    porta__check_case(
        c, bad == 0, "%s dlogits: %zu of %zu wrong, first [%zu] = %.9g, reference %.9g", what, bad,
        nd, first, (double)dl[first],
        first >= OFF_DLOGITS && first < OFF_DLOGITS + p.n ? (double)p.want[first - OFF_DLOGITS]
                                                          : (double)CANARY);
done:
    bufs_destroy(ctx, &d);
    problem_free(&p);
    free(dl);
    free(part);
}

/* A label >= classes: a NaN loss, NaN dlogits in that row only; and
 * dlogits written over the logits (the same buffer and offset). */
static void check_special(porta__check *c)
{
    porta_context *ctx = c->ctx;
    problem p;
    porta_buffer *x = NULL, *lab = NULL, *part = NULL;
    float partials[MAX_PARTIALS], *got = malloc(50 * 300 * sizeof(float));
    for (int in_place = 0; in_place < 2 && !c->fatal; in_place++) {
        const size_t rows = in_place ? 50 : 7, classes = in_place ? 300 : 3;
        if (!porta__check_host_memory(
                c, problem_make(&p, rows, classes, in_place ? 20.0f : 4.0f, 77) && got)) {
            problem_free(&p);
            break;
        }
        if (!in_place)
            p.labels[4] = 3; /* out of range */
        p.loss = porta_ref_cross_entropy(p.logits, p.labels, p.rows, p.classes, p.scale, p.want,
                                         p.row_loss);
        size_t count = 0;
        porta_status st = porta__check_upload(ctx, p.logits, 0, p.n, 0, 0.0f, &x);
        if (!st)
            st = porta__check_upload(ctx, p.labels, 0, p.rows, 0, 0.0f, &lab);
        if (!st)
            st = porta__check_upload(ctx, NULL, 0, MAX_PARTIALS, 0, 0.0f, &part);
        if (!st)
            st = porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), p.rows, p.classes,
                                     p.scale, porta_view_of(x), porta_view_of(part), &count);
        if (!st)
            st = porta__check_download(ctx, x, 0, p.n, got);
        if (!st)
            st = porta__check_download(ctx, part, 0, count, partials);
        const char *what =
            in_place ? "cross_entropy 50x300 in place" : "cross_entropy label 3 of 3";
        if (porta__check_call(c, st, "%s", what)) {
            double sum = 0.0;
            for (size_t g = 0; g < count; g++)
                sum += partials[g];
            size_t bad = 0;
            for (size_t i = 0; i < p.n; i++) {
                const bool nan_row = !in_place && i / p.classes == 4;
                bad += nan_row ? !isnan(got[i])
                               : !(fabs((double)got[i] - (double)p.want[i]) <=
                                   2e-5 * fabs((double)p.want[i]) + 2e-6 * (double)p.scale);
            }
            if (in_place)
                porta__check_close(c, "cross_entropy 50x300 in place loss", sum, p.loss,
                                   loss_tolerance(&p));
            else
                porta__check_case(c, isnan(sum), "%s: loss %g, want NaN", what, sum);
            porta__check_case(c, bad == 0, "%s: %zu dlogits wrong", what, bad);
        }
        porta_buffer_destroy(ctx, x);
        porta_buffer_destroy(ctx, lab);
        porta_buffer_destroy(ctx, part);
        x = lab = part = NULL;
        problem_free(&p);
    }
    free(got);
}

void porta__check_cross_entropy(porta__check *c)
{
    const size_t n = c->quick ? QUICK_SHAPES : N_SHAPES;
    for (size_t i = 0; i < n && !c->fatal; i++)
        check_shape(c, &shapes[i], 0, 100 + (uint32_t)i);
    /* a few rows per workgroup: several dispatches adding into the partials */
    if (!c->fatal)
        check_shape(c, &shapes[3], 3, 200);
    if (!c->fatal)
        check_special(c);
}

static porta_status device_accuracy(porta_context *ctx, const problem *p, size_t split,
                                    size_t *correct)
{
    device_bufs d;
    porta_status st = bufs_create(ctx, p, &d);
    if (!st)
        st = porta__accuracy_count_split(ctx, porta_view_at(d.logits, OFF_LOGITS),
                                         porta_view_at(d.labels, OFF_LABELS), p->rows, p->classes,
                                         correct, split);
    bufs_destroy(ctx, &d);
    return st;
}

/* Ties in a 1000-class problem: row r has its maximum 5 at classes 3 and
 * 700 (other invocations) with labels cycling 3, 700, 5; row 3 is all
 * zeros (argmax 0, label 0); row 4 a NaN at 9 (label 9); row 5 NaNs at 11
 * and 600 (label 600: the first NaN wins, wrong). */
static void make_ties(problem *p)
{
    static const uint32_t cycle[] = {3, 700, 5};
    for (size_t r = 0; r < p->rows; r++) {
        float *x = p->logits + r * p->classes;
        x[3] = 5.0f;
        x[700] = 5.0f;
        p->labels[r] = cycle[r % 3];
    }
    memset(p->logits + 3 * p->classes, 0, p->classes * sizeof(float));
    p->labels[3] = 0;
    p->logits[4 * p->classes + 9] = NAN;
    p->labels[4] = 9;
    p->logits[5 * p->classes + 11] = NAN;
    p->logits[5 * p->classes + 600] = NAN;
    p->labels[5] = 600;
}

void porta__check_accuracy(porta__check *c)
{
    const size_t n = c->quick ? QUICK_SHAPES : N_SHAPES;
    for (size_t i = 0; i <= n && !c->fatal; i++) {
        problem p;
        const bool ties = i == n;
        const bool ok =
            ties ? problem_make(&p, 9, 1000, 4.0f, 9)
                 : problem_make(&p, shapes[i].rows, shapes[i].classes, 4.0f, 300 + (uint32_t)i);
        if (!porta__check_host_memory(c, ok)) {
            problem_free(&p);
            break;
        }
        if (ties) {
            make_ties(&p);
        } else {
            /* every other row's label is its argmax */
            for (size_t r = 0; r < p.rows; r += 2) {
                const float *x = p.logits + r * p.classes;
                uint32_t best = 0;
                for (uint32_t k = 1; k < p.classes; k++)
                    best = x[k] > x[best] ? k : best;
                p.labels[r] = best;
            }
        }
        const size_t want = porta_ref_accuracy_count(p.logits, p.labels, p.rows, p.classes);
        size_t got = 0, split = 0;
        char what[96];
        snprintf(what, sizeof(what), "accuracy %zux%zu%s", p.rows, p.classes, ties ? " ties" : "");
        porta_status st = device_accuracy(c->ctx, &p, 0, &got);
        if (!st)
            st = device_accuracy(c->ctx, &p, 2, &split);
        if (porta__check_call(c, st, "%s", what))
            porta__check_case(c, got == want && split == want,
                              "%s: %zu (%zu in dispatches of 2 rows a group), reference %zu", what,
                              got, split, want);
        problem_free(&p);
    }
}
