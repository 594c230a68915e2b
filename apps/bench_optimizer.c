/* bench_optimizer.c: the fused optimizer step against the streaming
 * roofline (bench_optimizer.h), as porta-bench optimizer and porta-check's
 * probe measure it. */
#define _POSIX_C_SOURCE 200809L
#include <stdlib.h>
#include <time.h>

#include "bench_optimizer.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The step reads its loss as a training graph leaves it: partial sums,
 * one per workgroup of the cross-entropy (porta_graph_cross_entropy
 * makes at most 64), here each 1/64 so the loss is 1. */
#define BENCH_LOSS_PARTIALS 64

/* An optimizer over n parameters with AdamW + GreedyLR, warmed up (built,
 * every page touched). */
typedef struct bench_step {
    porta_optimizer *opt;
    porta_buffer *loss;
} bench_step;

static void step_destroy(porta_context *ctx, bench_step *b)
{
    porta_buffer_destroy(ctx, b->loss);
    porta_optimizer_destroy(ctx, b->opt);
}

static porta_status step_create(porta_context *ctx, size_t n, bool check_norm, bench_step *b)
{
    *b = (bench_step){NULL, NULL};
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    oc.check_gradients = check_norm;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    porta_buffer *params = NULL, *grads = NULL;
    porta_status st = porta_optimizer_create(ctx, &oc, &sc, &b->opt);
    if (!st)
        st = porta_optimizer_add_tensor(ctx, b->opt, n, 0, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, b->opt);
    if (!st)
        st = porta_optimizer_arenas(ctx, b->opt, &params, &grads, NULL);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(grads), n, 1e-3f);
    if (!st)
        st = porta_buffer_create(ctx, sizeof(float) * BENCH_LOSS_PARTIALS, &b->loss);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(b->loss), BENCH_LOSS_PARTIALS,
                            1.0f / BENCH_LOSS_PARTIALS);
    for (int i = 0; i < 3 && !st; i++) /* warm up: build, first touch */
        st = porta_optimizer_step(ctx, b->opt, porta_view_of(b->loss), BENCH_LOSS_PARTIALS, 1.0f);
    if (!st)
        st = porta_finish(ctx);
    return st;
}

/* Milliseconds per step over `steps` steps, and the host synchronisations
 * per step (backend counters). */
static porta_status time_steps(porta_context *ctx, bench_step *b, int steps, double *ms,
                               double *syncs)
{
    porta_counters before, after;
    porta_counters_get(ctx, &before);
    double t0 = now_s();
    porta_status st = PORTA_OK;
    for (int i = 0; i < steps && !st; i++)
        st = porta_optimizer_step(ctx, b->opt, porta_view_of(b->loss), BENCH_LOSS_PARTIALS, 1.0f);
    porta_counters_get(ctx, &after);
    if (!st)
        st = porta_finish(ctx);
    *ms = (now_s() - t0) * 1e3 / steps;
    if (syncs)
        *syncs = (double)((after.host_waits - before.host_waits) +
                          (after.device_reads - before.device_reads)) /
                 steps;
    return st;
}

/* A layout of the stream kernel: workgroup size and elements per
 * invocation (porta_vec_stream's arguments; 0, 0: the optimizer step's). */
typedef struct stream_layout {
    unsigned local_size, per_invocation;
} stream_layout;

/* Milliseconds per stream dispatch in layout `l`. */
static porta_status time_stream(porta_context *ctx, porta_buffer *const s[4], size_t n, int steps,
                                stream_layout l, double *ms)
{
    double t0 = now_s();
    porta_status st = PORTA_OK;
    for (int i = 0; i < steps && !st; i++)
        st = porta_vec_stream(ctx, porta_view_of(s[0]), porta_view_of(s[1]), porta_view_of(s[2]),
                              porta_view_of(s[3]), n, l.local_size, l.per_invocation);
    if (!st)
        st = porta_finish(ctx);
    *ms = (now_s() - t0) * 1e3 / steps;
    return st;
}

/* The stream kernel's layouts: the optimizer step's own, the default
 * workgroup with 1, 4, 16 and 64 elements per invocation, and, where the
 * device says how wide its subgroups are, workgroups of one subgroup with
 * 64 per invocation. The roofline is the fastest, so the ratio does not
 * flatter the step with a slow stream. Returns how many. */
#define STREAM_LAYOUTS_MAX 6
static size_t stream_layouts(const porta_device_info *info, stream_layout out[STREAM_LAYOUTS_MAX])
{
    static const stream_layout fixed[] = {{0, 0}, {0, 1}, {0, 4}, {0, 16}, {0, 64}};
    size_t count = 0;
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        out[count++] = fixed[i];
    const unsigned sub = info->subgroup_max;
    if (sub > 0 && (sub & (sub - 1)) == 0 && sub <= info->max_workgroup_size)
        out[count++] = (stream_layout){sub, 64};
    return count;
}

/* The rounds porta-bench optimizer measures (odd: one is the median). */
#define ROUNDS 21

/* One round's measurement. */
typedef struct round_result {
    double step_ms;                       /* ms per fused step */
    double stream_ms[STREAM_LAYOUTS_MAX]; /* ms per stream dispatch, per layout */
} round_result;

/* A round's step and one layout's stream, ordered by their ratio. */
typedef struct round_pair {
    double step_ms, stream_ms;
} round_pair;

static int by_ratio(const void *a, const void *b)
{
    const round_pair *x = a, *y = b;
    const double rx = x->stream_ms / x->step_ms, ry = y->stream_ms / y->step_ms;
    return (rx > ry) - (rx < ry);
}

/* Layout l's median round by ratio. */
static round_pair median_round(const round_result *rounds, size_t l)
{
    round_pair pairs[ROUNDS];
    for (int k = 0; k < ROUNDS; k++)
        pairs[k] = (round_pair){rounds[k].step_ms, rounds[k].stream_ms[l]};
    qsort(pairs, ROUNDS, sizeof(pairs[0]), by_ratio);
    return pairs[ROUNDS / 2];
}

/* The step and every stream layout in ROUNDS rounds of steps / ROUNDS runs
 * each (at least 1). A round times the step, then each layout right after
 * it: a moment apart, so whatever else the machine does at that moment
 * slows both alike. For each layout the median round by ratio (stream time
 * over step time) stands for it, and the roofline is the layout whose
 * median is the lowest ratio, the fastest stream. The figures are that
 * round's (step time, stream time, their ratio). A median, not each
 * side's fastest round, because the fastest of several noisy samples is
 * luck: with five layouts the stream would get five draws to the step's
 * one, and a round that other work disturbed more on one side than the
 * other moves a median nowhere. */
porta_status bench_optimizer_step_and_stream(porta_context *ctx, size_t n, int steps,
                                             bench_optimizer_result *r)
{
    const int per_round = steps >= ROUNDS ? steps / ROUNDS : 1;
    bench_step b;
    porta_buffer *s[4] = {NULL, NULL, NULL, NULL};
    porta_status st = step_create(ctx, n, false, &b);
    for (int i = 0; i < 4 && !st; i++) {
        st = porta_buffer_create(ctx, n * sizeof(float), &s[i]);
        if (!st)
            st = porta_vec_fill(ctx, porta_view_of(s[i]), n, 0.25f * (float)i);
    }
    porta_device_info info;
    if (!st)
        st = porta_device_current(ctx, &info);
    stream_layout layouts[STREAM_LAYOUTS_MAX];
    const size_t count = st ? 0 : stream_layouts(&info, layouts);
    for (size_t l = 0; l < count && !st; l++) /* warm up: build */
        st = porta_vec_stream(ctx, porta_view_of(s[0]), porta_view_of(s[1]), porta_view_of(s[2]),
                              porta_view_of(s[3]), n, layouts[l].local_size,
                              layouts[l].per_invocation);
    if (!st)
        st = porta_finish(ctx);
    round_result rounds[ROUNDS];
    r->host_syncs_per_step = 0.0;
    for (int k = 0; k < ROUNDS && !st; k++) {
        double syncs = 0.0;
        st = time_steps(ctx, &b, per_round, &rounds[k].step_ms, &syncs);
        if (syncs > r->host_syncs_per_step)
            r->host_syncs_per_step = syncs;
        for (size_t l = 0; l < count && !st; l++)
            st = time_stream(ctx, s, n, per_round, layouts[l], &rounds[k].stream_ms[l]);
    }
    for (size_t l = 0; l < count && !st; l++) {
        const round_pair m = median_round(rounds, l);
        if (l == 0 || m.stream_ms / m.step_ms < r->stream_ms / r->ms_per_step) {
            r->ms_per_step = m.step_ms;
            r->stream_ms = m.stream_ms;
        }
    }
    for (int i = 0; i < 4; i++)
        porta_buffer_destroy(ctx, s[i]);
    step_destroy(ctx, &b);
    return st;
}

/* The step with the gradient-norm pass (no roofline: not in the ratio). */
porta_status bench_optimizer_with_norm(porta_context *ctx, size_t n, int steps, double *ms)
{
    bench_step b;
    porta_status st = step_create(ctx, n, true, &b);
    if (!st)
        st = time_steps(ctx, &b, steps, ms, NULL);
    step_destroy(ctx, &b);
    return st;
}
