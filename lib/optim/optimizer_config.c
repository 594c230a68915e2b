/* optimizer_config.c: defaults, validation and the device blocks of the
 * public optimizer and scheduler configurations. */
#include <math.h>
#include <string.h>

#include "optim/optimizer_internal.h"

porta_optimizer_config porta_optimizer_config_default(porta_optimizer_kind kind)
{
    porta_optimizer_config c;
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    c.beta1 = 0.9f;
    c.beta2 = 0.999f;
    c.eps = 1e-8f;
    c.check_gradients = true; /* tuning stays zero: the device's choice */
    c.n_groups = 1;
    c.groups[0] = (porta_param_group){.lr = 1e-3f,
                                      .min_lr = 1e-5f,
                                      .max_lr = 1.0f,
                                      .weight_decay = kind == PORTA_OPTIMIZER_ADAMW ? 0.01f : 0.0f};
    return c;
}

porta_scheduler_config porta_scheduler_config_default(porta_scheduler_kind kind)
{
    porta_scheduler_config c;
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    c.mode = "min";
    c.threshold_mode = kind == PORTA_SCHEDULER_PLATEAU ? "rel" : "abs";
    c.factor = kind == PORTA_SCHEDULER_PLATEAU ? 0.1f : 0.95f;
    c.patience = 10;
    c.threshold = kind == PORTA_SCHEDULER_PLATEAU ? 1e-4f : 1e-6f;
    c.eps = 1e-8f;
    c.window = 50;
    c.reset_start = 500;
    c.warmup_steps = 100;
    c.total_steps = 10000;
    c.step_size = 1000;
    c.gamma = 0.1f;
    c.t_0 = 1000;
    c.t_mult = 1;
    return c;
}

static int bad_float(float x)
{
    return !isfinite(x);
}

static porta_status check_optimizer(porta_context *ctx, const porta_optimizer_config *c)
{
    porta_msg *m = &ctx->msg;
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    if (c->kind != PORTA_OPTIMIZER_SGD && c->kind != PORTA_OPTIMIZER_ADAMW)
        return porta_msg_set(m, bad, "optimizer kind %d is neither SGD nor AdamW", (int)c->kind);
    if (c->n_groups < 1 || c->n_groups > PORTA_MAX_PARAM_GROUPS)
        return porta_msg_set(m, bad, "n_groups %u: must be 1..%d", c->n_groups,
                             PORTA_MAX_PARAM_GROUPS);
    if (c->kind == PORTA_OPTIMIZER_SGD) {
        if (bad_float(c->momentum) || c->momentum < 0.0f)
            return porta_msg_set(m, bad, "momentum %g: must be >= 0", c->momentum);
        if (bad_float(c->dampening) || c->dampening < 0.0f || c->dampening >= 1.0f)
            return porta_msg_set(m, bad, "dampening %g: must be in [0, 1)", c->dampening);
        if (c->nesterov && (c->momentum <= 0.0f || c->dampening != 0.0f))
            return porta_msg_set(m, bad, "nesterov needs momentum > 0 and dampening 0");
    } else {
        if (bad_float(c->beta1) || c->beta1 < 0.0f || c->beta1 >= 1.0f)
            return porta_msg_set(m, bad, "beta1 %g: must be in [0, 1)", c->beta1);
        if (bad_float(c->beta2) || c->beta2 < 0.0f || c->beta2 >= 1.0f)
            return porta_msg_set(m, bad, "beta2 %g: must be in [0, 1)", c->beta2);
        if (bad_float(c->eps) || c->eps <= 0.0f)
            return porta_msg_set(m, bad, "eps %g: must be > 0", c->eps);
    }
    if (bad_float(c->clip_norm) || c->clip_norm < 0.0f)
        return porta_msg_set(m, bad, "clip_norm %g: must be >= 0 (0 = off)", c->clip_norm);
    for (unsigned g = 0; g < c->n_groups; g++) {
        const porta_param_group *pg = &c->groups[g];
        if (bad_float(pg->weight_decay) || pg->weight_decay < 0.0f)
            return porta_msg_set(m, bad, "group %u: weight_decay %g must be >= 0", g,
                                 pg->weight_decay);
        if (bad_float(pg->lr) || pg->lr < 0.0f)
            return porta_msg_set(m, bad, "group %u: lr %g must be >= 0", g, pg->lr);
    }
    return PORTA_OK;
}

static void fill_groups(const porta_optimizer_config *c, float *initial, float *min_lr,
                        float *max_lr)
{
    for (unsigned g = 0; g < c->n_groups; g++) {
        initial[g] = c->groups[g].lr;
        if (min_lr)
            min_lr[g] = c->groups[g].min_lr;
        if (max_lr)
            max_lr[g] = c->groups[g].max_lr;
    }
}

/* The two words GreedyLR and plateau share, parsed from their names. */
static porta_status parse_modes(porta_context *ctx, const porta_scheduler_config *s, uint32_t *mode,
                                uint32_t *threshold_mode)
{
    porta_status st = porta_sched_parse_mode(s->mode, mode, &ctx->msg);
    return st ? st : porta_sched_parse_threshold_mode(s->threshold_mode, threshold_mode, &ctx->msg);
}

static porta_status greedy_config(porta_context *ctx, const porta_optimizer_config *groups,
                                  const porta_scheduler_config *s, porta_sched_device_config *dev)
{
    porta_greedylr_config g = porta_greedylr_defaults();
    porta_status st = parse_modes(ctx, s, &g.mode, &g.threshold_mode);
    if (st)
        return st;
    g.factor = s->factor;
    g.patience = s->patience;
    g.threshold = s->threshold;
    g.cooldown = s->cooldown;
    g.warmup = s->warmup;
    g.eps = s->eps;
    g.smooth = s->smooth ? 1u : 0u;
    g.window_size = s->window;
    g.reset_start = s->reset_start;
    g.n_groups = groups->n_groups;
    fill_groups(groups, g.initial_lr, g.min_lr, g.max_lr);
    uint32_t warnings = 0;
    st = porta_greedylr_validate(&g, &ctx->msg, &warnings);
    if (!st)
        st = porta__sched_device_config_greedylr(&g, dev, &ctx->msg);
    if (!st && warnings) {
        char text[1024];
        porta_greedylr_describe_warnings(&g, warnings, text, sizeof(text));
        porta_msg_set(&ctx->msg, PORTA_OK, "warning: %s", text);
    }
    return st;
}

static porta_status plateau_config(porta_context *ctx, const porta_optimizer_config *groups,
                                   const porta_scheduler_config *s, porta_sched_device_config *dev)
{
    porta_plateau_config p = porta_plateau_defaults();
    porta_status st = parse_modes(ctx, s, &p.mode, &p.threshold_mode);
    if (st)
        return st;
    p.factor = s->factor;
    p.patience = s->patience;
    p.threshold = s->threshold;
    p.cooldown = s->cooldown;
    p.eps = s->eps;
    p.n_groups = groups->n_groups;
    fill_groups(groups, p.initial_lr, p.min_lr, NULL);
    return porta__sched_device_config_plateau(&p, dev, &ctx->msg);
}

static porta_status stateless_config(porta_context *ctx, const porta_optimizer_config *groups,
                                     const porta_scheduler_config *s,
                                     porta_sched_device_config *dev)
{
    porta_sched_config c = porta_sched_defaults((uint32_t)s->kind);
    c.n_groups = groups->n_groups;
    c.warmup_steps = s->warmup_steps;
    c.total_steps = s->total_steps;
    c.step_size = s->step_size;
    c.gamma = s->gamma;
    c.t_0 = s->t_0;
    c.t_mult = s->t_mult;
    fill_groups(groups, c.base_lr, c.final_lr, NULL);
    return porta__sched_device_config_stateless(&c, dev, &ctx->msg);
}

porta_status porta__scheduler_configure(porta_context *ctx, const porta_optimizer_config *groups,
                                        const porta_scheduler_config *s,
                                        porta_sched_device_config *dev,
                                        porta_sched_device_state *init)
{
    porta_status st = check_optimizer(ctx, groups);
    if (st)
        return st;
    ctx->msg.text[0] = '\0';
    switch (s->kind) {
    case PORTA_SCHEDULER_GREEDYLR:
        st = greedy_config(ctx, groups, s, dev);
        break;
    case PORTA_SCHEDULER_PLATEAU:
        st = plateau_config(ctx, groups, s, dev);
        break;
    case PORTA_SCHEDULER_CONSTANT:
    case PORTA_SCHEDULER_WARMUP_COSINE:
    case PORTA_SCHEDULER_STEP:
    case PORTA_SCHEDULER_EXPONENTIAL:
    case PORTA_SCHEDULER_COSINE_RESTARTS:
        st = stateless_config(ctx, groups, s, dev);
        break;
    default:
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "scheduler kind %d is not one porta knows", (int)s->kind);
    }
    if (!st)
        porta__sched_device_init(dev, init);
    return st;
}

porta_status porta__optimizer_configure(porta_context *ctx, porta_optimizer *opt)
{
    const porta_optimizer_config *c = &opt->config;
    porta_status st =
        porta__scheduler_configure(ctx, c, &opt->scheduler, &opt->sched_dev, &opt->sched_init);
    if (st)
        return st;
    const porta_scheduler_kind kind = opt->scheduler.kind;
    porta_optim_config_dev *d = &opt->dev;
    memset(d, 0, sizeof(*d));
    d->kind = c->kind == PORTA_OPTIMIZER_ADAMW ? 1u : 0u;
    d->momentum = c->momentum;
    d->dampening = c->dampening;
    d->nesterov = c->nesterov ? 1u : 0u;
    d->beta1 = c->beta1;
    d->beta2 = c->beta2;
    d->eps = c->eps;
    d->clip_norm = c->clip_norm;
    d->n_groups = c->n_groups;
    /* Closed-form schedules advance with every step; GreedyLR and plateau
     * observe the training loss unless fed evaluation metrics. */
    d->sched_on_loss = (kind == PORTA_SCHEDULER_GREEDYLR || kind == PORTA_SCHEDULER_PLATEAU)
                           ? (opt->scheduler.observe_eval ? 0u : 1u)
                           : 1u;
    d->ring_capacity = PORTA_RING_CAPACITY;
    for (unsigned g = 0; g < c->n_groups; g++)
        d->weight_decay[g] = c->groups[g].weight_decay;
    opt->check_norm = c->check_gradients || c->clip_norm > 0.0f;
    return PORTA_OK;
}
