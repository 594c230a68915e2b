/* test_optimizer: the fused optimizer-plus-scheduler step on every device.
 *
 *  - AdamW and SGD (momentum, Nesterov, weight decay, clipping) over 50
 *    steps against the C reference (lib/ref), two parameter groups, awkward sizes;
 *  - zero host waits and zero device reads during a stretch of steps;
 *  - a non-finite loss or gradient skips the update (weights and moments
 *    bit for bit unchanged) and is counted;
 *  - GreedyLR on the fused path follows the host implementation step by
 *    step, observing the training loss; evaluation mode observes only
 *    porta_optimizer_observe();
 *  - save at step 20, restore into a fresh optimizer, continue: the same
 *    bits as the uninterrupted run;
 *  - invalid configurations are refused with a message naming the value;
 *  - the layouts PORTA_OPTIM_VARIANT, PORTA_OPTIM_PER_INVOCATION,
 *    PORTA_OPTIM_LOCAL_SIZE and PORTA_OPTIM_NORM_CHUNK select (the
 *    per-workgroup scalars, several elements per invocation, small
 *    workgroups, a norm summed by several workgroups) give the same
 *    results, and bad values are refused;
 *  - PORTA_OPTIM_DIVISION: the corrected division and square root (the
 *    default on GPUs under Vulkan) and the device's own give the same
 *    results, and a bad value is refused;
 *  - porta_optimizer_tuning: each field alone forces what its variable
 *    forces (the same dispatches per step and bits), wins over a
 *    conflicting variable, and a value it cannot take is refused naming
 *    the field;
 *  - every scheduler kind on the fused path against the host scheduler;
 *  - the streaming kernel porta-bench compares the step with
 *    (porta_vec_stream) against the C reference (lib/ref), in several layouts.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "internal.h"
#include "optim/optimizer_internal.h"
#include "optim/scheduler.h"
#include "ref/ref.h"

/* Three tensors in two groups: sizes not divisible by anything, the
 * groups (3333 and 4100 elements, each padded to a multiple of 2048) large
 * enough for several whole blocks in every device's layout (256 elements
 * on PoCL and GPUs, 2048 on llvmpipe), and, in the checked layouts that
 * tuning overrides make, for blocks straddling the group boundary and a
 * partial last one. */
static const size_t tensor_n[] = {3000, 4100, 333};
static const unsigned tensor_group[] = {0, 1, 0};
#define N_TENSORS 3

/* A deterministic value in [-1, 1) for (seed, step, i). */
static float noise(uint32_t seed, uint32_t step, uint32_t i)
{
    uint32_t h = seed * 0x9E3779B1u ^ step * 0x85EBCA77u ^ i * 0xC2B2AE3Du;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    h *= 0x297A2D39u;
    h ^= h >> 15;
    return (float)((double)h / 4294967296.0 * 2.0 - 1.0);
}

/* Host mirror of the model: per tensor params, grads, moments. */
typedef struct model {
    porta_optimizer *opt;
    porta_buffer *params, *grads, *loss;
    size_t offset[N_TENSORS];
    size_t elements;
    float *host_grad; /* the arena layout, for uploads */
} model;

static porta_status model_create(porta_context *ctx, const porta_optimizer_config *oc,
                                 const porta_scheduler_config *sc, model *m)
{
    memset(m, 0, sizeof(*m));
    porta_status st = porta_optimizer_create(ctx, oc, sc, &m->opt);
    for (size_t i = 0; i < N_TENSORS && !st; i++)
        st = porta_optimizer_add_tensor(ctx, m->opt, tensor_n[i], tensor_group[i], NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, m->opt);
    for (size_t i = 0; i < N_TENSORS && !st; i++)
        st = porta_optimizer_tensor_offset(ctx, m->opt, i, &m->offset[i]);
    if (!st)
        st = porta_optimizer_arenas(ctx, m->opt, &m->params, &m->grads, &m->elements);
    if (!st)
        st = porta_buffer_create(ctx, 4 * sizeof(float), &m->loss);
    if (!st) {
        m->host_grad = calloc(m->elements, sizeof(float));
        float *p = calloc(m->elements, sizeof(float));
        for (size_t t = 0; t < N_TENSORS; t++)
            for (size_t i = 0; i < tensor_n[t]; i++)
                p[m->offset[t] + i] = noise(7, 0, (uint32_t)(t * 10000 + i));
        st = porta_buffer_write(ctx, m->params, 0, m->elements * sizeof(float), p);
        free(p);
    }
    return st;
}

static void model_destroy(porta_context *ctx, model *m)
{
    porta_optimizer_destroy(ctx, m->opt);
    porta_buffer_destroy(ctx, m->loss);
    free(m->host_grad);
}

/* Upload step s's gradients and loss (two partials), then step. */
static porta_status model_step(porta_context *ctx, model *m, uint32_t s, float loss)
{
    for (size_t t = 0; t < N_TENSORS; t++)
        for (size_t i = 0; i < tensor_n[t]; i++)
            m->host_grad[m->offset[t] + i] = noise(11, s, (uint32_t)(t * 10000 + i));
    float partials[2] = {loss * 0.25f, loss * 0.75f};
    porta_status st =
        porta_buffer_write(ctx, m->grads, 0, m->elements * sizeof(float), m->host_grad);
    if (!st)
        st = porta_buffer_write(ctx, m->loss, 0, sizeof(partials), partials);
    return st ? st : porta_optimizer_step(ctx, m->opt, porta_view_of(m->loss), 2, 1.0f);
}

static float *read_params(porta_context *ctx, model *m)
{
    float *p = malloc(m->elements * sizeof(float));
    if (porta_buffer_read(ctx, m->params, 0, m->elements * sizeof(float), p) != PORTA_OK) {
        free(p);
        return NULL;
    }
    return p;
}

static double rel_diff(float a, float b)
{
    double d = fabs((double)a - b);
    double s = fmax(fabs((double)a), fabs((double)b));
    return s > 0 ? d / s : d;
}

/* Relative difference of parameters, which cross zero as they train:
 * values below 0.01 in magnitude are compared relative to 0.01. */
static double param_diff(float got, float want)
{
    return fabs((double)got - want) / fmax(fabs((double)want), 0.01);
}

/* ---- optimizers against the reference ---------------------------------- */

static porta_optimizer_config two_groups(porta_optimizer_kind kind)
{
    porta_optimizer_config c = porta_optimizer_config_default(kind);
    c.n_groups = 2;
    c.groups[0] =
        (porta_param_group){.lr = 0.01f, .min_lr = 1e-5f, .max_lr = 1.0f, .weight_decay = 0.1f};
    c.groups[1] =
        (porta_param_group){.lr = 0.003f, .min_lr = 1e-5f, .max_lr = 1.0f, .weight_decay = 0.0f};
    return c;
}

/* SGD with Nesterov momentum 0.9 over two_groups(), clipped at clip_norm
 * (0: no clipping, and then no norm pass either). */
static porta_optimizer_config nesterov_sgd(float clip_norm)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_SGD);
    c.momentum = 0.9f;
    c.nesterov = true;
    c.clip_norm = clip_norm;
    c.check_gradients = clip_norm > 0.0f;
    return c;
}

static void reference_run(const porta_optimizer_config *c, const model *m, int steps, float *params)
{
    float *mom = calloc(m->elements, sizeof(float));
    float *vel = calloc(m->elements, sizeof(float));
    float *g = calloc(m->elements, sizeof(float));
    for (size_t t = 0; t < N_TENSORS; t++)
        for (size_t i = 0; i < tensor_n[t]; i++)
            params[m->offset[t] + i] = noise(7, 0, (uint32_t)(t * 10000 + i));
    for (int s = 0; s < steps; s++) {
        double sq = 0.0;
        for (size_t t = 0; t < N_TENSORS; t++)
            for (size_t i = 0; i < tensor_n[t]; i++) {
                float v = noise(11, (uint32_t)s, (uint32_t)(t * 10000 + i));
                g[m->offset[t] + i] = v;
                sq += (double)v * v;
            }
        float norm = (float)sqrt(sq);
        float coef = c->clip_norm > 0 ? fminf(c->clip_norm / (norm + 1e-6f), 1.0f) : 1.0f;
        for (size_t t = 0; t < N_TENSORS; t++) {
            const porta_param_group *pg = &c->groups[tensor_group[t]];
            size_t o = m->offset[t];
            if (c->kind == PORTA_OPTIMIZER_ADAMW)
                porta_ref_adamw_step(params + o, g + o, mom + o, vel + o, tensor_n[t], pg->lr,
                                     pg->weight_decay, c->beta1, c->beta2, c->eps, (unsigned)s + 1,
                                     coef);
            else
                porta_ref_sgd_step(params + o, g + o, mom + o, tensor_n[t], pg->lr,
                                   pg->weight_decay, c->momentum, c->dampening, c->nesterov,
                                   (unsigned)s + 1, coef);
        }
    }
    free(mom);
    free(vel);
    free(g);
}

static void check_against_reference(test_state *t, porta_context *ctx, const char *spec,
                                    const porta_optimizer_config *c, const char *what)
{
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    model m;
    porta_status st = model_create(ctx, c, &sc, &m);
    CHECK_OK(t, ctx, st, what);
    const int steps = 50;
    for (int s = 0; s < steps && !st; s++)
        st = model_step(ctx, &m, (uint32_t)s, 1.0f);
    CHECK_OK(t, ctx, st, what);
    float *got = st ? NULL : read_params(ctx, &m);
    if (got) {
        float *want = calloc(m.elements, sizeof(float));
        reference_run(c, &m, steps, want);
        double worst = 0.0;
        for (size_t i = 0; i < m.elements; i++)
            worst = fmax(worst, param_diff(got[i], want[i]));
        CHECK(t, worst <= 1e-6, "%s %s: 50 steps differ from the reference by %.3g relative", spec,
              what, worst);
        printf("  %s %s: max relative difference after 50 steps %.3g\n", spec, what, worst);
        free(want);
        free(got);
    }
    model_destroy(ctx, &m);
}

/* Eight parameter groups (the most), one tensor each, registered in
 * reverse group order: every group boundary of the element update, with
 * and without the gradient-norm pass, against the reference. */
static void check_many_groups(test_state *t, porta_context *ctx, const char *spec,
                              int check_gradients)
{
    enum { G = 8, STEPS = 10 };
    static const size_t n[G] = {5, 64, 1, 130, 7, 300, 2, 33};
    porta_optimizer_config c = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    c.n_groups = G;
    c.check_gradients = check_gradients;
    for (unsigned g = 0; g < G; g++)
        c.groups[g] = (porta_param_group){.lr = 0.001f * (float)(g + 1),
                                          .min_lr = 1e-6f,
                                          .max_lr = 1.0f,
                                          .weight_decay = g % 2 ? 0.0f : 0.05f * (float)(g + 1)};
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    porta_optimizer *opt = NULL;
    porta_buffer *params = NULL, *grads = NULL, *loss = NULL;
    size_t off[G], elements = 0;
    porta_status st = porta_optimizer_create(ctx, &c, &sc, &opt);
    for (unsigned g = G; g-- > 0 && !st;)
        st = porta_optimizer_add_tensor(ctx, opt, n[g], g, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, opt);
    for (unsigned g = 0; g < G && !st; g++)
        st = porta_optimizer_tensor_offset(ctx, opt, G - 1 - g, &off[g]);
    if (!st)
        st = porta_optimizer_arenas(ctx, opt, &params, &grads, &elements);
    if (!st)
        st = porta_buffer_create(ctx, sizeof(float), &loss);
    float one = 1.0f;
    if (!st)
        st = porta_buffer_write(ctx, loss, 0, sizeof(one), &one);
    CHECK_OK(t, ctx, st, "many groups: setup");
    if (st) { /* nothing placed: the offsets below are unset */
        porta_buffer_destroy(ctx, loss);
        porta_optimizer_destroy(ctx, opt);
        return;
    }
    float *want = calloc(elements ? elements : 1, sizeof(float));
    float *g = calloc(elements ? elements : 1, sizeof(float));
    float *mom = calloc(elements ? elements : 1, sizeof(float));
    float *vel = calloc(elements ? elements : 1, sizeof(float));
    float *got = calloc(elements ? elements : 1, sizeof(float));
    for (unsigned q = 0; q < G; q++)
        for (size_t i = 0; i < n[q]; i++)
            want[off[q] + i] = noise(5, 0, q * 1000 + (uint32_t)i);
    if (!st)
        st = porta_buffer_write(ctx, params, 0, elements * sizeof(float), want);
    for (uint32_t s = 0; s < STEPS && !st; s++) {
        for (unsigned q = 0; q < G; q++)
            for (size_t i = 0; i < n[q]; i++)
                g[off[q] + i] = noise(6, s, q * 1000 + (uint32_t)i);
        st = porta_buffer_write(ctx, grads, 0, elements * sizeof(float), g);
        if (!st)
            st = porta_optimizer_step(ctx, opt, porta_view_of(loss), 1, 1.0f);
        for (unsigned q = 0; q < G; q++)
            porta_ref_adamw_step(want + off[q], g + off[q], mom + off[q], vel + off[q], n[q],
                                 c.groups[q].lr, c.groups[q].weight_decay, c.beta1, c.beta2, c.eps,
                                 s + 1, 1.0f);
    }
    if (!st)
        st = porta_buffer_read(ctx, params, 0, elements * sizeof(float), got);
    CHECK_OK(t, ctx, st, "many groups: steps");
    double worst = 0.0;
    for (unsigned q = 0; q < G && !st; q++)
        for (size_t i = 0; i < n[q]; i++)
            worst = fmax(worst, param_diff(got[off[q] + i], want[off[q] + i]));
    CHECK(t, !st && worst <= 1e-6,
          "%s: 8 groups (%s norm pass): %d steps differ from the reference by %.3g relative", spec,
          check_gradients ? "with" : "without", STEPS, worst);
    free(want);
    free(g);
    free(mom);
    free(vel);
    free(got);
    porta_buffer_destroy(ctx, loss);
    porta_optimizer_destroy(ctx, opt);
}

/* ---- no synchronisation per step ---------------------------------------- */

/* Create a model with c and sc (its name `what` in messages), then run
 * `steps` fused steps after a finish and check they made no host wait or
 * read; *dispatches gets how many they enqueued. The model stays for the
 * caller, who destroys it. */
static porta_status run_without_sync(test_state *t, porta_context *ctx, const char *spec,
                                     const char *what, const porta_optimizer_config *c,
                                     const porta_scheduler_config *sc, uint32_t steps, model *m,
                                     unsigned long long *dispatches)
{
    char label[96];
    snprintf(label, sizeof label, "zero-sync model%s", what);
    porta_status st = model_create(ctx, c, sc, m);
    CHECK_OK(t, ctx, st, label);
    if (!st)
        st = porta_finish(ctx);
    porta_counters before, after;
    porta_counters_get(ctx, &before);
    for (uint32_t s = 0; s < steps && !st; s++)
        st = model_step(ctx, m, s, 2.0f - 0.01f * (float)s);
    if (!st)
        st = porta_submit(ctx);
    porta_counters_get(ctx, &after);
    snprintf(label, sizeof label, "zero-sync steps%s", what);
    CHECK_OK(t, ctx, st, label);
    CHECK(t, after.host_waits == before.host_waits && after.device_reads == before.device_reads,
          "%s: %u steps%s synchronised: %llu waits, %llu reads", spec, steps, what,
          (unsigned long long)(after.host_waits - before.host_waits),
          (unsigned long long)(after.device_reads - before.device_reads));
    *dispatches = (unsigned long long)(after.dispatches - before.dispatches);
    return st;
}

/* Whether the open device hands values over between the workgroups of
 * one dispatch (the gradient norm's ticket). */
static int has_handover(porta_context *ctx)
{
    porta_device_capabilities c;
    return porta_device_capabilities_get(ctx, &c) == PORTA_OK && c.group_handover;
}

/* chunk: PORTA_OPTIM_NORM_CHUNK, or NULL for the device's choice (on CPU
 * devices one workgroup sums this arena's norm; "1024" makes it ten, which
 * hand over through the ticket, reset for the next step, or without
 * hand-over through a dispatch of their own). */
static void check_zero_sync(test_state *t, porta_context *ctx, const char *spec, const char *chunk)
{
    if (chunk)
        setenv("PORTA_OPTIM_NORM_CHUNK", chunk, 1);
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_ADAMW);
    c.clip_norm = 1.0f;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.smooth = true;
    sc.window = 5;
    model m;
    unsigned long long dispatches = 0;
    char what[64];
    snprintf(what, sizeof what, " (norm chunk %s)", chunk ? chunk : "default");
    porta_status st = run_without_sync(t, ctx, spec, what, &c, &sc, 20, &m, &dispatches);
    /* The scalar pass, whose workgroups first sum the norm (the last one
     * to finish going on), and the update: two per step. Without
     * hand-over the partial sums are a dispatch of their own: three. */
    const unsigned long long per_step = has_handover(ctx) ? 2u : 3u;
    CHECK(t, dispatches == 20 * per_step,
          "%s: 20 steps with a norm%s took %llu dispatches, expected %llu per step", spec, what,
          dispatches, per_step);
    porta_step_metrics ms[32];
    size_t count = 0, lost = 0;
    if (!st) {
        st = porta_optimizer_metrics(ctx, m.opt, ms, 32, &count, &lost);
        CHECK_OK(t, ctx, st, "metrics");
    }
    CHECK(t, count == 20 && lost == 0, "%s%s: ring gave %zu entries (%zu lost), expected 20", spec,
          what, count, lost);
    for (size_t i = 0; i < count; i++)
        CHECK(t, ms[i].step == i && !ms[i].skipped && ms[i].grad_norm > 0.0f,
              "%s%s: ring entry %zu: step %llu skipped %d norm %g", spec, what, i,
              (unsigned long long)ms[i].step, ms[i].skipped, ms[i].grad_norm);
    model_destroy(ctx, &m);
    unsetenv("PORTA_OPTIM_NORM_CHUNK");
}

/* Without a gradient-norm pass (check_gradients 0, no clipping) a step is
 * the update alone in the fused variant (one dispatch), or the scalar
 * pass and the update (two): `per_step`, and no waits. */
static void check_zero_sync_without_norm(test_state *t, porta_context *ctx, const char *spec,
                                         unsigned per_step)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_ADAMW);
    c.check_gradients = false;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    model m;
    unsigned long long dispatches = 0;
    run_without_sync(t, ctx, spec, " without norm", &c, &sc, 10, &m, &dispatches);
    CHECK(t, dispatches == 10u * per_step,
          "%s: 10 steps without a norm took %llu dispatches, expected %u per step", spec,
          dispatches, per_step);
    model_destroy(ctx, &m);
}

/* ---- non-finite loss or gradient: nothing changes ----------------------- */

static void check_skip(test_state *t, porta_context *ctx, const char *spec)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_ADAMW);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.patience = 0;
    sc.factor = 0.5f;
    model m;
    porta_status st = model_create(ctx, &c, &sc, &m);
    for (uint32_t s = 0; s < 3 && !st; s++)
        st = model_step(ctx, &m, s, 1.0f);
    CHECK_OK(t, ctx, st, "skip: warm-up steps");
    float *before = st ? NULL : read_params(ctx, &m);
    /* A NaN loss, then an infinite gradient. */
    if (!st)
        st = model_step(ctx, &m, 3, NAN);
    if (!st) {
        float inf = INFINITY;
        st = porta_buffer_write(ctx, m.grads, m.offset[2] * sizeof(float), sizeof(inf), &inf);
        float partials[2] = {0.1f, 0.1f};
        if (!st)
            st = porta_buffer_write(ctx, m.loss, 0, sizeof(partials), partials);
        if (!st)
            st = porta_optimizer_step(ctx, m.opt, porta_view_of(m.loss), 2, 1.0f);
    }
    CHECK_OK(t, ctx, st, "skip: non-finite steps");
    float *after = st ? NULL : read_params(ctx, &m);
    if (before && after)
        CHECK(t, memcmp(before, after, m.elements * sizeof(float)) == 0,
              "%s: a skipped step changed the parameters", spec);
    porta_optimizer_status os;
    st = porta_optimizer_status_get(ctx, m.opt, &os);
    CHECK_OK(t, ctx, st, "status");
    CHECK(t, os.steps == 5 && os.skipped == 2, "%s: steps %llu skipped %llu, expected 5 and 2",
          spec, (unsigned long long)os.steps, (unsigned long long)os.skipped);
    /* GreedyLR saw NaN (a bad step, patience 0): the rate halved. */
    CHECK(t, os.lr[0] < 0.01f, "%s: lr after a NaN loss is %g, expected below 0.01", spec,
          os.lr[0]);
    /* The next finite step updates again, from the same moments. */
    st = model_step(ctx, &m, 5, 1.0f);
    float *later = st ? NULL : read_params(ctx, &m);
    if (after && later)
        CHECK(t, memcmp(after, later, m.elements * sizeof(float)) != 0,
              "%s: a finite step after skips did not update", spec);
    free(before);
    free(after);
    free(later);
    model_destroy(ctx, &m);
}

/* Without a gradient-norm pass only the loss can skip a step: a NaN loss
 * leaves every parameter and moment bit for bit (the save file holds them
 * all), and the step is counted as skipped. */
static void check_skip_without_norm(test_state *t, porta_context *ctx, const char *spec,
                                    porta_optimizer_kind kind)
{
    porta_optimizer_config c = two_groups(kind);
    c.check_gradients = false;
    c.momentum = kind == PORTA_OPTIMIZER_SGD ? 0.9f : c.momentum;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    char path[2][256];
    for (int i = 0; i < 2; i++)
        snprintf(path[i], sizeof(path[i]), "%s/porta-test-skip%d-%ld.bin",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", i, (long)getpid());
    model m;
    porta_status st = model_create(ctx, &c, &sc, &m);
    for (uint32_t s = 0; s < 3 && !st; s++)
        st = model_step(ctx, &m, s, 1.0f);
    float *before = st ? NULL : read_params(ctx, &m);
    /* Steps 1-3 only touch params and moments, as does a skipped step: the
     * saved state before and after the skip differ only in the counters. */
    if (!st)
        st = porta_optimizer_save(ctx, m.opt, path[0]);
    if (!st)
        st = model_step(ctx, &m, 3, NAN);
    if (!st)
        st = porta_optimizer_save(ctx, m.opt, path[1]);
    CHECK_OK(t, ctx, st, "skip without norm");
    float *after = st ? NULL : read_params(ctx, &m);
    if (before && after)
        CHECK(t, memcmp(before, after, m.elements * sizeof(float)) == 0,
              "%s: a NaN loss without a norm pass changed the parameters", spec);
    /* The moments: the tail of both save files (params, m1, m2). */
    long size[2] = {0, 0};
    unsigned char *bytes[2] = {NULL, NULL};
    for (int i = 0; i < 2; i++) {
        FILE *f = fopen(path[i], "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            size[i] = ftell(f);
            fseek(f, 0, SEEK_SET);
            bytes[i] = malloc((size_t)size[i]);
            if (fread(bytes[i], 1, (size_t)size[i], f) != (size_t)size[i])
                size[i] = -1;
            fclose(f);
        }
        unlink(path[i]);
    }
    /* SGD's m2 is a 4-byte stand-in. */
    const size_t moments =
        kind == PORTA_OPTIMIZER_ADAMW ? 2 * m.elements * sizeof(float) : (m.elements + 1) * 4;
    CHECK(t,
          bytes[0] && bytes[1] && size[0] == size[1] && (size_t)size[0] > moments &&
              memcmp(bytes[0] + size[0] - moments, bytes[1] + size[1] - moments, moments) == 0,
          "%s: a NaN loss without a norm pass changed the moments", spec);
    free(bytes[0]);
    free(bytes[1]);
    porta_optimizer_status os;
    st = porta_optimizer_status_get(ctx, m.opt, &os);
    CHECK_OK(t, ctx, st, "status");
    CHECK(t, os.steps == 4 && os.skipped == 1, "%s: steps %llu skipped %llu, expected 4 and 1",
          spec, (unsigned long long)os.steps, (unsigned long long)os.skipped);
    free(before);
    free(after);
    model_destroy(ctx, &m);
}

/* ---- GreedyLR on the fused path against the host ------------------------ */

static float loss_curve(uint32_t s)
{
    /* Falls, then plateaus with noise, with a NaN at step 90. */
    if (s == 90)
        return NAN;
    float base = s < 60 ? 3.0f - 0.04f * (float)s : 0.6f;
    return base + 0.05f * noise(3, s, 0);
}

static void check_greedy_fused(test_state *t, porta_context *ctx, const char *spec, int eval,
                               int norm)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_SGD);
    c.check_gradients = norm;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.patience = 3;
    sc.factor = 0.9f;
    sc.smooth = true;
    sc.window = 4;
    sc.cooldown = 2;
    sc.warmup = 1;
    sc.observe_eval = eval;
    model m;
    porta_status st = model_create(ctx, &c, &sc, &m);
    CHECK_OK(t, ctx, st, "greedy model");
    /* The host oracle. */
    porta_greedylr_config gc = porta_greedylr_defaults();
    gc.patience = 3;
    gc.factor = 0.9f;
    gc.smooth = 1;
    gc.window_size = 4;
    gc.cooldown = 2;
    gc.warmup = 1;
    gc.n_groups = 2;
    for (unsigned g = 0; g < 2; g++) {
        gc.initial_lr[g] = c.groups[g].lr;
        gc.min_lr[g] = c.groups[g].min_lr;
        gc.max_lr[g] = c.groups[g].max_lr;
    }
    porta_greedylr_state gs;
    porta_greedylr_init(&gs, &gc);
    const uint32_t steps = 120;
    float expect[120][2];
    for (uint32_t s = 0; s < steps && !st; s++) {
        expect[s][0] = gs.lr[0];
        expect[s][1] = gs.lr[1];
        st = model_step(ctx, &m, s, loss_curve(s));
        if (!eval)
            porta_greedylr_step(&gs, &gc, loss_curve(s));
        else if (s % 10 == 9) {
            /* Evaluations improve six times, then get worse. */
            uint32_t k = s / 10;
            float metric = k < 6 ? 1.0f - 0.1f * (float)k : 5.0f + (float)k;
            if (!st)
                st = porta_optimizer_observe(ctx, m.opt, metric);
            porta_greedylr_step(&gs, &gc, metric);
        }
    }
    CHECK_OK(t, ctx, st, "greedy steps");
    porta_step_metrics ms[120];
    size_t count = 0;
    st = porta_optimizer_metrics(ctx, m.opt, ms, 120, &count, NULL);
    CHECK_OK(t, ctx, st, "greedy metrics");
    double worst = 0.0;
    int changes = 0;
    for (size_t s = 0; s < count; s++) {
        for (unsigned g = 0; g < 2; g++)
            worst = fmax(worst, rel_diff(ms[s].lr[g], expect[s][g]));
        changes += s > 0 && ms[s].lr[0] != ms[s - 1].lr[0];
    }
    CHECK(t, count == steps && worst <= 1e-6,
          "%s: GreedyLR (%s) on the fused path: %zu steps, lr differs from the host by %.3g", spec,
          eval ? "evaluation mode" : "training loss", count, worst);
    CHECK(t, changes >= 2, "%s: GreedyLR (%s) changed the rate only %d times: test too weak", spec,
          eval ? "eval" : "train", changes);
    CHECK(t, ms[90].skipped == 1, "%s: the NaN step was not skipped", spec);
    model_destroy(ctx, &m);
}

/* Every scheduler kind on the fused path against the host scheduler: the
 * scalar pass compiles only the configured kind's code (optim_scalars.kc,
 * SPEC0), so each kind's build is checked. The rate step s used (its ring
 * entry) must be the host's rate after s observed losses. */
static void check_every_kind_fused(test_state *t, porta_context *ctx, const char *spec)
{
    enum { STEPS = 60 };
    static const porta_scheduler_kind kinds[] = {
        PORTA_SCHEDULER_CONSTANT,    PORTA_SCHEDULER_WARMUP_COSINE,   PORTA_SCHEDULER_STEP,
        PORTA_SCHEDULER_EXPONENTIAL, PORTA_SCHEDULER_COSINE_RESTARTS, PORTA_SCHEDULER_PLATEAU,
        PORTA_SCHEDULER_GREEDYLR};
    for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++) {
        porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_SGD);
        c.check_gradients = false;
        porta_scheduler_config sc = porta_scheduler_config_default(kinds[k]);
        sc.warmup_steps = 5;
        sc.total_steps = 40;
        sc.step_size = 7;
        sc.gamma = kinds[k] == PORTA_SCHEDULER_STEP ? 0.5f : 0.95f;
        sc.t_0 = 10;
        sc.t_mult = 2;
        sc.patience = 2;
        sc.factor = 0.8f;
        model m;
        porta_scheduler *host = NULL;
        porta_status st = model_create(ctx, &c, &sc, &m);
        if (!st)
            st = porta_scheduler_create(ctx, &c, &sc, &host);
        float expect[STEPS][2];
        for (uint32_t s = 0; s < STEPS && !st; s++) {
            /* Losses 30..89: falling, then a noisy plateau (no NaN). */
            st = model_step(ctx, &m, s, loss_curve(s + 30));
            if (!st)
                st = porta_scheduler_step(ctx, host, loss_curve(s + 30), expect[s], 2);
        }
        porta_step_metrics ms[STEPS];
        size_t count = 0;
        if (!st)
            st = porta_optimizer_metrics(ctx, m.opt, ms, STEPS, &count, NULL);
        CHECK_OK(t, ctx, st, "scheduler kinds on the fused path");
        double worst = 0.0;
        int changes = 0;
        for (size_t s = 1; s < count && !st; s++) {
            for (unsigned g = 0; g < 2; g++)
                worst = fmax(worst, rel_diff(ms[s].lr[g], expect[s - 1][g]));
            changes += ms[s].lr[0] != ms[s - 1].lr[0];
        }
        CHECK(t, count == STEPS && worst <= 1e-6,
              "%s: scheduler kind %d on the fused path: %zu steps, lr differs from the host by "
              "%.3g",
              spec, (int)kinds[k], count, worst);
        CHECK(t, kinds[k] == PORTA_SCHEDULER_CONSTANT ? changes == 0 : changes >= 2,
              "%s: scheduler kind %d changed the rate %d times on the fused path", spec,
              (int)kinds[k], changes);
        porta_scheduler_destroy(ctx, host);
        model_destroy(ctx, &m);
    }
}

/* ---- interrupted and restored ------------------------------------------- */

static void check_restore(test_state *t, porta_context *ctx, const char *spec, int norm)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_ADAMW);
    c.clip_norm = norm ? 5.0f : 0.0f;
    c.check_gradients = norm;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.patience = 2;
    sc.smooth = true;
    sc.window = 3;
    char path[256];
    snprintf(path, sizeof(path), "%s/porta-test-opt-%ld.bin",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (long)getpid());
    model a, b;
    porta_status st = model_create(ctx, &c, &sc, &a);
    for (uint32_t s = 0; s < 40 && !st; s++) {
        if (s == 20)
            st = porta_optimizer_save(ctx, a.opt, path);
        if (!st)
            st = model_step(ctx, &a, s, loss_curve(s));
    }
    CHECK_OK(t, ctx, st, "uninterrupted run");
    float *want = st ? NULL : read_params(ctx, &a);
    porta_optimizer_status sa;
    porta_optimizer_status_get(ctx, a.opt, &sa);

    st = model_create(ctx, &c, &sc, &b);
    if (!st)
        st = porta_optimizer_load(ctx, b.opt, path);
    CHECK_OK(t, ctx, st, "restore");
    for (uint32_t s = 20; s < 40 && !st; s++)
        st = model_step(ctx, &b, s, loss_curve(s));
    float *got = st ? NULL : read_params(ctx, &b);
    porta_optimizer_status sb;
    porta_optimizer_status_get(ctx, b.opt, &sb);
    if (want && got)
        CHECK(t,
              memcmp(want, got, a.elements * sizeof(float)) == 0 &&
                  memcmp(sa.lr, sb.lr, sizeof(sa.lr)) == 0 && sa.steps == sb.steps,
              "%s: restored run differs from the uninterrupted one", spec);
    /* A corrupted file is refused and changes nothing. */
    FILE *f = fopen(path, "r+b");
    if (f) {
        fseek(f, 200, SEEK_SET);
        fputc(0x5a, f);
        fclose(f);
    }
    st = porta_optimizer_load(ctx, b.opt, path);
    CHECK(t, st == PORTA_ERROR_CORRUPT_DATA, "%s: corrupt state file gave %s", spec,
          porta_strerror(st));
    unlink(path);
    free(want);
    free(got);
    model_destroy(ctx, &a);
    model_destroy(ctx, &b);
}

/* ---- invalid configurations -------------------------------------------- */

static void check_invalid(test_state *t, porta_context *ctx)
{
    porta_optimizer *opt = NULL;
    porta_optimizer_config c = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    struct {
        const char *field;
        porta_scheduler_config s;
    } cases[6];
    for (int i = 0; i < 6; i++)
        cases[i].s = sc;
    cases[0].field = "factor", cases[0].s.factor = 1.0f;
    cases[1].field = "factor", cases[1].s.factor = 0.0f;
    cases[2].field = "patience", cases[2].s.patience = -1;
    cases[3].field = "window", cases[3].s.window = 0;
    cases[4].field = "mode", cases[4].s.mode = "unknown";
    cases[5].field = "threshold_mode", cases[5].s.threshold_mode = "both";
    for (int i = 0; i < 6; i++) {
        porta_status st = porta_optimizer_create(ctx, &c, &cases[i].s, &opt);
        CHECK(t,
              st == PORTA_ERROR_INVALID_ARGUMENT && opt == NULL &&
                  strstr(porta_context_message(ctx), cases[i].field) != NULL,
              "invalid %s: %s: %s", cases[i].field, porta_strerror(st), porta_context_message(ctx));
    }
    porta_optimizer_config bad = c;
    bad.beta1 = 1.0f;
    porta_status st = porta_optimizer_create(ctx, &bad, &sc, &opt);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT && strstr(porta_context_message(ctx), "beta1"),
          "beta1 = 1 accepted: %s", porta_context_message(ctx));
    /* An initial lr at min_lr is allowed, with a warning. */
    porta_optimizer_config low = c;
    low.groups[0].lr = 1e-5f;
    low.groups[0].min_lr = 1e-3f;
    st = porta_optimizer_create(ctx, &low, &sc, &opt);
    CHECK(t, st == PORTA_OK && strstr(porta_context_message(ctx), "warning"),
          "lr below min_lr: %s, message \"%s\"", porta_strerror(st), porta_context_message(ctx));
    porta_optimizer_destroy(ctx, opt);
}

/* A loss of more words than PORTA_OPTIMIZER_MAX_LOSS_WORDS (or of none) is
 * refused with a message naming loss_count; the longest allowed steps. A
 * loss in one of the optimizer's arenas is refused too. */
static void check_loss_count(test_state *t, porta_context *ctx, const char *spec)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_ADAMW);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    model m;
    porta_buffer *long_loss = NULL;
    const size_t words = PORTA_OPTIMIZER_MAX_LOSS_WORDS + 1u;
    porta_status st = model_create(ctx, &c, &sc, &m);
    if (!st)
        st = porta_buffer_create(ctx, words * sizeof(float), &long_loss);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(long_loss), words, 1.0f);
    CHECK_OK(t, ctx, st, "loss_count: setup");
    if (st)
        return;
    const size_t counts[2] = {words, 0};
    for (int k = 0; k < 2; k++) {
        st = porta_optimizer_step(ctx, m.opt, porta_view_of(long_loss), counts[k], 1.0f);
        CHECK(t,
              st == PORTA_ERROR_INVALID_ARGUMENT &&
                  strstr(porta_context_message(ctx), "loss_count") != NULL,
              "%s: a loss of %zu words: %s, \"%s\"", spec, counts[k], porta_strerror(st),
              porta_context_message(ctx));
    }
    st = porta_optimizer_step(ctx, m.opt, porta_view_of(long_loss), words - 1u, 1.0f);
    CHECK_OK(t, ctx, st, "loss_count: the longest loss accepted");
    /* The loss view's length fences the words read: a count past it is
     * refused naming the loss, and takes no step. */
    porta_optimizer_status before, after;
    st = porta_optimizer_status_get(ctx, m.opt, &before);
    CHECK_OK(t, ctx, st, "loss view: status");
    porta_status fenced =
        porta_optimizer_step(ctx, m.opt, porta_view_range(long_loss, 10, 3), 4, 1.0f);
    CHECK(t,
          fenced == PORTA_ERROR_INVALID_ARGUMENT &&
              strstr(porta_context_message(ctx), "porta_optimizer_step loss") != NULL,
          "%s: a loss of 4 words through a view of 3: %s, \"%s\"", spec, porta_strerror(fenced),
          porta_context_message(ctx));
    st = porta_optimizer_status_get(ctx, m.opt, &after);
    CHECK(t, !st && after.steps == before.steps, "%s: a refused step was counted: %llu -> %llu",
          spec, (unsigned long long)before.steps, (unsigned long long)after.steps);
    st = porta_optimizer_step(ctx, m.opt, porta_view_range(long_loss, 10, 4), 4, 1.0f);
    CHECK_OK(t, ctx, st, "loss view: 4 words through a view of 4");
    /* Nor may the loss live in an arena the step reads or writes. */
    porta_buffer *arenas[2] = {NULL, NULL};
    st = porta_optimizer_arenas(ctx, m.opt, &arenas[0], &arenas[1], NULL);
    CHECK_OK(t, ctx, st, "loss_count: arenas");
    for (int k = 0; k < 2 && !st; k++) {
        porta_status bad = porta_optimizer_step(ctx, m.opt, porta_view_of(arenas[k]), 1, 1.0f);
        CHECK(t,
              bad == PORTA_ERROR_INVALID_ARGUMENT &&
                  strstr(porta_context_message(ctx), "arena") != NULL,
              "%s: a loss in the %s arena: %s, \"%s\"", spec, k ? "gradient" : "parameter",
              porta_strerror(bad), porta_context_message(ctx));
    }
    porta_buffer_destroy(ctx, long_loss);
    model_destroy(ctx, &m);
}

/* ---- the layouts the environment selects -------------------------------- */

/* Set (or with NULL unset) the layout overrides optimizers read at
 * creation. */
static void set_layout(const char *variant, const char *per, const char *local)
{
    if (local)
        setenv("PORTA_OPTIM_LOCAL_SIZE", local, 1);
    else
        unsetenv("PORTA_OPTIM_LOCAL_SIZE");
    if (variant)
        setenv("PORTA_OPTIM_VARIANT", variant, 1);
    else
        unsetenv("PORTA_OPTIM_VARIANT");
    if (per)
        setenv("PORTA_OPTIM_PER_INVOCATION", per, 1);
    else
        unsetenv("PORTA_OPTIM_PER_INVOCATION");
}

/* With the environment as it is, creating an optimizer fails with
 * PORTA_ERROR_INVALID_ARGUMENT and a message naming variable `name`
 * (set to `value`). */
static void check_override_refused(test_state *t, porta_context *ctx, const char *spec,
                                   const char *name, const char *value)
{
    porta_optimizer_config c = porta_optimizer_config_default(PORTA_OPTIMIZER_ADAMW);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    porta_optimizer *opt = NULL;
    porta_status st = porta_optimizer_create(ctx, &c, &sc, &opt);
    CHECK(t,
          st == PORTA_ERROR_INVALID_ARGUMENT && opt == NULL &&
              strstr(porta_context_message(ctx), name) != NULL,
          "%s: %s=%s accepted: %s: %s", spec, name, value, porta_strerror(st),
          porta_context_message(ctx));
    porta_optimizer_destroy(ctx, opt);
}

static void check_layouts(test_state *t, porta_context *ctx, const char *spec)
{
    /* Few kernels each: PoCL takes seconds to build one. */
    static const struct {
        const char *variant, *per, *local;
    } layouts[] = {{"per-workgroup", NULL, NULL},
                   {"per-workgroup", "3", NULL},
                   {"scalars-pass", "3", NULL},
                   {NULL, "64", NULL},
                   {NULL, "3", "4"},
                   {"per-workgroup", "5", "2"}};
    for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
        char layout[64], what[128];
        set_layout(layouts[l].variant, layouts[l].per, layouts[l].local);
        snprintf(layout, sizeof(layout), "%s, %s per invocation, workgroup %s",
                 layouts[l].variant ? layouts[l].variant : "default",
                 layouts[l].per ? layouts[l].per : "default",
                 layouts[l].local ? layouts[l].local : "default");
        porta_optimizer_config adamw = two_groups(PORTA_OPTIMIZER_ADAMW);
        snprintf(what, sizeof(what), "AdamW (%s)", layout);
        check_against_reference(t, ctx, spec, &adamw, what);
        porta_optimizer_config sgd = two_groups(PORTA_OPTIMIZER_SGD);
        sgd.check_gradients = false;
        sgd.momentum = 0.9f;
        snprintf(what, sizeof(what), "SGD+momentum without norm pass (%s)", layout);
        check_against_reference(t, ctx, spec, &sgd, what);
    }
    /* The gradient norm summed by ten workgroups (one by default on CPU
     * devices), in both variants that sum it: clipping uses it. */
    setenv("PORTA_OPTIM_NORM_CHUNK", "1024", 1);
    for (int v = 0; v < 2; v++) {
        set_layout(v ? "per-workgroup" : NULL, NULL, NULL);
        porta_optimizer_config clip = nesterov_sgd(0.5f);
        char what[96];
        snprintf(what, sizeof(what), "SGD+Nesterov+clip (%s, norm over 10 workgroups)",
                 v ? "per-workgroup" : "default");
        check_against_reference(t, ctx, spec, &clip, what);
    }
    unsetenv("PORTA_OPTIM_NORM_CHUNK");
    /* The per-workgroup variant: every group boundary, and the scheduler
     * run by workgroup 0. */
    set_layout("per-workgroup", NULL, NULL);
    check_many_groups(t, ctx, spec, 1);
    check_greedy_fused(t, ctx, spec, 0, 1);
    check_greedy_fused(t, ctx, spec, 1, 1);
    static const struct {
        const char *variant, *per, *local, *name;
    } bad[] = {{"fast", NULL, NULL, "PORTA_OPTIM_VARIANT"},
               {NULL, "0", NULL, "PORTA_OPTIM_PER_INVOCATION"},
               {NULL, "257", NULL, "PORTA_OPTIM_PER_INVOCATION"},
               {NULL, "4x", NULL, "PORTA_OPTIM_PER_INVOCATION"},
               {NULL, NULL, "0", "PORTA_OPTIM_LOCAL_SIZE"},
               {NULL, NULL, "12", "PORTA_OPTIM_LOCAL_SIZE"},
               {NULL, NULL, "1048576", "PORTA_OPTIM_LOCAL_SIZE"}};
    for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
        set_layout(bad[b].variant, bad[b].per, bad[b].local);
        check_override_refused(t, ctx, spec, bad[b].name,
                               bad[b].variant ? bad[b].variant
                               : bad[b].per   ? bad[b].per
                                              : bad[b].local);
    }
    set_layout(NULL, NULL, NULL);
    static const char *const bad_chunks[] = {"0", "12x", "8388609", "2000000000"};
    for (size_t b = 0; b < sizeof(bad_chunks) / sizeof(bad_chunks[0]); b++) {
        setenv("PORTA_OPTIM_NORM_CHUNK", bad_chunks[b], 1);
        check_override_refused(t, ctx, spec, "PORTA_OPTIM_NORM_CHUNK", bad_chunks[b]);
    }
    unsetenv("PORTA_OPTIM_NORM_CHUNK");
}

/* A gradient norm that one workgroup sums over 2^23 elements
 * (PORTA_OPTIM_NORM_CHUNK at its most), in both variants that sum it. An
 * 8-wide llvmpipe workgroup would loop 131,072 times per invocation over
 * it, past the 65,535 after which llvmpipe ends an invocation's loops
 * without a word: the norm would come out short. Every gradient is 0.5,
 * so every partial sum of squares is a multiple of 0.25 below 2^21, exact
 * in any order: the norm is sqrt(2^21). */
static void check_long_norm(test_state *t, porta_context *ctx, const char *spec)
{
    const size_t n = (size_t)1 << 23;
    char chunk[24];
    snprintf(chunk, sizeof(chunk), "%zu", n);
    setenv("PORTA_OPTIM_NORM_CHUNK", chunk, 1);
    for (int v = 0; v < 2; v++) {
        set_layout(v ? "per-workgroup" : NULL, NULL, NULL);
        porta_optimizer_config c = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
        c.clip_norm = 1.0f;
        c.check_gradients = true;
        porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
        porta_optimizer *opt = NULL;
        porta_buffer *params = NULL, *grads = NULL, *loss = NULL;
        size_t elements = 0, count = 0, lost = 0;
        porta_step_metrics ms[1];
        porta_status st = porta_optimizer_create(ctx, &c, &sc, &opt);
        if (!st)
            st = porta_optimizer_add_tensor(ctx, opt, n, 0, NULL);
        if (!st)
            st = porta_optimizer_finalize(ctx, opt);
        if (!st)
            st = porta_optimizer_arenas(ctx, opt, &params, &grads, &elements);
        if (!st)
            st = porta_vec_fill(ctx, porta_view_of(grads), elements, 0.5f);
        if (!st)
            st = porta_buffer_create(ctx, sizeof(float), &loss);
        if (!st)
            st = porta_vec_fill(ctx, porta_view_of(loss), 1, 1.0f);
        if (!st)
            st = porta_optimizer_step(ctx, opt, porta_view_of(loss), 1, 1.0f);
        if (!st)
            st = porta_optimizer_metrics(ctx, opt, ms, 1, &count, &lost);
        const char *variant = v ? "per-workgroup" : "default";
        char what[96];
        snprintf(what, sizeof(what), "a norm over %zu elements in one workgroup (%s)", n, variant);
        CHECK_OK(t, ctx, st, what);
        const float want = sqrtf((float)elements * 0.25f);
        CHECK(t, st || (count == 1 && elements == n && rel_diff(ms[0].grad_norm, want) <= 1e-6),
              "%s: the norm of %zu gradients of 0.5 in one workgroup (%s): %g, expected %g", spec,
              elements, variant, count ? ms[0].grad_norm : -1.0f, want);
        porta_buffer_destroy(ctx, loss);
        porta_optimizer_destroy(ctx, opt);
    }
    set_layout(NULL, NULL, NULL);
    unsetenv("PORTA_OPTIM_NORM_CHUNK");
}

/* ---- the fused variant: one dispatch per step without a norm ----------- */

/* PORTA_OPTIM_VARIANT=fused: without a gradient norm the update is the
 * whole step, its scalars prepared by the step before (or by the prepare
 * pass after finalize and load, and again after an observed metric). The
 * same checks as the default path: results, one dispatch and no waits,
 * skipped steps, every scheduler kind and GreedyLR in both modes against
 * the host, a restored run; with a norm it falls back to the scalar pass. */
static void check_fused(test_state *t, porta_context *ctx, const char *spec)
{
    setenv("PORTA_OPTIM_VARIANT", "fused", 1);
    porta_optimizer_config adamw = two_groups(PORTA_OPTIMIZER_ADAMW);
    adamw.check_gradients = false;
    check_against_reference(t, ctx, spec, &adamw, "AdamW (fused)");
    porta_optimizer_config sgd = nesterov_sgd(0.0f);
    check_against_reference(t, ctx, spec, &sgd, "SGD+Nesterov (fused)");
    porta_optimizer_config clip = two_groups(PORTA_OPTIMIZER_SGD);
    clip.clip_norm = 3.0f;
    check_against_reference(t, ctx, spec, &clip, "SGD+clip (fused asked, norm pass)");
    check_zero_sync_without_norm(t, ctx, spec, 1);
    check_skip_without_norm(t, ctx, spec, PORTA_OPTIMIZER_ADAMW);
    check_skip_without_norm(t, ctx, spec, PORTA_OPTIMIZER_SGD);
    check_every_kind_fused(t, ctx, spec);
    check_greedy_fused(t, ctx, spec, 0, 0);
    check_greedy_fused(t, ctx, spec, 1, 0);
    check_restore(t, ctx, spec, 0);
    unsetenv("PORTA_OPTIM_VARIANT");
}

/* ---- the division and square root PORTA_OPTIM_DIVISION selects --------- */

/* CPU devices round / and sqrt correctly, so by default their kernels use
 * them as they are; GPUs under Vulkan get the corrected forms
 * (shaders/corrected_div_sqrt.kh, whose arithmetic tests/test_rounding.c
 * checks on the host). Here every device builds and runs the corrected
 * kernels too (OpenCL: without -cl-fp32-correctly-rounded-divide-sqrt):
 * AdamW's element divisions and root, the scalar pass's norm and clip
 * coefficient, and the per-workgroup variant's copy of the scalars, all
 * still within 1e-6 of the reference. */
static void check_division(test_state *t, porta_context *ctx, const char *spec)
{
    setenv("PORTA_OPTIM_DIVISION", "corrected", 1);
    porta_optimizer_config adamw = two_groups(PORTA_OPTIMIZER_ADAMW);
    check_against_reference(t, ctx, spec, &adamw, "AdamW (corrected division)");
    porta_optimizer_config sgd = nesterov_sgd(3.0f);
    check_against_reference(t, ctx, spec, &sgd, "SGD+Nesterov+clip (corrected division)");
    set_layout("per-workgroup", NULL, NULL);
    check_against_reference(t, ctx, spec, &adamw, "AdamW (corrected division, per-workgroup)");
    set_layout(NULL, NULL, NULL);
    setenv("PORTA_OPTIM_DIVISION", "device", 1);
    check_against_reference(t, ctx, spec, &adamw, "AdamW (the device's division)");
    setenv("PORTA_OPTIM_DIVISION", "fast", 1);
    check_override_refused(t, ctx, spec, "PORTA_OPTIM_DIVISION", "fast");
    unsetenv("PORTA_OPTIM_DIVISION");
}

/* ---- the bench's streaming roofline -------------------------------------- */

/* porta_vec_stream (alpha 0.5, lib/vec.c) against porta_ref_stream, with
 * sizes that leave partial and whole workgroup blocks. A GLSL compiler may
 * fuse d * alpha + b * b, hence a bound of a few ulp of the terms. */
static void check_stream(test_state *t, porta_context *ctx, const char *spec)
{
    static const size_t sizes[] = {1, 7, 1000, 4099, 70001};
    /* workgroup size, elements per invocation (0, 0: the optimizer's) */
    static const unsigned layouts[][2] = {{0, 0}, {0, 1}, {0, 3}, {0, 64}, {8, 256}, {4, 3}};
    for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
        const size_t n = sizes[z];
        float *host[4], *want[4];
        porta_buffer *dev[4] = {NULL, NULL, NULL, NULL};
        porta_status st = PORTA_OK;
        for (int a = 0; a < 4; a++) {
            host[a] = malloc(n * sizeof(float));
            want[a] = malloc(n * sizeof(float));
            for (size_t i = 0; i < n; i++)
                host[a][i] = noise(20 + (uint32_t)a, (uint32_t)z, (uint32_t)i);
        }
        for (size_t q = 0; q < sizeof(layouts) / sizeof(layouts[0]); q++) {
            for (int a = 0; a < 4 && !st; a++) {
                memcpy(want[a], host[a], n * sizeof(float));
                if (!dev[a])
                    st = porta_buffer_create(ctx, n * sizeof(float), &dev[a]);
                if (!st)
                    st = porta_buffer_write(ctx, dev[a], 0, n * sizeof(float), host[a]);
            }
            if (!st)
                st = porta_vec_stream(ctx, porta_view_of(dev[0]), porta_view_of(dev[1]),
                                      porta_view_of(dev[2]), porta_view_of(dev[3]), n,
                                      layouts[q][0], layouts[q][1]);
            porta_ref_stream(0.5f, want[0], want[1], want[2], want[3], n);
            double worst = 0.0;
            for (int a = 0; a < 4 && !st; a++) {
                float *got = malloc(n * sizeof(float));
                st = porta_buffer_read(ctx, dev[a], 0, n * sizeof(float), got);
                for (size_t i = 0; i < n && !st; i++) {
                    const double scale = fabs(0.5 * host[a][i]) + fabs((double)host[1][i]) +
                                         (double)host[1][i] * host[1][i];
                    worst = fmax(worst, fabs((double)got[i] - want[a][i]) / scale);
                }
                free(got);
            }
            CHECK_OK(t, ctx, st, "stream");
            CHECK(t, worst <= 4.8e-7,
                  "%s: stream n=%zu, %u x %u per invocation: off by %.3g of the terms", spec, n,
                  layouts[q][0], layouts[q][1], worst);
        }
        for (int a = 0; a < 4; a++) {
            porta_buffer_destroy(ctx, dev[a]);
            free(host[a]);
            free(want[a]);
        }
    }
}

/* ---- porta_optimizer_tuning: the same layouts without the environment ---- */

/* Unset every PORTA_OPTIM_* variable porta_optimizer_create() reads. */
static void clear_tuning_env(void)
{
    set_layout(NULL, NULL, NULL);
    unsetenv("PORTA_OPTIM_NORM_CHUNK");
    unsetenv("PORTA_OPTIM_DIVISION");
}

/* What a run of TUNED_STEPS fused steps left: its dispatches, the
 * parameters and the metrics ring. */
#define TUNED_STEPS 10
typedef struct tuned_run {
    porta_status st;
    unsigned long long dispatches;
    float *params;
    size_t elements;
    porta_step_metrics ms[TUNED_STEPS];
    size_t count;
    /* The layout the optimizer resolved at creation (optimizer_internal.h):
     * the same fields whether a variable or a tuning field set them. */
    int variant;
    uint32_t per_invocation, local_size, norm_chunk, correct_rounding;
} tuned_run;

/* `steps` steps of the three-tensor model with c (its tuning included)
 * under the environment as it is, into *r (free r->params). */
static void run_tuned(test_state *t, porta_context *ctx, const char *spec, const char *what,
                      const porta_optimizer_config *c, tuned_run *r)
{
    memset(r, 0, sizeof *r);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.patience = 1;
    sc.factor = 0.8f;
    model m;
    char label[160];
    snprintf(label, sizeof label, " (%s)", what);
    r->st = run_without_sync(t, ctx, spec, label, c, &sc, TUNED_STEPS, &m, &r->dispatches);
    r->variant = -2;
    if (m.opt) {
        r->variant = m.opt->variant_override;
        r->per_invocation = m.opt->per_invocation_override;
        r->local_size = m.opt->local_size_override;
        r->norm_chunk = m.opt->norm_chunk_override;
        r->correct_rounding = m.opt->correct_rounding;
    }
    if (!r->st) {
        r->params = read_params(ctx, &m);
        r->elements = m.elements;
        r->st = r->params ? porta_optimizer_metrics(ctx, m.opt, r->ms, TUNED_STEPS, &r->count, NULL)
                          : PORTA_ERROR_IO;
    }
    CHECK_OK(t, ctx, r->st, label);
    model_destroy(ctx, &m);
}

/* Two runs left the same bits: parameters and ring (steps, losses, norms,
 * rates, skips). */
static int same_bits(const tuned_run *a, const tuned_run *b)
{
    if (a->st || b->st || a->elements != b->elements || a->count != b->count || !a->params ||
        !b->params)
        return 0;
    if (memcmp(a->params, b->params, a->elements * sizeof(float)) != 0)
        return 0;
    for (size_t i = 0; i < a->count; i++) {
        const porta_step_metrics *x = &a->ms[i], *y = &b->ms[i];
        if (x->step != y->step || x->skipped != y->skipped ||
            memcmp(&x->loss, &y->loss, sizeof x->loss) != 0 ||
            memcmp(&x->grad_norm, &y->grad_norm, sizeof x->grad_norm) != 0 ||
            memcmp(x->lr, y->lr, sizeof x->lr) != 0)
            return 0;
    }
    return 1;
}

/* Two runs did the same: the same layout resolved, as many dispatches,
 * the same bits. */
static int same_run(const tuned_run *a, const tuned_run *b)
{
    return a->dispatches == b->dispatches && a->variant == b->variant &&
           a->per_invocation == b->per_invocation && a->local_size == b->local_size &&
           a->norm_chunk == b->norm_chunk && a->correct_rounding == b->correct_rounding &&
           same_bits(a, b);
}

/* Whether two runs' gradient norms differ in any bit. */
static int norms_differ(const tuned_run *a, const tuned_run *b)
{
    for (size_t i = 0; i < a->count && i < b->count; i++)
        if (memcmp(&a->ms[i].grad_norm, &b->ms[i].grad_norm, sizeof(float)) != 0)
            return 1;
    return 0;
}

/* One tuning field against the environment variable it stands for. */
typedef struct tuning_case {
    const char *what;
    const char *var, *value;      /* the variable and the value it forces */
    porta_optimizer_tuning field; /* the same, as a field */
    int norm;                     /* run with the gradient norm (clipping) */
    unsigned per_step;            /* dispatches per step it must give; 0: not fixed */
} tuning_case;

/* Whether the layout r resolved is the one k's field forces. */
static int forced(const tuning_case *k, const tuned_run *r)
{
    const porta_optimizer_tuning *f = &k->field;
    static const int variants[] = {-1, 0, 1, 2}; /* by porta_optimizer_layout */
    if (f->layout && r->variant != variants[f->layout])
        return 0;
    if (f->per_invocation && r->per_invocation != f->per_invocation)
        return 0;
    if (f->local_size && r->local_size != f->local_size)
        return 0;
    if (f->norm_chunk && r->norm_chunk != f->norm_chunk)
        return 0;
    if (f->division && r->correct_rounding != (f->division == PORTA_DIVISION_CORRECTED ? 1u : 0u))
        return 0;
    return 1;
}

static porta_optimizer_config tuned_config(const porta_optimizer_tuning *tuning, int norm)
{
    porta_optimizer_config c = two_groups(PORTA_OPTIMIZER_ADAMW);
    c.clip_norm = norm ? 1.0f : 0.0f;
    c.check_gradients = norm != 0;
    if (tuning)
        c.tuning = *tuning;
    return c;
}

/* The field alone (environment unset) does what the variable alone does:
 * the same dispatches per step, the same bits; for the layouts, the
 * dispatch count that layout has. Then a conflicting value of the
 * variable changes nothing: the field wins. */
static void check_tuning_case(test_state *t, porta_context *ctx, const char *spec,
                              const tuning_case *k, const char *conflicting)
{
    tuned_run by_env, by_field, by_both, by_default;
    char what[160];
    porta_optimizer_config c = tuned_config(NULL, k->norm);
    clear_tuning_env();
    setenv(k->var, k->value, 1);
    snprintf(what, sizeof what, "%s=%s", k->var, k->value);
    run_tuned(t, ctx, spec, what, &c, &by_env);
    clear_tuning_env();
    c = tuned_config(&k->field, k->norm);
    snprintf(what, sizeof what, "tuning.%s", k->what);
    run_tuned(t, ctx, spec, what, &c, &by_field);
    CHECK(t, same_run(&by_env, &by_field),
          "%s: tuning.%s alone differs from %s=%s alone (%llu and %llu dispatches)", spec, k->what,
          k->var, k->value, by_field.dispatches, by_env.dispatches);
    CHECK(t, !by_field.st && forced(k, &by_field),
          "%s: tuning.%s did not reach the step's layout (variant %d, %u per invocation, "
          "workgroup %u, norm chunk %u, corrected %u)",
          spec, k->what, by_field.variant, by_field.per_invocation, by_field.local_size,
          by_field.norm_chunk, by_field.correct_rounding);
    if (k->per_step)
        CHECK(t,
              !by_field.st && by_field.dispatches == (unsigned long long)k->per_step * TUNED_STEPS,
              "%s: tuning.%s: %llu dispatches in %d steps, expected %u per step", spec, k->what,
              by_field.dispatches, TUNED_STEPS, k->per_step);
    /* A conflicting variable: ignored, the field wins. */
    setenv(k->var, conflicting, 1);
    snprintf(what, sizeof what, "tuning.%s with %s=%s", k->what, k->var, conflicting);
    run_tuned(t, ctx, spec, what, &c, &by_both);
    CHECK(t, same_run(&by_field, &by_both), "%s: %s: %s overrode the field", spec, what, k->var);
    /* How far the forced layout is from the device's choice (a note: on
     * some devices the two coincide for some fields). */
    clear_tuning_env();
    c = tuned_config(NULL, k->norm);
    run_tuned(t, ctx, spec, "no tuning", &c, &by_default);
    printf("  %s: tuning.%s: %llu dispatches (default %llu); results %s the default's%s\n", spec,
           k->what, by_field.dispatches, by_default.dispatches,
           same_bits(&by_field, &by_default) ? "equal" : "differ from",
           k->norm ? (norms_differ(&by_field, &by_default) ? ", norms differ" : ", norms equal")
                   : "");
    free(by_env.params);
    free(by_field.params);
    free(by_both.params);
    free(by_default.params);
}

/* porta_optimizer_create() with tuning `tu` (environment unset) fails with
 * PORTA_ERROR_INVALID_ARGUMENT naming `field` (and no variable), or, want
 * PORTA_OK, succeeds. */
static void check_tuning_value(test_state *t, porta_context *ctx, const char *spec,
                               const porta_optimizer_tuning *tu, const char *field,
                               const char *value, porta_status want)
{
    porta_optimizer_config c = tuned_config(tu, 1);
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_CONSTANT);
    porta_optimizer *opt = NULL;
    porta_status st = porta_optimizer_create(ctx, &c, &sc, &opt);
    const char *msg = porta_context_message(ctx);
    if (want == PORTA_OK)
        CHECK(t, st == PORTA_OK && opt != NULL, "%s: tuning.%s = %s refused: %s: %s", spec, field,
              value, porta_strerror(st), msg);
    else
        CHECK(t,
              st == want && opt == NULL && strstr(msg, field) != NULL &&
                  strstr(msg, "PORTA_OPTIM_") == NULL,
              "%s: tuning.%s = %s: %s: \"%s\" (want %s naming %s)", spec, field, value,
              porta_strerror(st), msg, porta_strerror(want), field);
    porta_optimizer_destroy(ctx, opt);
}

static void check_tuning(test_state *t, porta_context *ctx, const porta_device_info *info)
{
    const char *spec = info->spec;
    const porta_optimizer_tuning none = {0};
    porta_optimizer_tuning tu;
    /* Each field alone against its variable alone. The layouts have their
     * dispatch counts without a norm: scalar pass and update, or the
     * update alone. */
    tuning_case cases[] = {
        {"layout", "PORTA_OPTIM_VARIANT", "scalars-pass", none, 0, 2},
        {"layout", "PORTA_OPTIM_VARIANT", "fused", none, 0, 1},
        {"layout", "PORTA_OPTIM_VARIANT", "per-workgroup", none, 0, 1},
        {"layout", "PORTA_OPTIM_VARIANT", "per-workgroup", none, 1, 0},
        {"per_invocation", "PORTA_OPTIM_PER_INVOCATION", "3", none, 0, 0},
        {"local_size", "PORTA_OPTIM_LOCAL_SIZE", "4", none, 1, 0},
        {"norm_chunk", "PORTA_OPTIM_NORM_CHUNK", "1024", none, 1, 0},
        {"division", "PORTA_OPTIM_DIVISION", "corrected", none, 1, 0},
        {"division", "PORTA_OPTIM_DIVISION", "device", none, 1, 0},
    };
    cases[0].field.layout = PORTA_OPTIMIZER_LAYOUT_SCALARS_PASS;
    cases[1].field.layout = PORTA_OPTIMIZER_LAYOUT_FUSED;
    cases[2].field.layout = PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP;
    cases[3].field.layout = PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP;
    cases[4].field.per_invocation = 3;
    cases[5].field.local_size = 4;
    cases[6].field.norm_chunk = 1024;
    cases[7].field.division = PORTA_DIVISION_CORRECTED;
    cases[8].field.division = PORTA_DIVISION_DEVICE;
    /* What each variable is set to against the field: another valid
     * value where one changes the layout, else one the variable would
     * refuse (porta_optimizer_create() does not read it). */
    const char *conflicting[] = {"fused", "scalars-pass", "scalars-pass", "fused", "64x", "12",
                                 "0",     "device",       "fast"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_tuning_case(t, ctx, spec, &cases[i], conflicting[i]);
    /* The valid conflicting values too: the field wins over a variable
     * that would work. */
    tuning_case pi = {"per_invocation", "PORTA_OPTIM_PER_INVOCATION", "5", none, 1, 0};
    pi.field.per_invocation = 5;
    check_tuning_case(t, ctx, spec, &pi, "64");
    tuning_case ls = {"local_size", "PORTA_OPTIM_LOCAL_SIZE", "8", none, 0, 0};
    ls.field.local_size = 8;
    check_tuning_case(t, ctx, spec, &ls, "2");
    tuning_case nc = {"norm_chunk", "PORTA_OPTIM_NORM_CHUNK", "2048", none, 1, 0};
    nc.field.norm_chunk = 2048;
    check_tuning_case(t, ctx, spec, &nc, "1024");
    /* Several fields at once, against the same variables: a per-workgroup
     * step of 5 elements an invocation in workgroups of 2. */
    tuning_case all = {
        "layout+per_invocation+local_size", "PORTA_OPTIM_VARIANT", "per-workgroup", none, 0, 1};
    all.field.layout = PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP;
    all.field.per_invocation = 5;
    all.field.local_size = 2;
    setenv("PORTA_OPTIM_PER_INVOCATION", "5", 1);
    setenv("PORTA_OPTIM_LOCAL_SIZE", "2", 1);
    {
        tuned_run by_env, by_field;
        porta_optimizer_config c = tuned_config(NULL, 0);
        setenv("PORTA_OPTIM_VARIANT", "per-workgroup", 1);
        run_tuned(t, ctx, spec, "per-workgroup, 5 per invocation, workgroup 2 by variables", &c,
                  &by_env);
        clear_tuning_env();
        c = tuned_config(&all.field, 0);
        run_tuned(t, ctx, spec, "per-workgroup, 5 per invocation, workgroup 2 by fields", &c,
                  &by_field);
        CHECK(t, same_run(&by_env, &by_field),
              "%s: layout, per_invocation and local_size fields differ from their variables", spec);
        free(by_env.params);
        free(by_field.params);
    }
    /* ignore_environment: zero fields take the device's choice whatever
     * the variables say, even values create() would refuse. */
    {
        tuned_run by_default, ignoring;
        porta_optimizer_tuning ig = none;
        ig.ignore_environment = true;
        clear_tuning_env();
        porta_optimizer_config c = tuned_config(NULL, 1);
        run_tuned(t, ctx, spec, "no tuning, no variables", &c, &by_default);
        setenv("PORTA_OPTIM_VARIANT", "per-workgroup", 1);
        setenv("PORTA_OPTIM_PER_INVOCATION", "3", 1);
        setenv("PORTA_OPTIM_LOCAL_SIZE", "12", 1);
        setenv("PORTA_OPTIM_NORM_CHUNK", "1024", 1);
        setenv("PORTA_OPTIM_DIVISION", "fast", 1);
        c = tuned_config(&ig, 1);
        run_tuned(t, ctx, spec, "ignore_environment with every variable set", &c, &ignoring);
        CHECK(t, same_run(&by_default, &ignoring),
              "%s: tuning.ignore_environment: the PORTA_OPTIM_* variables still changed the step",
              spec);
        clear_tuning_env();
        free(by_default.params);
        free(ignoring.params);
    }
    /* The tuned layouts still compute the reference's results. */
    porta_optimizer_config ref = two_groups(PORTA_OPTIMIZER_ADAMW);
    ref.tuning.layout = PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP;
    ref.tuning.per_invocation = 3;
    ref.tuning.local_size = 4;
    ref.tuning.norm_chunk = 1024;
    ref.tuning.division = PORTA_DIVISION_CORRECTED;
    clear_tuning_env();
    check_against_reference(t, ctx, spec, &ref, "AdamW (every tuning field)");
    porta_optimizer_config sgd = nesterov_sgd(0.0f);
    sgd.tuning.layout = PORTA_OPTIMIZER_LAYOUT_FUSED;
    check_against_reference(t, ctx, spec, &sgd, "SGD+Nesterov (tuning.layout fused)");

    /* Values a field cannot take: refused, naming the field. */
    clear_tuning_env();
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    tu = none;
    tu.layout = (porta_optimizer_layout)99;
    check_tuning_value(t, ctx, spec, &tu, "layout", "99", bad);
    tu = none;
    tu.per_invocation = 300;
    check_tuning_value(t, ctx, spec, &tu, "per_invocation", "300", bad);
    tu.per_invocation = 257;
    check_tuning_value(t, ctx, spec, &tu, "per_invocation", "257", bad);
    tu.per_invocation = 256;
    check_tuning_value(t, ctx, spec, &tu, "per_invocation", "256", PORTA_OK);
    tu = none;
    tu.local_size = 3;
    check_tuning_value(t, ctx, spec, &tu, "local_size", "3", bad);
    tu.local_size = 12;
    check_tuning_value(t, ctx, spec, &tu, "local_size", "12", bad);
    char text[32];
    /* the limit the open device reports (lowered under PORTA_DEVICE_LIMITS) */
    porta_device_capabilities caps;
    unsigned max_wg = info->max_workgroup_size;
    if (porta_device_capabilities_get(ctx, &caps) == PORTA_OK)
        max_wg = caps.max_workgroup_size;
    tu.local_size = 2 * max_wg;
    snprintf(text, sizeof text, "%u", tu.local_size);
    check_tuning_value(t, ctx, spec, &tu, "local_size", text, bad);
    tu.local_size = max_wg;
    snprintf(text, sizeof text, "%u", tu.local_size);
    check_tuning_value(t, ctx, spec, &tu, "local_size", text,
                       porta__is_pow2(max_wg) ? PORTA_OK : bad);
    tu = none;
    tu.norm_chunk = (1u << 23) + 1u;
    check_tuning_value(t, ctx, spec, &tu, "norm_chunk", "2^23 + 1", bad);
    tu.norm_chunk = 2000000000u;
    check_tuning_value(t, ctx, spec, &tu, "norm_chunk", "2000000000", bad);
    tu.norm_chunk = 1u << 23;
    check_tuning_value(t, ctx, spec, &tu, "norm_chunk", "2^23", PORTA_OK);
    tu = none;
    tu.division = (porta_division)99;
    check_tuning_value(t, ctx, spec, &tu, "division", "99", bad);
    /* A bad field is refused even with a good variable beside it. */
    tu = none;
    tu.local_size = 3;
    setenv("PORTA_OPTIM_LOCAL_SIZE", "4", 1);
    check_tuning_value(t, ctx, spec, &tu, "local_size", "3 (PORTA_OPTIM_LOCAL_SIZE=4)", bad);
    clear_tuning_env();
}

/* A context on `spec` under exactly `limits` (not $PORTA_DEVICE_LIMITS);
 * NULL on failure, recorded. */
static porta_context *open_with_limits(test_state *t, const char *spec, const char *limits)
{
    porta_context *ctx = NULL;
    porta_status st = porta_context_create(NULL, &ctx);
    if (!st)
        st = porta_context_set_device_limits(ctx, limits);
    if (!st)
        st = porta_device_open(ctx, spec, NULL);
    CHECK(t, st == PORTA_OK, "%s under limits \"%s\": %s: %s", spec, limits, porta_strerror(st),
          ctx ? porta_context_message(ctx) : "");
    if (st) {
        porta_context_destroy(ctx);
        return NULL;
    }
    return ctx;
}

/* The gradient norm handed over by the ticket (where the device allows
 * it) and by a second dispatch (handover=0) give the same bits:
 * parameters, norms, rates. Ten workgroups sum the norm (norm_chunk
 * 1024), in the scalars-pass and per-workgroup layouts. */
static void check_handover(test_state *t, const char *spec)
{
    porta_context *with = open_with_limits(t, spec, "");
    porta_context *without = open_with_limits(t, spec, "handover=0");
    if (with && without) {
        CHECK(t, !has_handover(without), "%s: handover=0 turns hand-over off", spec);
        for (int v = 0; v < 2; v++) {
            porta_optimizer_tuning tu = {0};
            tu.norm_chunk = 1024;
            tu.layout = v ? PORTA_OPTIMIZER_LAYOUT_PER_WORKGROUP : PORTA_OPTIMIZER_LAYOUT_DEFAULT;
            tu.ignore_environment = true;
            porta_optimizer_config c = tuned_config(&tu, 1);
            tuned_run a, b;
            const char *layout = v ? "per-workgroup" : "default";
            char what[96];
            snprintf(what, sizeof what, "%s layout, ticket", layout);
            run_tuned(t, with, spec, what, &c, &a);
            snprintf(what, sizeof what, "%s layout, handover=0", layout);
            run_tuned(t, without, spec, what, &c, &b);
            /* per step: scalars-pass 2 with the ticket, 3 without;
             * per-workgroup 2 (its norm always a dispatch of its own) */
            const unsigned long long want_a = (has_handover(with) || v) ? 2u : 3u;
            const unsigned long long want_b = v ? 2u : 3u;
            CHECK(t, a.dispatches == TUNED_STEPS * want_a && b.dispatches == TUNED_STEPS * want_b,
                  "%s (%s layout): %llu and %llu dispatches, expected %llu and %llu", spec, layout,
                  a.dispatches, b.dispatches, TUNED_STEPS * want_a, TUNED_STEPS * want_b);
            CHECK(t, a.count == TUNED_STEPS && same_bits(&a, &b),
                  "%s (%s layout): the norm by ticket and by a second dispatch differ", spec,
                  layout);
            free(a.params);
            free(b.params);
        }
    }
    porta_context_destroy(with);
    porta_context_destroy(without);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    porta_optimizer_config adamw = two_groups(PORTA_OPTIMIZER_ADAMW);
    check_against_reference(t, ctx, info->spec, &adamw, "AdamW");
    porta_optimizer_config sgd = nesterov_sgd(3.0f);
    check_against_reference(t, ctx, info->spec, &sgd, "SGD+Nesterov+clip");
    porta_optimizer_config sgd_plain = two_groups(PORTA_OPTIMIZER_SGD);
    sgd_plain.momentum = 0.5f;
    sgd_plain.dampening = 0.1f;
    check_against_reference(t, ctx, info->spec, &sgd_plain, "SGD+dampening");
    /* The same without the gradient-norm pass (the scalar-pass path). */
    porta_optimizer_config adamw_plain = two_groups(PORTA_OPTIMIZER_ADAMW);
    adamw_plain.check_gradients = false;
    check_against_reference(t, ctx, info->spec, &adamw_plain, "AdamW without norm pass");
    porta_optimizer_config sgd_nesterov = nesterov_sgd(0.0f);
    check_against_reference(t, ctx, info->spec, &sgd_nesterov, "SGD+Nesterov without norm pass");
    porta_optimizer_config sgd_none = two_groups(PORTA_OPTIMIZER_SGD);
    sgd_none.check_gradients = false;
    check_against_reference(t, ctx, info->spec, &sgd_none, "SGD without momentum or norm pass");
    porta_optimizer_config sgd_none_norm = two_groups(PORTA_OPTIMIZER_SGD);
    check_against_reference(t, ctx, info->spec, &sgd_none_norm, "SGD without momentum");
    check_many_groups(t, ctx, info->spec, 0);
    check_many_groups(t, ctx, info->spec, 1);
    check_zero_sync(t, ctx, info->spec, NULL);
    check_zero_sync(t, ctx, info->spec, "1024");
    check_handover(t, info->spec);
    check_long_norm(t, ctx, info->spec);
    /* One dispatch per step without a norm, except on llvmpipe (the
     * scalar pass first: porta_optimizer_step's comment in porta.h). */
    check_zero_sync_without_norm(t, ctx, info->spec, strstr(info->name, "llvmpipe") ? 2u : 1u);
    check_skip(t, ctx, info->spec);
    check_loss_count(t, ctx, info->spec);
    check_skip_without_norm(t, ctx, info->spec, PORTA_OPTIMIZER_ADAMW);
    check_skip_without_norm(t, ctx, info->spec, PORTA_OPTIMIZER_SGD);
    check_greedy_fused(t, ctx, info->spec, 0, 1);
    check_greedy_fused(t, ctx, info->spec, 1, 1);
    check_every_kind_fused(t, ctx, info->spec);
    check_restore(t, ctx, info->spec, 1);
    check_invalid(t, ctx);
    check_layouts(t, ctx, info->spec);
    check_division(t, ctx, info->spec);
    check_fused(t, ctx, info->spec);
    check_tuning(t, ctx, info);
    check_stream(t, ctx, info->spec);
}

int main(void)
{
    /* The layouts are the device's own unless check_layouts sets them. */
    set_layout(NULL, NULL, NULL);
    test_init();
    test_state t = {0};
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
