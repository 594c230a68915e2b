/* sched_device.c: device scheduler configs and states on the host, the
 * host mirror of SCHED_ADVANCE, and the sched_replay driver (see
 * sched_device.h and shaders/sched.kh). */
#include <string.h>

#include "internal.h"
#include "sched_device.h"

/* ---- configs and states -------------------------------------------------- */

porta_status porta__sched_device_config_greedylr(const porta_greedylr_config *c,
                                                 porta_sched_device_config *out, porta_msg *msg)
{
    porta_status st = porta_greedylr_validate(c, msg, NULL);
    if (st)
        return st;
    if (!out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "GreedyLR: out is NULL");
    memset(out, 0, sizeof(*out));
    out->kind = PORTA_SCHED_GREEDYLR;
    out->n_groups = c->n_groups;
    out->greedy = *c;
    return PORTA_OK;
}

porta_status porta__sched_device_config_plateau(const porta_plateau_config *c,
                                                porta_sched_device_config *out, porta_msg *msg)
{
    porta_status st = porta_plateau_validate(c, msg);
    if (st)
        return st;
    if (!out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "ReduceLROnPlateau: out is NULL");
    memset(out, 0, sizeof(*out));
    out->kind = PORTA_SCHED_PLATEAU;
    out->n_groups = c->n_groups;
    out->plateau = *c;
    return PORTA_OK;
}

porta_status porta__sched_device_config_stateless(const porta_sched_config *c,
                                                  porta_sched_device_config *out, porta_msg *msg)
{
    porta_status st = porta_sched_validate(c, msg);
    if (st)
        return st;
    if (!out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "schedule: out is NULL");
    memset(out, 0, sizeof(*out));
    out->kind = c->kind;
    out->n_groups = c->n_groups;
    out->stateless = *c;
    return PORTA_OK;
}

void porta__sched_device_init(const porta_sched_device_config *cfg, porta_sched_device_state *st)
{
    memset(st, 0, sizeof(*st));
    if (cfg->kind == PORTA_SCHED_GREEDYLR) {
        porta_greedylr_init(&st->greedy, &cfg->greedy);
        memcpy(st->lr, st->greedy.lr, sizeof(st->lr));
    } else if (cfg->kind == PORTA_SCHED_PLATEAU) {
        porta_plateau_init(&st->plateau, &cfg->plateau);
        memcpy(st->lr, st->plateau.lr, sizeof(st->lr));
    } else {
        for (uint32_t g = 0; g < PORTA_SCHED_MAX_GROUPS; g++)
            st->lr[g] = porta_sched_lr(&cfg->stateless, g, 0u);
    }
}

/* ---- the host mirror of SCHED_ADVANCE ------------------------------------ */

/* sched.kh glr_window_size: window_size clamped to 1..256. */
static uint32_t window_size(int32_t size)
{
    if (size < 1)
        return 1u;
    return (uint32_t)size < PORTA_GREEDYLR_MAX_WINDOW ? (uint32_t)size : PORTA_GREEDYLR_MAX_WINDOW;
}

/* SCHED_GLR_CARRY_WINDOW_: the first window_size slots are kept when the
 * window holds values, every other slot becomes 0 (a no-op on a valid
 * state). */
static void carry_window(porta_greedylr_state *g, int32_t size)
{
    uint32_t keep = g->window_count == 0u ? 0u : window_size(size);
    for (uint32_t i = keep; i < PORTA_GREEDYLR_MAX_WINDOW; i++)
        g->window[i] = 0.0f;
}

static uint32_t float_bits(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof(u));
    return u;
}

/* SCHED_STATELESS_ADVANCE_ for the new step count t. */
static uint32_t stateless_advance(const porta_sched_config *c, float *lr, uint32_t t)
{
    uint32_t ev = 0u;
    for (uint32_t g = 0; g < PORTA_SCHED_MAX_GROUPS; g++) {
        float v = porta_sched_lr(c, g, t);
        if (float_bits(v) != float_bits(lr[g]))
            ev |= PORTA_SCHED_EV_CHANGED;
        lr[g] = v;
    }
    return ev;
}

uint32_t porta__sched_host_advance(const porta_sched_device_config *cfg,
                                   porta_sched_device_state *st, float metric)
{
    uint32_t t = st->t + 1u;
    carry_window(&st->greedy, cfg->greedy.window_size);
    if (cfg->kind == PORTA_SCHED_GREEDYLR) {
        st->events = porta_greedylr_step(&st->greedy, &cfg->greedy, metric);
        memcpy(st->lr, st->greedy.lr, sizeof(st->lr));
    } else if (cfg->kind == PORTA_SCHED_PLATEAU) {
        st->events = porta_plateau_step(&st->plateau, &cfg->plateau, metric);
        memcpy(st->lr, st->plateau.lr, sizeof(st->lr));
    } else if (cfg->kind < PORTA_SCHED_PLATEAU) {
        st->events = stateless_advance(&cfg->stateless, st->lr, t);
    } else {
        st->events = 0u; /* unknown kind: the rate stays */
    }
    st->t = t;
    st->metric = metric;
    st->pad = 0u;
    return st->events;
}

/* ---- device state <-> host state ----------------------------------------- */

static porta_status wrong_kind(porta_msg *msg, const char *what, uint32_t kind)
{
    return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                         "device scheduler state: cannot convert to a %s state, the config's "
                         "kind is %u",
                         what, (unsigned)kind);
}

porta_status porta__sched_device_to_greedylr(const porta_sched_device_config *cfg,
                                             const porta_sched_device_state *st,
                                             porta_greedylr_state *out, porta_msg *msg)
{
    if (!cfg || !st || !out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device scheduler state: NULL argument");
    if (cfg->kind != PORTA_SCHED_GREEDYLR)
        return wrong_kind(msg, "GreedyLR", cfg->kind);
    porta_status s = porta_greedylr_check_state(&cfg->greedy, &st->greedy, msg);
    if (s)
        return s;
    *out = st->greedy;
    return PORTA_OK;
}

porta_status porta__sched_device_to_plateau(const porta_sched_device_config *cfg,
                                            const porta_sched_device_state *st,
                                            porta_plateau_state *out, porta_msg *msg)
{
    if (!cfg || !st || !out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device scheduler state: NULL argument");
    if (cfg->kind != PORTA_SCHED_PLATEAU)
        return wrong_kind(msg, "ReduceLROnPlateau", cfg->kind);
    *out = st->plateau;
    return PORTA_OK;
}

porta_status porta__sched_device_from_greedylr(const porta_sched_device_config *cfg,
                                               const porta_greedylr_state *s,
                                               porta_sched_device_state *out, porta_msg *msg)
{
    if (!cfg || !s || !out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device scheduler state: NULL argument");
    if (cfg->kind != PORTA_SCHED_GREEDYLR)
        return wrong_kind(msg, "GreedyLR", cfg->kind);
    porta_status st = porta_greedylr_check_state(&cfg->greedy, s, msg);
    if (st)
        return st;
    memset(out, 0, sizeof(*out));
    out->t = s->step;
    out->events = s->events;
    memcpy(out->lr, s->lr, sizeof(out->lr));
    out->greedy = *s;
    return PORTA_OK;
}

porta_status porta__sched_device_from_plateau(const porta_sched_device_config *cfg,
                                              const porta_plateau_state *s,
                                              porta_sched_device_state *out, porta_msg *msg)
{
    if (!cfg || !s || !out)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device scheduler state: NULL argument");
    if (cfg->kind != PORTA_SCHED_PLATEAU)
        return wrong_kind(msg, "ReduceLROnPlateau", cfg->kind);
    memset(out, 0, sizeof(*out));
    out->t = s->step;
    out->events = s->events;
    memcpy(out->lr, s->lr, sizeof(out->lr));
    out->plateau = *s;
    return PORTA_OK;
}

/* ---- replay on the device ------------------------------------------------ */

typedef struct replay_buffers {
    porta_buffer *cfg, *state, *metrics, *lr, *events;
} replay_buffers;

static void replay_free(porta_context *ctx, replay_buffers *b)
{
    porta_buffer_destroy(ctx, b->cfg);
    porta_buffer_destroy(ctx, b->state);
    porta_buffer_destroy(ctx, b->metrics);
    porta_buffer_destroy(ctx, b->lr);
    porta_buffer_destroy(ctx, b->events);
}

/* Allocate, upload the config, the initial state into half 0 and NaN bits
 * into half 1, and the metrics. */
static porta_status replay_setup(porta_context *ctx, replay_buffers *b,
                                 const porta_sched_device_config *cfg,
                                 const porta_sched_device_state *init, const float *metrics,
                                 size_t n)
{
    const size_t half = sizeof(porta_sched_device_state);
    size_t chunk = n < PORTA_SCHED_REPLAY_CHUNK ? n : PORTA_SCHED_REPLAY_CHUNK;
    if (chunk == 0)
        chunk = 1;
    porta_status st = porta_buffer_create(ctx, sizeof(*cfg), &b->cfg);
    if (!st)
        st = porta_buffer_create(ctx, 2 * half, &b->state);
    if (!st)
        st = porta_buffer_create(ctx, (n ? n : 1) * sizeof(float), &b->metrics);
    if (!st)
        st = porta_buffer_create(ctx, chunk * cfg->n_groups * sizeof(float), &b->lr);
    if (!st)
        st = porta_buffer_create(ctx, chunk * sizeof(uint32_t), &b->events);
    if (!st)
        st = porta_buffer_write(ctx, b->cfg, 0, sizeof(*cfg), cfg);
    if (!st)
        st = porta_buffer_write(ctx, b->state, 0, half, init);
    if (!st)
        st = ctx->backend.ops->buffer_fill(&ctx->backend, b->state->impl, half, half, 0xFFFFFFFFu);
    if (!st && n)
        st = porta_buffer_write(ctx, b->metrics, 0, n * sizeof(float), metrics);
    return st;
}

/* Steps [first, first + count) from half *h; reads their results back. */
static porta_status replay_chunk(porta_context *ctx, const replay_buffers *b, uint32_t groups,
                                 uint32_t first, uint32_t count, uint32_t *h, float *lr_out,
                                 uint32_t *events_out)
{
    porta_params_sched_replay p = {.n = count, .m_off = first, .start_half = *h};
    porta_bbuffer *bufs[] = {b->cfg->impl, b->state->impl, b->metrics->impl, b->lr->impl,
                             b->events->impl};
    porta_status st = porta__launch(ctx, PORTA_KERNEL_sched_replay, 1, bufs, &p);
    if (!st)
        st = porta_buffer_read(ctx, b->lr, 0, (size_t)count * groups * sizeof(float),
                               lr_out + (size_t)first * groups);
    if (!st && events_out)
        st = porta_buffer_read(ctx, b->events, 0, (size_t)count * sizeof(uint32_t),
                               events_out + first);
    *h ^= count & 1u;
    return st;
}

static porta_status replay_check(porta_context *ctx, const porta_sched_device_config *cfg,
                                 const porta_sched_device_state *init, const float *metrics,
                                 size_t n, const float *lr_out)
{
    porta_msg *msg = &ctx->msg;
    if (!cfg || !init || (n && (!metrics || !lr_out)))
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT, "porta__sched_replay: NULL %s",
                             !cfg    ? "config"
                             : !init ? "initial state"
                                     : "metrics or lr_out");
    if (cfg->kind > PORTA_SCHED_GREEDYLR)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta__sched_replay: kind %u is not a scheduler kind",
                             (unsigned)cfg->kind);
    if (cfg->n_groups < 1u || cfg->n_groups > PORTA_SCHED_MAX_GROUPS)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta__sched_replay: n_groups %u is outside 1..%d",
                             (unsigned)cfg->n_groups, PORTA_SCHED_MAX_GROUPS);
    if (n > UINT32_MAX)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta__sched_replay: %zu steps do not fit 32-bit indices", n);
    return PORTA_OK;
}

porta_status porta__sched_replay(porta_context *ctx, const porta_sched_device_config *cfg,
                                 const porta_sched_device_state *init, const float *metrics,
                                 size_t n, float *lr_out, uint32_t *events_out,
                                 porta_sched_device_state *final_state)
{
    porta_status st = porta__require_device(ctx);
    if (!st)
        st = replay_check(ctx, cfg, init, metrics, n, lr_out);
    if (st)
        return st;
    replay_buffers b = {NULL, NULL, NULL, NULL, NULL};
    st = replay_setup(ctx, &b, cfg, init, metrics, n);
    uint32_t h = 0u;
    for (size_t done = 0; !st && done < n; done += PORTA_SCHED_REPLAY_CHUNK) {
        size_t count = n - done < PORTA_SCHED_REPLAY_CHUNK ? n - done : PORTA_SCHED_REPLAY_CHUNK;
        st = replay_chunk(ctx, &b, cfg->n_groups, (uint32_t)done, (uint32_t)count, &h, lr_out,
                          events_out);
    }
    porta_sched_device_state last;
    if (!st)
        st = porta_buffer_read(ctx, b.state, h * sizeof(last), sizeof(last), &last);
    if (!st && last.t != init->t + (uint32_t)n)
        st = porta_msg_set(&ctx->msg, PORTA_ERROR_DRIVER,
                           "porta__sched_replay: the device ran %u of %zu scheduler steps (its "
                           "compiler or driver ended the replay loop early)",
                           (unsigned)(last.t - init->t), n);
    if (!st && final_state)
        *final_state = last;
    replay_free(ctx, &b);
    return st;
}
