/* sched_compare.c: see sched_compare.h. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sched_compare.h"

typedef struct run {
    size_t n;
    uint32_t groups;
    float *lr;        /* n * groups */
    uint32_t *events; /* n */
    porta_sched_device_state final;
} run;

static bool run_alloc(run *r, size_t n, uint32_t groups)
{
    memset(r, 0, sizeof(*r));
    r->n = n;
    r->groups = groups;
    r->lr = porta__check_alloc(n * groups + 1, sizeof(float));
    r->events = porta__check_alloc(n + 1, sizeof(uint32_t));
    return r->lr && r->events;
}

static void run_free(run *r)
{
    free(r->lr);
    free(r->events);
}

static porta_status run_device(porta_context *ctx, run *r, const porta_sched_device_config *cfg,
                               const porta_sched_device_state *init, const float *metrics)
{
    return porta__sched_replay(ctx, cfg, init, metrics, r->n, r->lr, r->events, &r->final);
}

typedef struct diff {
    double max_rel;
    long lr_bits, first_step, event_steps, final_word;
} diff;

static double rel_diff(float expect, float got)
{
    if (memcmp(&expect, &got, sizeof(float)) == 0)
        return 0.0;
    if (!isfinite(expect) || !isfinite(got))
        return INFINITY;
    const double d = fabs((double)got - (double)expect);
    return expect == 0.0f ? INFINITY : d / fabs((double)expect);
}

static diff compare(const run *a, const run *b)
{
    diff d = {0.0, 0, -1, 0, -1};
    for (size_t s = 0; s < a->n; s++) {
        bool step_differs = a->events[s] != b->events[s];
        d.event_steps += step_differs;
        for (uint32_t g = 0; g < a->groups; g++) {
            const float x = a->lr[s * a->groups + g], y = b->lr[s * a->groups + g];
            d.max_rel = fmax(d.max_rel, rel_diff(x, y));
            if (memcmp(&x, &y, sizeof(float)) != 0) {
                d.lr_bits++;
                step_differs = true;
            }
        }
        if (step_differs && d.first_step < 0)
            d.first_step = (long)s + 1;
    }
    const uint32_t *x = (const uint32_t *)&a->final, *y = (const uint32_t *)&b->final;
    for (long w = 0; w < PORTA_SCHED_DEVICE_STATE_WORDS && d.final_word < 0; w++)
        if (x[w] != y[w])
            d.final_word = w;
    return d;
}

void porta__check_sched_replay(porta__check *c, const char *name,
                               const porta_sched_device_config *cfg, const float *metrics, size_t n)
{
    porta_sched_device_state init;
    porta__sched_device_init(cfg, &init);
    run host = {0}, dev = {0};
    const bool ok = run_alloc(&host, n, cfg->n_groups) && run_alloc(&dev, n, cfg->n_groups);
    if (porta__check_host_memory(c, ok) &&
        porta__check_call(c, run_device(c->ctx, &dev, cfg, &init, metrics), "%s", name)) {
        host.final = init;
        for (size_t s = 0; s < n; s++) {
            host.events[s] = porta__sched_host_advance(cfg, &host.final, metrics[s]);
            memcpy(host.lr + s * host.groups, host.final.lr, host.groups * sizeof(float));
        }
        const diff d = compare(&host, &dev);
        if (strcmp(c->info.type, "cpu") == 0)
            porta__check_case(c, d.lr_bits == 0 && d.event_steps == 0 && d.final_word < 0,
                              "%s: %ld rates and %ld steps' events differ from the host (first at "
                              "step %ld, largest relative difference %.3g), final state word %ld",
                              name, d.lr_bits, d.event_steps, d.first_step, d.max_rel,
                              d.final_word);
        else
            porta__check_case(c, d.max_rel <= 1e-6,
                              "%s: rates differ from the host by %.3g relative (first at step "
                              "%ld; tolerance 1e-6)",
                              name, d.max_rel, d.first_step);
        if (d.max_rel <= 1e-6 && d.max_rel / 1e-6 > c->worst)
            c->worst = d.max_rel / 1e-6;
    }
    run_free(&host);
    run_free(&dev);
}

/* The device state after some steps, through the host checkpoint format
 * (GreedyLR) or the host state (plateau), back into a device state. */
static porta_status round_trip(porta_context *ctx, const porta_sched_device_config *cfg,
                               const porta_sched_device_state *mid, porta_sched_device_state *out)
{
    porta_msg *msg = &ctx->msg;
    if (cfg->kind == PORTA_SCHED_PLATEAU) {
        porta_plateau_state p;
        porta_status st = porta__sched_device_to_plateau(cfg, mid, &p, msg);
        return st ? st : porta__sched_device_from_plateau(cfg, &p, out, msg);
    }
    porta_greedylr_state gs;
    porta_status st = porta__sched_device_to_greedylr(cfg, mid, &gs, msg);
    unsigned char buf[PORTA_GREEDYLR_SAVE_BYTES];
    size_t written = 0;
    if (!st)
        st = porta_greedylr_save(&cfg->greedy, &gs, buf, sizeof(buf), &written);
    porta_greedylr_config lc;
    porta_greedylr_state ls;
    if (!st)
        st = porta_greedylr_load(buf, written, &lc, &ls, msg);
    if (!st && memcmp(&lc, &cfg->greedy, sizeof(lc)) != 0)
        st = porta_msg_set(msg, PORTA_ERROR_MISMATCH, "the reloaded GreedyLR config differs");
    return st ? st : porta__sched_device_from_greedylr(cfg, &ls, out, msg);
}

void porta__check_sched_interrupt(porta__check *c, const char *name,
                                  const porta_sched_device_config *cfg, const float *metrics,
                                  size_t pre, size_t post)
{
    porta_context *ctx = c->ctx;
    porta_sched_device_state init, restored;
    porta__sched_device_init(cfg, &init);
    run whole = {0}, first = {0}, rest = {0};
    const bool ok = run_alloc(&whole, pre + post, cfg->n_groups) &&
                    run_alloc(&first, pre, cfg->n_groups) && run_alloc(&rest, post, cfg->n_groups);
    porta_status st = ok ? run_device(ctx, &whole, cfg, &init, metrics) : PORTA_OK;
    if (ok && !st)
        st = run_device(ctx, &first, cfg, &init, metrics);
    if (ok && !st)
        st = round_trip(ctx, cfg, &first.final, &restored);
    if (ok && !st)
        st = run_device(ctx, &rest, cfg, &restored, metrics + pre);
    if (porta__check_host_memory(c, ok) && porta__check_call(c, st, "%s", name)) {
        run tail = whole;
        tail.n = post;
        tail.lr = whole.lr + pre * cfg->n_groups;
        tail.events = whole.events + pre;
        const diff d = compare(&tail, &rest);
        uint32_t ev = 0;
        for (size_t s = 0; s < post; s++)
            ev |= rest.events[s];
        porta__check_case(c,
                          d.lr_bits == 0 && d.event_steps == 0 && d.final_word < 0 &&
                              (ev & PORTA_SCHED_EV_DECREASE) && (ev & PORTA_SCHED_EV_FROZEN),
                          "%s: the restored run differs from the uninterrupted one: %ld rates, %ld "
                          "steps' events (first %ld steps after the restore), final state word "
                          "%ld%s",
                          name, d.lr_bits, d.event_steps, d.first_step, d.final_word,
                          (ev & PORTA_SCHED_EV_DECREASE) && (ev & PORTA_SCHED_EV_FROZEN)
                              ? ""
                              : "; or the continuation had no decrease and freeze to test");
    }
    run_free(&whole);
    run_free(&first);
    run_free(&rest);
}
