/* greedylr_scenarios.c: see greedylr_scenarios.h. */
#include <math.h>
#include <string.h>

#include "check/greedylr_scenarios.h"

porta_greedylr_config porta__greedylr_scenario_base(void)
{
    porta_greedylr_config c = porta_greedylr_defaults();
    c.n_groups = 1;
    c.initial_lr[0] = 0.1f;
    c.mode = PORTA_SCHED_MODE_MIN;
    c.factor = 0.9f;
    c.patience = 3;
    c.min_lr[0] = 1e-6f;
    c.max_lr[0] = 1.0f;
    c.cooldown = 0;
    c.warmup = 0;
    c.threshold = 1e-6f;
    c.threshold_mode = PORTA_SCHED_THRESHOLD_ABS;
    c.eps = 1e-8f;
    c.reset_start = 500;
    c.smooth = 0;
    return c;
}

/* Append `count` copies of v. */
static void repeat(greedylr_scenario *s, float v, int count)
{
    for (int i = 0; i < count && s->n < GREEDYLR_SCENARIO_MAX_STEPS; i++)
        s->metrics[s->n++] = v;
}

static void list(greedylr_scenario *s, const float *v, int count)
{
    for (int i = 0; i < count && s->n < GREEDYLR_SCENARIO_MAX_STEPS; i++)
        s->metrics[s->n++] = v[i];
}

#define LIST(s, ...)                                                                               \
    do {                                                                                           \
        const float values_[] = {__VA_ARGS__};                                                     \
        list((s), values_, (int)(sizeof(values_) / sizeof(values_[0])));                           \
    } while (0)

/* Scenarios 1-6: the basic rules. */
static void make_basic(greedylr_scenario *s, greedylr_scenario_id id)
{
    porta_greedylr_config *c = &s->config;
    switch (id) {
    case GREEDYLR_SC_1:
        s->name = "scenario 1 (decrease)";
        LIST(s, 5, 10, 10, 10, 10);
        break;
    case GREEDYLR_SC_2:
        s->name = "scenario 2 (increase)";
        LIST(s, 8, 6.4f, 5.12f, 4.096f);
        break;
    case GREEDYLR_SC_3:
        s->name = "scenario 3 (first step)";
        LIST(s, 5);
        break;
    case GREEDYLR_SC_4:
        s->name = "scenario 4 (equal is bad)";
        repeat(s, 5.0f, 5);
        break;
    case GREEDYLR_SC_5:
        s->name = "scenario 5 (rel threshold)";
        c->threshold = 0.1f;
        c->threshold_mode = PORTA_SCHED_THRESHOLD_REL;
        c->patience = 2;
        LIST(s, 10, 9.5f, 8.9f);
        break;
    case GREEDYLR_SC_6_DECREASE:
        s->name = "scenario 6 (max mode, decrease)";
        c->mode = PORTA_SCHED_MODE_MAX;
        c->patience = 2;
        LIST(s, 10, 1, 1, 1);
        break;
    case GREEDYLR_SC_6_INCREASE:
        s->name = "scenario 6 (max mode, increase)";
        c->mode = PORTA_SCHED_MODE_MAX;
        c->patience = 2;
        LIST(s, 1.5f, 2.25f, 3.375f);
        break;
    default:
        break;
    }
}

/* Scenarios 7-11: floor, ceiling, freezes, reset. */
static void make_bounds(greedylr_scenario *s, greedylr_scenario_id id)
{
    porta_greedylr_config *c = &s->config;
    switch (id) {
    case GREEDYLR_SC_7:
        s->name = "scenario 7 (floor)";
        c->patience = 1;
        c->min_lr[0] = 0.01f;
        c->factor = 0.5f;
        LIST(s, 1);
        repeat(s, 10.0f, 39);
        break;
    case GREEDYLR_SC_8: {
        s->name = "scenario 8 (ceiling)";
        c->patience = 1;
        c->max_lr[0] = 0.2f;
        c->factor = 0.5f;
        float m = 1.0f;
        for (int i = 0; i < 20; i++) {
            s->metrics[s->n++] = m;
            m = m * 0.8f;
        }
        break;
    }
    case GREEDYLR_SC_9:
        s->name = "scenario 9 (cooldown)";
        c->patience = 2;
        c->cooldown = 3;
        LIST(s, 5, 10, 10, 10, 1.0f, 100.0f, 0.5f, 0.5f);
        break;
    case GREEDYLR_SC_10:
        s->name = "scenario 10 (warmup)";
        c->patience = 2;
        c->warmup = 3;
        LIST(s, 8, 6.4f, 5.12f, 4.096f, 3.2768f, 2.62144f, 2.0f);
        break;
    case GREEDYLR_SC_11:
        s->name = "scenario 11 (reset)";
        c->patience = 1;
        c->min_lr[0] = 0.01f;
        c->factor = 0.5f;
        c->reset_start = 2;
        LIST(s, 1);
        repeat(s, 10.0f, 11);
        break;
    default:
        break;
    }
}

/* Scenarios 12-16: groups, smoothing, NaN, lr below min_lr. */
static void make_more(greedylr_scenario *s, greedylr_scenario_id id)
{
    porta_greedylr_config *c = &s->config;
    switch (id) {
    case GREEDYLR_SC_12:
        s->name = "scenario 12 (two groups)";
        c->n_groups = 2;
        c->initial_lr[1] = 0.01f;
        c->min_lr[1] = 1e-6f;
        c->max_lr[1] = 1.0f;
        c->patience = 2;
        LIST(s, 5, 10, 10, 10);
        break;
    case GREEDYLR_SC_13:
        s->name = "scenario 13 (rolling mean)";
        c->smooth = 1;
        c->window_size = 3;
        c->patience = 10;
        LIST(s, 1, 2, 3, 4, 5);
        break;
    case GREEDYLR_SC_14:
        s->name = "scenario 14 (smoothing)";
        c->smooth = 1;
        c->window_size = 3;
        c->patience = 10;
        LIST(s, 10, 8, 6, 4);
        break;
    case GREEDYLR_SC_15:
        s->name = "scenario 15 (NaN, no smoothing)";
        LIST(s, 5);
        repeat(s, NAN, 4);
        LIST(s, 4);
        break;
    case GREEDYLR_SC_16:
        s->name = "scenario 16 (initial lr below min_lr)";
        c->initial_lr[0] = 5e-5f;
        c->min_lr[0] = 1e-3f;
        LIST(s, 5);
        repeat(s, 10.0f, 8);
        LIST(s, 4, 3, 2, 1);
        break;
    default:
        break;
    }
}

greedylr_scenario porta__greedylr_scenario_make(greedylr_scenario_id id)
{
    greedylr_scenario s;
    memset(&s, 0, sizeof(s));
    s.name = "unknown scenario";
    s.config = porta__greedylr_scenario_base();
    if (id <= GREEDYLR_SC_6_INCREASE)
        make_basic(&s, id);
    else if (id <= GREEDYLR_SC_11)
        make_bounds(&s, id);
    else
        make_more(&s, id);
    return s;
}

porta_greedylr_config porta__greedylr_checkpoint_config(int which)
{
    porta_greedylr_config c = porta__greedylr_scenario_base();
    if (which == 0) {
        c.smooth = 1;
        c.window_size = 7;
        c.patience = 3;
        c.cooldown = 2;
        c.warmup = 1;
        c.reset_start = 3;
        c.threshold = 1e-3f;
        c.threshold_mode = PORTA_SCHED_THRESHOLD_REL;
        c.n_groups = 2;
        c.initial_lr[0] = 0.05f, c.min_lr[0] = 0.01f, c.max_lr[0] = 0.2f;
        c.initial_lr[1] = 0.5f, c.min_lr[1] = 0.1f, c.max_lr[1] = 1.0f;
        return c;
    }
    c.smooth = 1;
    c.window_size = 11;
    c.patience = 2;
    c.cooldown = 3;
    c.warmup = 2;
    c.reset_start = 2;
    c.factor = 0.8f;
    c.n_groups = 3;
    for (int g = 0; g < 3; g++) {
        c.initial_lr[g] = 0.01f * (float)(g + 1);
        c.min_lr[g] = 0.004f;
        c.max_lr[g] = 0.1f;
    }
    return c;
}

float porta__greedylr_noisy_metric(uint32_t *rng, uint32_t t)
{
    if (t % 37u == 36u)
        return NAN;
    *rng = *rng * 1664525u + 1013904223u;
    float noise = (float)(*rng >> 8) / 16777216.0f; /* [0, 1) */
    float trend = 2.0f / (1.0f + 0.01f * (float)t);
    return trend * (0.8f + 0.4f * noise);
}

greedylr_invalid porta__greedylr_invalid_make(int i)
{
    greedylr_invalid v;
    v.config = porta__greedylr_scenario_base();
    switch (i) {
    case 0:
        v.what = "F = 1.0", v.word = "factor", v.value = "= 1 ";
        v.config.factor = 1.0f;
        break;
    case 1:
        v.what = "F = 1.5", v.word = "factor", v.value = "1.5";
        v.config.factor = 1.5f;
        break;
    case 2:
        v.what = "F = 0", v.word = "factor", v.value = "= 0 ";
        v.config.factor = 0.0f;
        break;
    case 3:
        v.what = "F = -0.5", v.word = "factor", v.value = "-0.5";
        v.config.factor = -0.5f;
        break;
    case 4:
        v.what = "patience -1", v.word = "patience", v.value = "-1";
        v.config.patience = -1;
        break;
    case 5:
        v.what = "window 0", v.word = "window_size", v.value = "= 0 ";
        v.config.window_size = 0;
        break;
    default:
        v.what = "min_lr > max_lr", v.word = "min_lr", v.value = "max_lr";
        v.config.min_lr[0] = 2.0f;
        break;
    }
    return v;
}
