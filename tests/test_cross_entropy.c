/* test_cross_entropy: porta_cross_entropy and porta_accuracy_count on every
 * device against the C reference (lib/ref).
 *
 *  - loss (the sum of the partials) and dlogits for shapes from 1 x 1 to
 *    1000 x 10 and 33 x 1000, with offsets, small and large (+-80) logits,
 *    elements around the outputs untouched, in place (dlogits = logits);
 *  - a label >= classes gives a NaN loss (and NaN dlogits for that row);
 *  - accuracy counts, ties (lowest index wins) across invocations, NaN;
 *  - the same bits on a second run;
 *  - rows split over several dispatches (as beyond llvmpipe's loop budget),
 *    through lib/loss.c's test hooks;
 *  - end to end: the partials fed to porta_optimizer_step() give the
 *    reference mean loss in the metrics, and a bad label skips the step;
 *  - the argument checks;
 *  - on the host: the reference's dlogits against central finite
 *    differences of its loss.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"
#include "internal.h"
#include "ref/ref.h"

#define OFF_LOGITS 3
#define OFF_LABELS 2
#define OFF_DLOGITS 5
#define OFF_PARTIALS 1
#define PAD 4            /* canary elements after each output */
#define MAX_PARTIALS 64  /* min(rows, 64) */
#define CANARY -12345.0f /* what untouched elements hold */

typedef struct xshape {
    size_t rows, classes;
    float range; /* logits in [-range, range) */
} xshape;

/* +-80 and +-100 logits: exp(x) without the max subtracted overflows
 * float. */
static const xshape shapes[] = {{1, 1, 4.0f},      {1, 10, 4.0f},    {7, 3, 4.0f},
                                {64, 10, 4.0f},    {1000, 10, 4.0f}, {33, 1000, 4.0f},
                                {65, 300, 100.0f}, {7, 3, 80.0f},    {1000, 10, 80.0f}};

static uint32_t next_u32(uint32_t *s)
{
    *s = *s * 1664525u + 1013904223u;
    return *s;
}

static float next_value(uint32_t *s, float range)
{
    return ((float)(next_u32(s) >> 8) / 8388608.0f - 1.0f) * range; /* [-range, range) */
}

/* Host side of one problem. */
typedef struct problem {
    size_t rows, classes, n;
    float scale;
    float *logits;    /* n = rows * classes */
    uint32_t *labels; /* rows */
    float *want;      /* reference dlogits */
    double *row_loss;
    double loss; /* reference sum */
} problem;

static int problem_make(problem *p, size_t rows, size_t classes, float range, uint32_t seed)
{
    memset(p, 0, sizeof(*p));
    p->rows = rows;
    p->classes = classes;
    p->n = rows * classes;
    p->scale = 1.0f / (float)rows;
    p->logits = malloc(p->n * sizeof(float));
    p->labels = malloc(rows * sizeof(uint32_t));
    p->want = malloc(p->n * sizeof(float));
    p->row_loss = malloc(rows * sizeof(double));
    if (!p->logits || !p->labels || !p->want || !p->row_loss)
        return 0;
    for (size_t i = 0; i < p->n; i++)
        p->logits[i] = next_value(&seed, range);
    for (size_t r = 0; r < rows; r++)
        p->labels[r] = next_u32(&seed) % (uint32_t)classes;
    return 1;
}

static void problem_reference(problem *p)
{
    p->loss = porta_ref_cross_entropy(p->logits, p->labels, p->rows, p->classes, p->scale, p->want,
                                      p->row_loss);
}

static void problem_free(problem *p)
{
    free(p->logits);
    free(p->labels);
    free(p->want);
    free(p->row_loss);
}

/* Device side: logits, labels, dlogits and partials buffers with offsets
 * and canaries. */
typedef struct device_bufs {
    porta_buffer *logits, *labels, *dlogits, *partials;
} device_bufs;

static porta_status fill_canary(porta_context *ctx, porta_buffer *b, size_t n)
{
    float *c = malloc(n * sizeof(float));
    if (!c)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    for (size_t i = 0; i < n; i++)
        c[i] = CANARY;
    porta_status st = porta_buffer_write(ctx, b, 0, n * sizeof(float), c);
    free(c);
    return st;
}

static porta_status bufs_create(porta_context *ctx, const problem *p, device_bufs *d)
{
    memset(d, 0, sizeof(*d));
    const size_t nd = OFF_DLOGITS + p->n + PAD, np = OFF_PARTIALS + MAX_PARTIALS + PAD;
    porta_status st = porta_buffer_create(ctx, (OFF_LOGITS + p->n) * sizeof(float), &d->logits);
    if (!st)
        st = porta_buffer_create(ctx, (OFF_LABELS + p->rows) * sizeof(uint32_t), &d->labels);
    if (!st)
        st = porta_buffer_create(ctx, nd * sizeof(float), &d->dlogits);
    if (!st)
        st = porta_buffer_create(ctx, np * sizeof(float), &d->partials);
    if (!st)
        st = porta_buffer_write(ctx, d->logits, OFF_LOGITS * sizeof(float), p->n * sizeof(float),
                                p->logits);
    if (!st)
        st = porta_buffer_write(ctx, d->labels, OFF_LABELS * sizeof(uint32_t),
                                p->rows * sizeof(uint32_t), p->labels);
    if (!st)
        st = fill_canary(ctx, d->dlogits, nd);
    if (!st)
        st = fill_canary(ctx, d->partials, np);
    return st;
}

static void bufs_destroy(porta_context *ctx, device_bufs *d)
{
    porta_buffer_destroy(ctx, d->logits);
    porta_buffer_destroy(ctx, d->labels);
    porta_buffer_destroy(ctx, d->dlogits);
    porta_buffer_destroy(ctx, d->partials);
}

/* What a run gave: the whole dlogits and partials buffers. */
typedef struct result {
    float *dlogits, *partials;
    size_t count;
} result;

static porta_status run(porta_context *ctx, const problem *p, device_bufs *d, size_t split,
                        result *out)
{
    const size_t nd = OFF_DLOGITS + p->n + PAD, np = OFF_PARTIALS + MAX_PARTIALS + PAD;
    out->dlogits = malloc(nd * sizeof(float));
    out->partials = malloc(np * sizeof(float));
    if (!out->dlogits || !out->partials)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    porta_status st = porta__cross_entropy_split(
        ctx, porta_view_at(d->logits, OFF_LOGITS), porta_view_at(d->labels, OFF_LABELS), p->rows,
        p->classes, p->scale, porta_view_at(d->dlogits, OFF_DLOGITS),
        porta_view_at(d->partials, OFF_PARTIALS), &out->count, split);
    if (!st)
        st = porta_buffer_read(ctx, d->dlogits, 0, nd * sizeof(float), out->dlogits);
    if (!st)
        st = porta_buffer_read(ctx, d->partials, 0, np * sizeof(float), out->partials);
    return st;
}

static void result_free(result *r)
{
    free(r->dlogits);
    free(r->partials);
}

static double partial_sum(const result *r)
{
    double s = 0.0;
    for (size_t g = 0; g < r->count; g++)
        s += (double)r->partials[OFF_PARTIALS + g];
    return s;
}

/* The loss bound: per row, exp/log/division errors of a few ulp relative
 * to the row's terms, plus the float sums of the partials. */
static double loss_tolerance(const problem *p)
{
    double tol = 0.0, mag = 0.0;
    for (size_t r = 0; r < p->rows; r++) {
        const float *x = p->logits + r * p->classes;
        double m = 0.0;
        for (size_t c = 0; c < p->classes; c++)
            m = fmax(m, fabs((double)x[c]));
        tol += 1e-5 * (fabs(p->row_loss[r]) + 2.0 * m + 1.0);
        mag += fabs(p->row_loss[r]);
    }
    return tol + (double)p->rows * ldexp(1.0, -23) * mag;
}

/* Count dlogits outside |got - want| <= scale * (2e-5 |want / scale| + 2e-6),
 * and canaries that changed. */
static size_t compare_dlogits(const problem *p, const float *got, size_t *first)
{
    size_t bad = 0;
    const double s = fabs((double)p->scale);
    for (size_t i = 0; i < OFF_DLOGITS + p->n + PAD; i++) {
        int ok;
        if (i < OFF_DLOGITS || i >= OFF_DLOGITS + p->n) {
            ok = got[i] == CANARY;
        } else {
            const double w = (double)p->want[i - OFF_DLOGITS];
            ok = fabs((double)got[i] - w) <= 2e-5 * fabs(w) + 2e-6 * s;
        }
        if (!ok && bad++ == 0)
            *first = i;
    }
    return bad;
}

static void check_result(test_state *t, const char *dev, const problem *p, const result *r)
{
    const size_t groups = p->rows < MAX_PARTIALS ? p->rows : MAX_PARTIALS;
    CHECK(t, r->count == groups, "%s %zux%zu: %zu partials, want %zu", dev, p->rows, p->classes,
          r->count, groups);
    CHECK(t, r->partials[0] == CANARY && r->partials[OFF_PARTIALS + r->count] == CANARY,
          "%s %zux%zu: partials written outside their range", dev, p->rows, p->classes);
    const double got = partial_sum(r), tol = loss_tolerance(p);
    CHECK(t, fabs(got - p->loss) <= tol, "%s %zux%zu: loss %.9g, want %.9g (tol %.3g)", dev,
          p->rows, p->classes, got, p->loss, tol);
    size_t first = 0, bad = compare_dlogits(p, r->dlogits, &first);
    CHECK(t, bad == 0, "%s %zux%zu: %zu dlogits wrong, first [%zu] = %.9g, want %.9g", dev, p->rows,
          p->classes, bad, first, (double)r->dlogits[first],
          first >= OFF_DLOGITS && first < OFF_DLOGITS + p->n ? (double)p->want[first - OFF_DLOGITS]
                                                             : (double)CANARY);
}

/* One shape: check against the reference, then a second run must give the
 * same bits. */
static void check_shape(test_state *t, porta_context *ctx, const char *dev, const xshape *s,
                        size_t split, uint32_t seed)
{
    problem p;
    device_bufs d = {0};
    result r1 = {0}, r2 = {0};
    porta_status st = problem_make(&p, s->rows, s->classes, s->range, seed)
                          ? PORTA_OK
                          : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st) {
        problem_reference(&p);
        st = bufs_create(ctx, &p, &d);
    }
    if (!st)
        st = run(ctx, &p, &d, split, &r1);
    if (!st)
        st = run(ctx, &p, &d, split, &r2);
    CHECK_OK(t, ctx, st, "cross_entropy run");
    if (!st) {
        check_result(t, dev, &p, &r1);
        const size_t nd = OFF_DLOGITS + p.n + PAD;
        CHECK(t,
              memcmp(r1.dlogits, r2.dlogits, nd * sizeof(float)) == 0 &&
                  memcmp(r1.partials, r2.partials, (OFF_PARTIALS + r1.count) * sizeof(float)) == 0,
              "%s %zux%zu: a second run gave other bits", dev, p.rows, p.classes);
    }
    result_free(&r1);
    result_free(&r2);
    bufs_destroy(ctx, &d);
    problem_free(&p);
}

/* dlogits written over the logits (same buffer and offset). */
static void check_in_place(test_state *t, porta_context *ctx, const char *dev)
{
    problem p;
    porta_buffer *x = NULL, *lab = NULL, *part = NULL;
    float *got = NULL, partials[MAX_PARTIALS];
    size_t count = 0;
    porta_status st =
        problem_make(&p, 50, 300, 20.0f, 77) ? PORTA_OK : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st) {
        problem_reference(&p);
        got = malloc(p.n * sizeof(float));
        st = got ? porta_buffer_create(ctx, p.n * sizeof(float), &x)
                 : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    }
    if (!st)
        st = porta_buffer_create(ctx, p.rows * sizeof(uint32_t), &lab);
    if (!st)
        st = porta_buffer_create(ctx, MAX_PARTIALS * sizeof(float), &part);
    if (!st)
        st = porta_buffer_write(ctx, x, 0, p.n * sizeof(float), p.logits);
    if (!st)
        st = porta_buffer_write(ctx, lab, 0, p.rows * sizeof(uint32_t), p.labels);
    if (!st)
        st = porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), p.rows, p.classes,
                                 p.scale, porta_view_of(x), porta_view_of(part), &count);
    if (!st)
        st = porta_buffer_read(ctx, x, 0, p.n * sizeof(float), got);
    if (!st)
        st = porta_buffer_read(ctx, part, 0, count * sizeof(float), partials);
    CHECK_OK(t, ctx, st, "cross_entropy in place");
    if (!st) {
        double sum = 0.0;
        for (size_t g = 0; g < count; g++)
            sum += (double)partials[g];
        CHECK(t, fabs(sum - p.loss) <= loss_tolerance(&p), "%s in place: loss %.9g, want %.9g", dev,
              sum, p.loss);
        size_t bad = 0;
        for (size_t i = 0; i < p.n; i++)
            bad += !(fabs((double)got[i] - (double)p.want[i]) <=
                     2e-5 * fabs((double)p.want[i]) + 2e-6 * (double)p.scale);
        CHECK(t, bad == 0, "%s in place: %zu dlogits wrong", dev, bad);
    }
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, lab);
    porta_buffer_destroy(ctx, part);
    free(got);
    problem_free(&p);
}

/* A label >= classes: a NaN loss, NaN dlogits in that row only. */
static void check_bad_label(test_state *t, porta_context *ctx, const char *dev)
{
    problem p;
    device_bufs d = {0};
    result r = {0};
    porta_status st = problem_make(&p, 7, 3, 4.0f, 5) ? PORTA_OK : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st) {
        p.labels[4] = 3;
        problem_reference(&p);
        st = bufs_create(ctx, &p, &d);
    }
    if (!st)
        st = run(ctx, &p, &d, 0, &r);
    CHECK_OK(t, ctx, st, "cross_entropy bad label");
    if (!st) {
        CHECK(t, isnan(p.loss) && isnan(partial_sum(&r)), "%s bad label: loss %g, want NaN", dev,
              partial_sum(&r));
        size_t bad = 0;
        for (size_t i = 0; i < p.n; i++) {
            const float g = r.dlogits[OFF_DLOGITS + i];
            const int in_row = i / p.classes == 4;
            bad += in_row ? !isnan(g) : !(fabs((double)g - (double)p.want[i]) < 1e-5);
        }
        CHECK(t, bad == 0, "%s bad label: %zu dlogits wrong", dev, bad);
    }
    result_free(&r);
    bufs_destroy(ctx, &d);
    problem_free(&p);
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
 * 700 (other invocations) and labels cycling through 3, 700, 5; row 3 is
 * all zeros (argmax 0, label 0); row 4 has a NaN at 9 (label 9); row 5 two
 * NaNs at 11 and 600 (label 600, wrong). */
static void make_ties(problem *p)
{
    for (size_t r = 0; r < p->rows; r++) {
        float *x = p->logits + r * p->classes;
        x[3] = 5.0f;
        x[700] = 5.0f;
        static const uint32_t cycle[] = {3, 700, 5};
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

static void check_accuracy(test_state *t, porta_context *ctx, const char *dev)
{
    /* Random problems with every label right half the time. */
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        problem p;
        if (!problem_make(&p, shapes[i].rows, shapes[i].classes, 4.0f, 300 + (uint32_t)i)) {
            CHECK(t, 0, "out of host memory");
            problem_free(&p);
            continue;
        }
        for (size_t r = 0; r < p.rows; r += 2) {
            const float *x = p.logits + r * p.classes;
            uint32_t best = 0;
            for (uint32_t c = 1; c < p.classes; c++)
                best = x[c] > x[best] ? c : best;
            p.labels[r] = best;
        }
        size_t got = 0, split = 0;
        porta_status st = device_accuracy(ctx, &p, 0, &got);
        if (!st)
            st = device_accuracy(ctx, &p, 2, &split);
        CHECK_OK(t, ctx, st, "accuracy");
        const size_t want = porta_ref_accuracy_count(p.logits, p.labels, p.rows, p.classes);
        CHECK(t, !st && split == want,
              "%s accuracy %zux%zu in dispatches of 2 rows a group: %zu, want %zu", dev, p.rows,
              p.classes, split, want);
        CHECK(t, !st && got == want && want >= (p.rows + 1) / 2,
              "%s accuracy %zux%zu: %zu, want %zu", dev, p.rows, p.classes, got, want);
        problem_free(&p);
    }
    problem p;
    if (!problem_make(&p, 9, 1000, 4.0f, 9)) {
        CHECK(t, 0, "out of host memory");
        problem_free(&p);
        return;
    }
    make_ties(&p);
    size_t got = 0;
    porta_status st = device_accuracy(ctx, &p, 0, &got);
    CHECK_OK(t, ctx, st, "accuracy ties");
    /* Rows 0, 6 (label 3) right; row 3 (zeros), row 4 (NaN) right. */
    const size_t want = porta_ref_accuracy_count(p.logits, p.labels, p.rows, p.classes);
    CHECK(t, want == 4, "reference accuracy ties: %zu, want 4", want);
    CHECK(t, !st && got == want, "%s accuracy ties: %zu, want %zu", dev, got, want);
    problem_free(&p);
}

/* The optimizer consumes the partials: its metrics show the mean loss, and
 * a bad label's NaN skips the step. */
typedef struct e2e {
    porta_optimizer *opt;
    problem p;
    device_bufs d;
} e2e;

static porta_status e2e_setup(porta_context *ctx, e2e *e)
{
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    if (!problem_make(&e->p, 100, 10, 6.0f, 123))
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    porta_status st = porta_optimizer_create(ctx, &oc, &sc, &e->opt);
    if (!st)
        st = porta_optimizer_add_tensor(ctx, e->opt, 16, 0, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, e->opt);
    if (!st)
        st = bufs_create(ctx, &e->p, &e->d);
    return st;
}

/* One cross entropy + optimizer step; *m is the step's metrics. */
static porta_status e2e_step(porta_context *ctx, e2e *e, porta_step_metrics *m)
{
    size_t count = 0, got = 0;
    porta_status st = porta_buffer_write(ctx, e->d.labels, OFF_LABELS * sizeof(uint32_t),
                                         e->p.rows * sizeof(uint32_t), e->p.labels);
    if (!st)
        st = porta_cross_entropy(ctx, porta_view_at(e->d.logits, OFF_LOGITS),
                                 porta_view_at(e->d.labels, OFF_LABELS), e->p.rows, e->p.classes,
                                 e->p.scale, porta_view_at(e->d.dlogits, OFF_DLOGITS),
                                 porta_view_at(e->d.partials, OFF_PARTIALS), &count);
    if (!st)
        st = porta_optimizer_step(ctx, e->opt, porta_view_at(e->d.partials, OFF_PARTIALS), count,
                                  1.0f / (float)e->p.rows);
    if (!st)
        st = porta_optimizer_metrics(ctx, e->opt, m, 1, &got, NULL);
    if (!st && got != 1)
        st = PORTA_ERROR_MISMATCH;
    return st;
}

static void check_optimizer(test_state *t, porta_context *ctx, const char *dev)
{
    e2e e = {0};
    porta_step_metrics m = {0};
    porta_status st = e2e_setup(ctx, &e);
    if (!st) {
        problem_reference(&e.p);
        st = e2e_step(ctx, &e, &m);
    }
    CHECK_OK(t, ctx, st, "cross_entropy + optimizer step");
    if (!st) {
        const double want = e.p.loss / (double)e.p.rows;
        const double tol = loss_tolerance(&e.p) / (double)e.p.rows + 1e-6 * fabs(want);
        CHECK(t, fabs((double)m.loss - want) <= tol && !m.skipped,
              "%s optimizer: loss %.9g (skipped %d), want %.9g (tol %.3g)", dev, (double)m.loss,
              m.skipped, want, tol);
        e.p.labels[17] = 10;
        st = e2e_step(ctx, &e, &m);
        CHECK_OK(t, ctx, st, "cross_entropy bad label + optimizer step");
        CHECK(t, !st && isnan(m.loss) && m.skipped, "%s optimizer bad label: loss %g skipped %d",
              dev, (double)m.loss, m.skipped);
    }
    porta_optimizer_destroy(ctx, e.opt);
    bufs_destroy(ctx, &e.d);
    problem_free(&e.p);
}

/* Each call with one argument wrong: the status and the argument named. */
static void expect_error(test_state *t, porta_context *ctx, const char *dev, porta_status got,
                         const char *what, const char *name)
{
    CHECK(t, got == PORTA_ERROR_INVALID_ARGUMENT, "%s %s: got %s, want INVALID_ARGUMENT", dev, what,
          porta_strerror(got));
    CHECK(t, strstr(porta_context_message(ctx), name) != NULL,
          "%s %s: message '%s' does not name %s", dev, what, porta_context_message(ctx), name);
}

static void check_errors(test_state *t, porta_context *ctx, const char *dev)
{
    porta_buffer *x = NULL, *lab = NULL, *part = NULL;
    size_t count = 0, correct = 0;
    porta_status st = porta_buffer_create(ctx, 20 * sizeof(float), &x);
    if (!st)
        st = porta_buffer_create(ctx, 4 * sizeof(uint32_t), &lab);
    if (!st)
        st = porta_buffer_create(ctx, 2 * sizeof(float), &part);
    CHECK_OK(t, ctx, st, "error-test buffers");
    if (!st) {
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_of(x), porta_view_none(), 4, 5, 1.0f,
                                         porta_view_of(x), porta_view_of(part), &count),
                     "labels NULL", "labels");
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_of(x), porta_view_at(lab, 1), 4, 5, 1.0f,
                                         porta_view_of(x), porta_view_of(part), &count),
                     "labels short", "labels");
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_at(x, 1), porta_view_of(lab), 4, 5, 1.0f,
                                         porta_view_of(x), porta_view_of(part), &count),
                     "logits short", "logits");
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), 4, 5, 1.0f,
                                         porta_view_at(x, 2), porta_view_of(part), &count),
                     "dlogits short", "dlogits");
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), 4, 5, 1.0f,
                                         porta_view_of(x), porta_view_of(part), &count),
                     "partials short", "loss_partials");
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), 2, 5, 1.0f,
                                         porta_view_of(x), porta_view_of(part), NULL),
                     "partials_count NULL", "partials_count");
        expect_error(t, ctx, dev,
                     porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), 2, 0, 1.0f,
                                         porta_view_of(x), porta_view_of(part), &count),
                     "classes 0", "classes");
        expect_error(
            t, ctx, dev,
            porta_accuracy_count(ctx, porta_view_of(x), porta_view_of(lab), 5, 4, &correct),
            "accuracy labels short", "labels");
        expect_error(t, ctx, dev,
                     porta_accuracy_count(ctx, porta_view_of(x), porta_view_of(lab), 4, 5, NULL),
                     "accuracy correct NULL", "correct");
        st = porta_cross_entropy(ctx, porta_view_of(x), porta_view_of(lab), 0, 5, 1.0f,
                                 porta_view_of(x), porta_view_of(part), &count);
        CHECK(t, st == PORTA_OK && count == 0, "%s rows 0: %s, count %zu", dev, porta_strerror(st),
              count);
        st = porta_accuracy_count(ctx, porta_view_of(x), porta_view_of(lab), 0, 5, &correct);
        CHECK(t, st == PORTA_OK && correct == 0, "%s accuracy rows 0: %s", dev, porta_strerror(st));
    }
    porta_buffer_destroy(ctx, x);
    porta_buffer_destroy(ctx, lab);
    porta_buffer_destroy(ctx, part);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++)
        check_shape(t, ctx, info->spec, &shapes[i], 0, 1000 + (uint32_t)i);
    /* Several dispatches adding into the partials (1 and 3 rows a group). */
    const xshape split_1 = {200, 50, 80.0f}, split_3 = {1000, 10, 4.0f};
    check_shape(t, ctx, info->spec, &split_1, 1, 2000);
    check_shape(t, ctx, info->spec, &split_3, 3, 2001);
    check_in_place(t, ctx, info->spec);
    check_bad_label(t, ctx, info->spec);
    check_accuracy(t, ctx, info->spec);
    check_optimizer(t, ctx, info->spec);
    check_errors(t, ctx, info->spec);
}

/* The reference's dlogits (grad_scale 1) against central differences of
 * its summed loss, in double, at logits k / 64 perturbed by 2^-8 (exact
 * in float). */
static void check_finite_differences(test_state *t)
{
    enum { ROWS = 4, CLASSES = 6 };
    float x[ROWS * CLASSES], grad[ROWS * CLASSES];
    uint32_t labels[ROWS] = {0, 5, 2, 3}, seed = 42;
    for (size_t i = 0; i < ROWS * CLASSES; i++)
        x[i] = (float)((int)(next_u32(&seed) % 257) - 128) / 64.0f;
    porta_ref_cross_entropy(x, labels, ROWS, CLASSES, 1.0f, grad, NULL);
    const float h = 1.0f / 256.0f;
    size_t bad = 0;
    for (size_t i = 0; i < ROWS * CLASSES; i++) {
        const float keep = x[i];
        x[i] = keep + h;
        const double up = porta_ref_cross_entropy(x, labels, ROWS, CLASSES, 1.0f, NULL, NULL);
        x[i] = keep - h;
        const double down = porta_ref_cross_entropy(x, labels, ROWS, CLASSES, 1.0f, NULL, NULL);
        x[i] = keep;
        const double fd = (up - down) / (2.0 * (double)h);
        bad += !(fabs(fd - (double)grad[i]) <= 1e-5);
    }
    CHECK(t, bad == 0, "reference dlogits: %zu differ from finite differences", bad);
}

int main(void)
{
    test_init();
    test_state t = {0};
    check_finite_differences(&t);
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
