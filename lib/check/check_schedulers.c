/* check_schedulers.c: greedylr.kinds, every scheduler kind on the device
 * against the host over a noisy metric with a NaN every 37th step (and,
 * in the full run, a replay longer than two dispatches and checkpoints
 * mid-run); greedylr.fused, GreedyLR inside the real fused optimizer step
 * against the host scheduler.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check/greedylr_scenarios.h"
#include "sched_compare.h"

#define KIND_STEPS 1000u
#define LONG_STEPS 9000u /* more than two replay dispatches */

/* GreedyLR, two groups: frequent increases, decreases, freezes, resets. */
static porta_greedylr_config greedy_config(uint32_t smooth, int32_t window)
{
    porta_greedylr_config g = porta__greedylr_scenario_base();
    g.smooth = smooth;
    g.window_size = window;
    g.patience = 2;
    g.cooldown = 2;
    g.warmup = 1;
    g.reset_start = 3;
    g.factor = 0.7f;
    g.threshold = 1e-3f;
    g.threshold_mode = PORTA_SCHED_THRESHOLD_REL;
    g.n_groups = 2;
    g.initial_lr[0] = 0.05f, g.min_lr[0] = 0.01f, g.max_lr[0] = 0.2f;
    g.initial_lr[1] = 3e-4f, g.min_lr[1] = 1e-5f, g.max_lr[1] = 1e-3f;
    return g;
}

static porta_plateau_config plateau_config(void)
{
    porta_plateau_config p = porta_plateau_defaults();
    p.n_groups = 2;
    p.patience = 4;
    p.factor = 0.5f;
    p.cooldown = 2;
    p.threshold = 1e-2f;
    p.initial_lr[0] = 0.1f, p.min_lr[0] = 1e-4f;
    p.initial_lr[1] = 0.01f, p.min_lr[1] = 0.0f;
    return p;
}

/* A closed-form schedule with three groups. */
static porta_sched_config stateless_config(uint32_t kind, int32_t t_mult)
{
    porta_sched_config s = porta_sched_defaults(kind);
    s.n_groups = 3;
    for (int g = 0; g < 3; g++) {
        s.base_lr[g] = 0.1f / (float)(g + 1) + 1e-3f;
        s.final_lr[g] = 1e-4f * (float)g;
    }
    s.warmup_steps = 100;
    s.total_steps = 900;
    s.step_size = 97;
    s.gamma = kind == PORTA_SCHED_EXPONENTIAL ? 0.995f : 0.7f;
    s.t_0 = 50;
    s.t_mult = t_mult;
    return s;
}

void porta__check_scheduler_kinds(porta__check *c)
{
    float *metrics = malloc(LONG_STEPS * sizeof(float));
    if (!porta__check_host_memory(c, metrics != NULL))
        return;
    uint32_t rng = 4242u;
    for (uint32_t s = 0; s < LONG_STEPS; s++)
        metrics[s] = porta__greedylr_noisy_metric(&rng, s);
    porta_sched_device_config cfg;
    static const struct {
        const char *name;
        uint32_t smooth;
        int32_t window;
    } greedy[] = {{"greedylr (raw)", 0, 50},
                  {"greedylr (smoothing, window 7)", 1, 7},
                  {"greedylr (smoothing, window 256)", 1, 256}};
    for (size_t i = 0; i < 3 && !c->fatal; i++) {
        const porta_greedylr_config g = greedy_config(greedy[i].smooth, greedy[i].window);
        if (porta__check_case(c, porta__sched_device_config_greedylr(&g, &cfg, NULL) == 0,
                              "%s: config rejected", greedy[i].name))
            porta__check_sched_replay(c, greedy[i].name, &cfg, metrics, KIND_STEPS);
    }
    const porta_plateau_config p = plateau_config();
    if (!c->fatal && porta__check_case(c, porta__sched_device_config_plateau(&p, &cfg, NULL) == 0,
                                       "plateau: config rejected"))
        porta__check_sched_replay(c, "plateau", &cfg, metrics, KIND_STEPS);
    static const struct {
        const char *name;
        uint32_t kind;
        int32_t t_mult;
    } closed[] = {{"constant", PORTA_SCHED_CONSTANT, 1},
                  {"warmup_cosine", PORTA_SCHED_WARMUP_COSINE, 1},
                  {"step", PORTA_SCHED_STEP, 1},
                  {"exponential", PORTA_SCHED_EXPONENTIAL, 1},
                  {"cosine_restarts (t_mult 1)", PORTA_SCHED_COSINE_RESTARTS, 1},
                  {"cosine_restarts (t_mult 2)", PORTA_SCHED_COSINE_RESTARTS, 2}};
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]) && !c->fatal; i++) {
        const porta_sched_config s = stateless_config(closed[i].kind, closed[i].t_mult);
        if (porta__check_case(c, porta__sched_device_config_stateless(&s, &cfg, NULL) == 0,
                              "%s: config rejected", closed[i].name))
            porta__check_sched_replay(c, closed[i].name, &cfg, metrics, KIND_STEPS);
    }
    if (!c->quick && !c->fatal) {
        const porta_greedylr_config g = greedy_config(1, 256);
        porta__sched_device_config_greedylr(&g, &cfg, NULL);
        porta__check_sched_replay(c, "greedylr (window 256, 9000 steps)", &cfg, metrics,
                                  LONG_STEPS);
        porta__check_sched_interrupt(c, "greedylr (smoothing) interrupted at 400", &cfg, metrics,
                                     400, 600);
        porta__sched_device_config_plateau(&p, &cfg, NULL);
        porta__check_sched_interrupt(c, "plateau interrupted at 400", &cfg, metrics, 400, 600);
    }
    free(metrics);
}

/* ---- GreedyLR inside the fused step ------------------------------------ */

/* A loss that falls, then plateaus with noise, NaN at step 90. */
static float loss_curve(uint32_t s)
{
    if (s == 90)
        return NAN;
    uint32_t h = s * 0x9E3779B1u;
    h ^= h >> 15;
    h *= 0x2C1B3C6Du;
    h ^= h >> 12;
    const float noise = (float)((double)h / 4294967296.0 * 2.0 - 1.0);
    return (s < 60 ? 3.0f - 0.04f * (float)s : 0.6f) + 0.05f * noise;
}

/* 120 steps of an SGD optimizer over one small tensor with GreedyLR
 * observing the training loss (eval false) or evaluations every 10 steps
 * (eval true): the rate each step used, from the metrics ring, against
 * porta_greedylr_step on the host; the NaN step skipped. */
static void fused_run(porta__check *c, bool eval, bool norm)
{
    enum { STEPS = 120, N = 1000 };
    porta_context *ctx = c->ctx;
    porta_optimizer_config oc = porta_optimizer_config_default(PORTA_OPTIMIZER_SGD);
    oc.n_groups = 2;
    oc.groups[0] = (porta_param_group){.lr = 0.01f, .min_lr = 1e-5f, .max_lr = 1.0f};
    oc.groups[1] = (porta_param_group){.lr = 0.003f, .min_lr = 1e-5f, .max_lr = 1.0f};
    oc.check_gradients = norm;
    porta_scheduler_config sc = porta_scheduler_config_default(PORTA_SCHEDULER_GREEDYLR);
    sc.patience = 3;
    sc.factor = 0.9f;
    sc.smooth = true;
    sc.window = 4;
    sc.cooldown = 2;
    sc.warmup = 1;
    sc.observe_eval = eval;
    porta_greedylr_config gc = porta_greedylr_defaults();
    gc.patience = 3;
    gc.factor = 0.9f;
    gc.smooth = 1;
    gc.window_size = 4;
    gc.cooldown = 2;
    gc.warmup = 1;
    gc.n_groups = 2;
    for (unsigned g = 0; g < 2; g++) {
        gc.initial_lr[g] = oc.groups[g].lr;
        gc.min_lr[g] = oc.groups[g].min_lr;
        gc.max_lr[g] = oc.groups[g].max_lr;
    }
    porta_greedylr_state gs;
    porta_greedylr_init(&gs, &gc);
    const char *name = eval   ? "GreedyLR in the fused step, evaluation mode"
                       : norm ? "GreedyLR in the fused step, training loss, norm pass"
                              : "GreedyLR in the fused step, training loss";
    porta_optimizer *opt = NULL;
    porta_buffer *params = NULL, *grads = NULL, *loss = NULL;
    porta_step_metrics *ms = porta__check_alloc(STEPS, sizeof(*ms));
    float expect[STEPS][2];
    porta_status st = ms ? porta_optimizer_create(ctx, &oc, &sc, &opt)
                         : porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "metrics");
    if (!st)
        st = porta_optimizer_add_tensor(ctx, opt, N, 0, NULL);
    if (!st)
        st = porta_optimizer_add_tensor(ctx, opt, N, 1, NULL);
    if (!st)
        st = porta_optimizer_finalize(ctx, opt);
    if (!st)
        st = porta_optimizer_arenas(ctx, opt, &params, &grads, NULL);
    if (!st)
        st = porta_vec_fill(ctx, porta_view_of(grads), 2 * N, 1e-3f);
    if (!st)
        st = porta__check_upload(ctx, NULL, 0, 1, 0, 0.0f, &loss);
    for (uint32_t s = 0; s < STEPS && !st; s++) {
        expect[s][0] = gs.lr[0];
        expect[s][1] = gs.lr[1];
        const float l = loss_curve(s);
        st = porta_buffer_write(ctx, loss, 0, sizeof(l), &l);
        if (!st)
            st = porta_optimizer_step(ctx, opt, porta_view_of(loss), 1, 1.0f);
        if (!eval) {
            porta_greedylr_step(&gs, &gc, l);
        } else if (s % 10 == 9) {
            /* evaluations improve six times, then get worse */
            const uint32_t k = s / 10;
            const float metric = k < 6 ? 1.0f - 0.1f * (float)k : 5.0f + (float)k;
            if (!st)
                st = porta_optimizer_observe(ctx, opt, metric);
            porta_greedylr_step(&gs, &gc, metric);
        }
    }
    size_t count = 0;
    if (!st)
        st = porta_optimizer_metrics(ctx, opt, ms, STEPS, &count, NULL);
    if (porta__check_call(c, st, "%s", name)) {
        double worst = 0.0;
        int changes = 0;
        for (size_t s = 0; s < count; s++) {
            for (unsigned g = 0; g < 2; g++) {
                const double d = fabs((double)ms[s].lr[g] - expect[s][g]) / fabs(expect[s][g]);
                worst = d > worst || isnan(d) ? d : worst;
            }
            changes += s > 0 && ms[s].lr[0] != ms[s - 1].lr[0];
        }
        if (worst <= 1e-6 && worst / 1e-6 > c->worst)
            c->worst = worst / 1e-6;
        porta__check_case(c, count == STEPS && worst <= 1e-6 && changes >= 2 && ms[90].skipped,
                          "%s: %zu of %d steps, rates %.3g relative from the host (tolerance "
                          "1e-6), %d changes (at least 2 expected), the NaN step %s",
                          name, count, STEPS, worst, changes,
                          count > 90 && ms[90].skipped ? "skipped" : "not skipped");
    }
    porta_buffer_destroy(ctx, loss);
    porta_optimizer_destroy(ctx, opt);
    free(ms);
}

void porta__check_greedylr_fused(porta__check *c)
{
    fused_run(c, false, false);
    if (!c->fatal)
        fused_run(c, false, true);
    if (!c->fatal)
        fused_run(c, true, false);
}
