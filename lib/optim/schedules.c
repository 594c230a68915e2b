/* schedules.c: shared scheduler helpers, ReduceLROnPlateau and the
 * closed-form schedules (constant, warmup + cosine, step, exponential,
 * cosine with warm restarts).
 *
 * These are the host oracles of the fused optimizer kernel: fp32 only, one
 * IEEE operation at a time in the order documented in scheduler.h. Build
 * with -ffp-contract=off (the project does, for every target): a contracted
 * a * b + c would round once where the kernel rounds twice. No libm
 * transcendental is called; cosines come from the fixed polynomials below.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "scheduler.h"

/* ---- shared -------------------------------------------------------------- */

porta_status porta_sched_parse_mode(const char *text, uint32_t *mode, porta_msg *msg)
{
    if (text && strcmp(text, "min") == 0) {
        *mode = PORTA_SCHED_MODE_MIN;
        return PORTA_OK;
    }
    if (text && strcmp(text, "max") == 0) {
        *mode = PORTA_SCHED_MODE_MAX;
        return PORTA_OK;
    }
    return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                         "mode \"%s\" is unknown: it must be \"min\" (lower metric is better, "
                         "e.g. a loss) or \"max\" (higher is better, e.g. an accuracy)",
                         text ? text : "(null)");
}

porta_status porta_sched_parse_threshold_mode(const char *text, uint32_t *threshold_mode,
                                              porta_msg *msg)
{
    if (text && strcmp(text, "abs") == 0) {
        *threshold_mode = PORTA_SCHED_THRESHOLD_ABS;
        return PORTA_OK;
    }
    if (text && strcmp(text, "rel") == 0) {
        *threshold_mode = PORTA_SCHED_THRESHOLD_REL;
        return PORTA_OK;
    }
    return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                         "threshold_mode \"%s\" is unknown: it must be \"abs\" (better by more "
                         "than threshold) or \"rel\" (better by more than threshold x best)",
                         text ? text : "(null)");
}

const char *porta_sched_mode_name(uint32_t mode)
{
    return mode == PORTA_SCHED_MODE_MIN ? "min" : mode == PORTA_SCHED_MODE_MAX ? "max" : "?";
}

const char *porta_sched_threshold_mode_name(uint32_t threshold_mode)
{
    return threshold_mode == PORTA_SCHED_THRESHOLD_ABS   ? "abs"
           : threshold_mode == PORTA_SCHED_THRESHOLD_REL ? "rel"
                                                         : "?";
}

uint32_t porta_sched_is_better(float x, float best, uint32_t mode, uint32_t threshold_mode,
                               float threshold)
{
    if (mode == PORTA_SCHED_MODE_MIN) {
        if (threshold_mode == PORTA_SCHED_THRESHOLD_REL) {
            float rel = 1.0f - threshold;
            return x < best * rel ? 1u : 0u;
        }
        return x < best - threshold ? 1u : 0u;
    }
    if (threshold_mode == PORTA_SCHED_THRESHOLD_REL) {
        float rel = 1.0f + threshold;
        return x > best * rel ? 1u : 0u;
    }
    return x > best + threshold ? 1u : 0u;
}

float porta_sched_powi(float g, uint32_t n)
{
    float r = 1.0f;
    float b = g;
    while (n != 0u) {
        if ((n & 1u) != 0u)
            r = r * b;
        n >>= 1;
        if (n != 0u)
            b = b * b;
    }
    return r;
}

/* 1/n! rounded to fp32, printed with 9 significant digits so that every
 * compiler (C, OpenCL C, GLSL) parses them to the same bits. */
#define PORTA_C2 0.5f
#define PORTA_C3 0.166666672f
#define PORTA_C4 0.0416666679f
#define PORTA_C5 0.00833333377f
#define PORTA_C6 0.00138888892f
#define PORTA_C7 0.000198412701f
#define PORTA_C8 2.48015876e-05f
#define PORTA_C9 2.75573188e-06f
#define PORTA_C10 2.755732e-07f
#define PORTA_C11 2.50521079e-08f
#define PORTA_C12 2.08767559e-09f
#define PORTA_HALF_PI 1.57079637f

/* cos(u) for u in [0, pi/4], Horner in v = u^2, innermost first. */
static float cos_poly(float u)
{
    float v = u * u;
    float p = PORTA_C12;
    p = v * p - PORTA_C10;
    p = v * p + PORTA_C8;
    p = v * p - PORTA_C6;
    p = v * p + PORTA_C4;
    p = v * p - PORTA_C2;
    return v * p + 1.0f;
}

/* sin(u) for u in [0, pi/4]. */
static float sin_poly(float u)
{
    float v = u * u;
    float p = -PORTA_C11;
    p = v * p + PORTA_C9;
    p = v * p - PORTA_C7;
    p = v * p + PORTA_C5;
    p = v * p - PORTA_C3;
    return u * (v * p + 1.0f);
}

float porta_sched_cosine_coeff(uint32_t k, uint32_t d)
{
    if (d == 0u)
        return 0.0f;
    if (k > d)
        k = d;
    float c;
    if (k <= d - k) { /* 2k <= d without overflow */
        float r = (float)k / (float)d;
        c = cos_poly(r * PORTA_HALF_PI);
    } else {
        float r = (float)(d - k) / (float)d;
        c = sin_poly(r * PORTA_HALF_PI);
    }
    return c * c;
}

size_t porta_sched_text_append(char *buf, size_t cap, size_t at, const char *fmt, ...)
{
    char *dst = NULL;
    size_t room = 0;
    if (buf && at < cap) {
        dst = buf + at;
        room = cap - at;
    }
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(dst, room, fmt, ap);
    va_end(ap);
    return n < 0 ? at : at + (size_t)n;
}

size_t porta_sched_text_floats(char *buf, size_t cap, size_t at, const char *name, const float *v,
                               uint32_t n)
{
    at = porta_sched_text_append(buf, cap, at, " %s=[", name);
    for (uint32_t g = 0; g < n && g < PORTA_SCHED_MAX_GROUPS; g++)
        at = porta_sched_text_append(buf, cap, at, "%s%.9g", g ? ", " : "", (double)v[g]);
    return porta_sched_text_append(buf, cap, at, "]");
}

static int is_finite_nonneg(float x)
{
    return isfinite(x) && x >= 0.0f;
}

/* ---- ReduceLROnPlateau --------------------------------------------------- */

porta_plateau_config porta_plateau_defaults(void)
{
    porta_plateau_config c;
    memset(&c, 0, sizeof(c));
    c.mode = PORTA_SCHED_MODE_MIN;
    c.factor = 0.1f;
    c.patience = 10;
    c.threshold = 1e-4f;
    c.threshold_mode = PORTA_SCHED_THRESHOLD_REL;
    c.cooldown = 0;
    c.eps = 1e-8f;
    c.n_groups = 1;
    c.initial_lr[0] = 1e-3f;
    c.min_lr[0] = 0.0f;
    return c;
}

porta_status porta_plateau_validate(const porta_plateau_config *c, porta_msg *msg)
{
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    if (!c)
        return porta_msg_set(msg, bad, "ReduceLROnPlateau: the config pointer is NULL");
    if (c->mode > 1u)
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau mode = %u is invalid: it must be 0 (min) or 1 "
                             "(max)",
                             (unsigned)c->mode);
    if (!(c->factor > 0.0f && c->factor < 1.0f))
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau factor = %g is invalid: it must be in (0, 1) "
                             "(new lr = lr x factor)",
                             (double)c->factor);
    if (c->patience < 0 || c->patience > PORTA_SCHED_MAX_COUNT)
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau patience = %d is invalid: it must be between 0 "
                             "and %d",
                             (int)c->patience, PORTA_SCHED_MAX_COUNT);
    if (c->threshold_mode > 1u)
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau threshold_mode = %u is invalid: it must be 0 "
                             "(abs) or 1 (rel)",
                             (unsigned)c->threshold_mode);
    if (!is_finite_nonneg(c->threshold))
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau threshold = %g is invalid: it must be finite "
                             "and >= 0",
                             (double)c->threshold);
    if (c->threshold_mode == PORTA_SCHED_THRESHOLD_REL && !(c->threshold < 1.0f))
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau threshold = %g is invalid with threshold_mode "
                             "rel: it must be below 1",
                             (double)c->threshold);
    if (c->cooldown < 0 || c->cooldown > PORTA_SCHED_MAX_COUNT)
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau cooldown = %d is invalid: it must be between 0 "
                             "and %d",
                             (int)c->cooldown, PORTA_SCHED_MAX_COUNT);
    if (!is_finite_nonneg(c->eps))
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau eps = %g is invalid: it must be finite and >= 0",
                             (double)c->eps);
    if (c->n_groups < 1u || c->n_groups > PORTA_SCHED_MAX_GROUPS)
        return porta_msg_set(msg, bad,
                             "ReduceLROnPlateau n_groups = %u is invalid: it must be between 1 "
                             "and %d (PORTA_SCHED_MAX_GROUPS)",
                             (unsigned)c->n_groups, PORTA_SCHED_MAX_GROUPS);
    for (uint32_t g = 0; g < c->n_groups; g++) {
        if (!is_finite_nonneg(c->initial_lr[g]))
            return porta_msg_set(msg, bad,
                                 "ReduceLROnPlateau initial_lr[%u] = %g is invalid: it must be "
                                 "finite and >= 0",
                                 (unsigned)g, (double)c->initial_lr[g]);
        if (!is_finite_nonneg(c->min_lr[g]))
            return porta_msg_set(msg, bad,
                                 "ReduceLROnPlateau min_lr[%u] = %g is invalid: it must be "
                                 "finite and >= 0",
                                 (unsigned)g, (double)c->min_lr[g]);
    }
    return PORTA_OK;
}

size_t porta_plateau_describe(const porta_plateau_config *c, char *buf, size_t cap)
{
    if (buf && cap)
        buf[0] = '\0';
    size_t at = porta_sched_text_append(buf, cap, 0,
                                        "plateau mode=%s factor=%.9g patience=%d threshold=%.9g "
                                        "threshold_mode=%s cooldown=%d eps=%.9g groups=%u",
                                        porta_sched_mode_name(c->mode), (double)c->factor,
                                        (int)c->patience, (double)c->threshold,
                                        porta_sched_threshold_mode_name(c->threshold_mode),
                                        (int)c->cooldown, (double)c->eps, (unsigned)c->n_groups);
    at = porta_sched_text_floats(buf, cap, at, "lr", c->initial_lr, c->n_groups);
    return porta_sched_text_floats(buf, cap, at, "min_lr", c->min_lr, c->n_groups);
}

void porta_plateau_init(porta_plateau_state *s, const porta_plateau_config *c)
{
    memset(s, 0, sizeof(*s));
    for (uint32_t g = 0; g < c->n_groups && g < PORTA_SCHED_MAX_GROUPS; g++)
        s->lr[g] = c->initial_lr[g];
    s->best = c->mode == PORTA_SCHED_MODE_MIN ? INFINITY : -INFINITY;
}

uint32_t porta_plateau_step(porta_plateau_state *s, const porta_plateau_config *c, float metric)
{
    uint32_t ev = 0;
    s->step += 1u;
    s->metric = metric;
    if (!isfinite(metric))
        ev |= PORTA_SCHED_EV_NONFINITE;
    if (porta_sched_is_better(metric, s->best, c->mode, c->threshold_mode, c->threshold)) {
        s->best = metric;
        s->num_bad = 0;
        ev |= PORTA_SCHED_EV_IMPROVED;
    } else {
        s->num_bad += 1;
    }
    if (s->cooldown_counter > 0) {
        s->cooldown_counter -= 1;
        s->num_bad = 0;
        ev |= PORTA_SCHED_EV_FROZEN;
    }
    if (s->num_bad > c->patience) {
        for (uint32_t g = 0; g < c->n_groups; g++) {
            float old_lr = s->lr[g];
            float new_lr = fmaxf(old_lr * c->factor, c->min_lr[g]);
            if (old_lr - new_lr > c->eps) {
                s->lr[g] = new_lr;
                ev |= PORTA_SCHED_EV_CHANGED;
            }
        }
        s->cooldown_counter = c->cooldown;
        s->num_bad = 0;
        s->n_decrease += 1u;
        ev |= PORTA_SCHED_EV_DECREASE;
    }
    s->events = ev;
    return ev;
}

/* ---- closed-form schedules ----------------------------------------------- */

porta_sched_config porta_sched_defaults(uint32_t kind)
{
    porta_sched_config c;
    memset(&c, 0, sizeof(c));
    c.kind = kind;
    c.n_groups = 1;
    c.warmup_steps = 0;
    c.total_steps = 1000;
    c.step_size = 30;
    c.gamma = kind == PORTA_SCHED_EXPONENTIAL ? 0.99f : 0.1f;
    c.t_0 = 100;
    c.t_mult = 1;
    c.base_lr[0] = 1e-3f;
    c.final_lr[0] = 0.0f;
    return c;
}

static const char *sched_kind_name(uint32_t kind)
{
    switch (kind) {
    case PORTA_SCHED_CONSTANT:
        return "constant";
    case PORTA_SCHED_WARMUP_COSINE:
        return "warmup_cosine";
    case PORTA_SCHED_STEP:
        return "step";
    case PORTA_SCHED_EXPONENTIAL:
        return "exponential";
    case PORTA_SCHED_COSINE_RESTARTS:
        return "cosine_restarts";
    case PORTA_SCHED_PLATEAU:
        return "plateau";
    case PORTA_SCHED_GREEDYLR:
        return "greedylr";
    default:
        return "?";
    }
}

static porta_status check_count(const char *name, int32_t v, int32_t lo, porta_msg *msg)
{
    if (v < lo || v > PORTA_SCHED_MAX_COUNT)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "schedule %s = %d is invalid: it must be between %d and %d", name,
                             (int)v, (int)lo, PORTA_SCHED_MAX_COUNT);
    return PORTA_OK;
}

static porta_status check_gamma(float gamma, porta_msg *msg)
{
    if (!(isfinite(gamma) && gamma > 0.0f))
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "schedule gamma = %g is invalid: it must be finite and > 0",
                             (double)gamma);
    return PORTA_OK;
}

porta_status porta_sched_validate(const porta_sched_config *c, porta_msg *msg)
{
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st;
    if (!c)
        return porta_msg_set(msg, bad, "schedule: the config pointer is NULL");
    if (c->kind > PORTA_SCHED_COSINE_RESTARTS)
        return porta_msg_set(msg, bad,
                             "schedule kind = %u (%s) is invalid: it must be a closed-form "
                             "schedule (constant, warmup_cosine, step, exponential, "
                             "cosine_restarts); plateau and greedylr have their own state",
                             (unsigned)c->kind, sched_kind_name(c->kind));
    if (c->n_groups < 1u || c->n_groups > PORTA_SCHED_MAX_GROUPS)
        return porta_msg_set(msg, bad,
                             "schedule n_groups = %u is invalid: it must be between 1 and %d "
                             "(PORTA_SCHED_MAX_GROUPS)",
                             (unsigned)c->n_groups, PORTA_SCHED_MAX_GROUPS);
    switch (c->kind) {
    case PORTA_SCHED_WARMUP_COSINE:
        if ((st = check_count("warmup_steps", c->warmup_steps, 0, msg)) != PORTA_OK)
            return st;
        if ((st = check_count("total_steps", c->total_steps, 0, msg)) != PORTA_OK)
            return st;
        if (c->total_steps < c->warmup_steps)
            return porta_msg_set(msg, bad,
                                 "schedule total_steps = %d is invalid: it must be at least "
                                 "warmup_steps = %d",
                                 (int)c->total_steps, (int)c->warmup_steps);
        break;
    case PORTA_SCHED_STEP:
        if ((st = check_count("step_size", c->step_size, 1, msg)) != PORTA_OK)
            return st;
        if ((st = check_gamma(c->gamma, msg)) != PORTA_OK)
            return st;
        break;
    case PORTA_SCHED_EXPONENTIAL:
        if ((st = check_gamma(c->gamma, msg)) != PORTA_OK)
            return st;
        break;
    case PORTA_SCHED_COSINE_RESTARTS:
        if ((st = check_count("t_0", c->t_0, 1, msg)) != PORTA_OK)
            return st;
        if ((st = check_count("t_mult", c->t_mult, 1, msg)) != PORTA_OK)
            return st;
        break;
    default:
        break;
    }
    for (uint32_t g = 0; g < c->n_groups; g++) {
        if (!is_finite_nonneg(c->base_lr[g]))
            return porta_msg_set(msg, bad,
                                 "schedule base_lr[%u] = %g is invalid: it must be finite and "
                                 ">= 0",
                                 (unsigned)g, (double)c->base_lr[g]);
        if ((c->kind == PORTA_SCHED_WARMUP_COSINE || c->kind == PORTA_SCHED_COSINE_RESTARTS) &&
            !is_finite_nonneg(c->final_lr[g]))
            return porta_msg_set(msg, bad,
                                 "schedule final_lr[%u] = %g is invalid: it must be finite and "
                                 ">= 0",
                                 (unsigned)g, (double)c->final_lr[g]);
    }
    return PORTA_OK;
}

size_t porta_sched_describe(const porta_sched_config *c, char *buf, size_t cap)
{
    if (buf && cap)
        buf[0] = '\0';
    size_t at = porta_sched_text_append(buf, cap, 0, "%s", sched_kind_name(c->kind));
    switch (c->kind) {
    case PORTA_SCHED_WARMUP_COSINE:
        at = porta_sched_text_append(buf, cap, at, " warmup_steps=%d total_steps=%d",
                                     (int)c->warmup_steps, (int)c->total_steps);
        break;
    case PORTA_SCHED_STEP:
        at = porta_sched_text_append(buf, cap, at, " step_size=%d gamma=%.9g", (int)c->step_size,
                                     (double)c->gamma);
        break;
    case PORTA_SCHED_EXPONENTIAL:
        at = porta_sched_text_append(buf, cap, at, " gamma=%.9g", (double)c->gamma);
        break;
    case PORTA_SCHED_COSINE_RESTARTS:
        at =
            porta_sched_text_append(buf, cap, at, " t_0=%d t_mult=%d", (int)c->t_0, (int)c->t_mult);
        break;
    default:
        break;
    }
    at = porta_sched_text_append(buf, cap, at, " groups=%u", (unsigned)c->n_groups);
    at = porta_sched_text_floats(buf, cap, at, "lr", c->base_lr, c->n_groups);
    if (c->kind == PORTA_SCHED_WARMUP_COSINE)
        at = porta_sched_text_floats(buf, cap, at, "final_lr", c->final_lr, c->n_groups);
    else if (c->kind == PORTA_SCHED_COSINE_RESTARTS)
        at = porta_sched_text_floats(buf, cap, at, "eta_min", c->final_lr, c->n_groups);
    return at;
}

/* Cycle position of CosineAnnealingWarmRestarts after t steps. */
static void restarts_position(uint32_t t, uint32_t t_0, uint32_t t_mult, uint32_t *t_cur,
                              uint32_t *t_i)
{
    const uint32_t cap = 0x80000000u;
    if (t_mult == 1u) {
        *t_cur = t % t_0;
        *t_i = t_0;
        return;
    }
    uint32_t cur = t, len = t_0;
    while (cur >= len) {
        cur -= len;
        len = len <= cap / t_mult ? len * t_mult : cap;
    }
    *t_cur = cur;
    *t_i = len;
}

float porta_sched_lr(const porta_sched_config *c, uint32_t g, uint32_t t)
{
    if (g >= c->n_groups || g >= PORTA_SCHED_MAX_GROUPS)
        return 0.0f;
    float base = c->base_lr[g];
    float fin = c->final_lr[g];
    switch (c->kind) {
    case PORTA_SCHED_CONSTANT:
        return base;
    case PORTA_SCHED_WARMUP_COSINE: {
        uint32_t w = (uint32_t)c->warmup_steps, total = (uint32_t)c->total_steps;
        if (t < w) {
            float frac = (float)(t + 1u) / (float)w;
            return base * frac;
        }
        if (t >= total)
            return fin;
        float coeff = porta_sched_cosine_coeff(t - w, total - w);
        return fin + coeff * (base - fin);
    }
    case PORTA_SCHED_STEP:
        return base * porta_sched_powi(c->gamma, t / (uint32_t)c->step_size);
    case PORTA_SCHED_EXPONENTIAL:
        return base * porta_sched_powi(c->gamma, t);
    case PORTA_SCHED_COSINE_RESTARTS: {
        uint32_t t_cur, t_i;
        restarts_position(t, (uint32_t)c->t_0, (uint32_t)c->t_mult, &t_cur, &t_i);
        float coeff = porta_sched_cosine_coeff(t_cur, t_i);
        return fin + coeff * (base - fin);
    }
    default:
        return 0.0f;
    }
}
