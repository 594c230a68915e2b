/* test_scheduler_device: the device schedulers (shaders/sched.kh, run by the
 * sched_replay kernel) against the host oracle, on every device.
 *
 *   (a) every docs/GREEDYLR.md scenario (the data of greedylr_scenarios.c, which
 *       test_scheduler_host checks against the page): the lr after every
 *       step, the events and the final state (good, bad, best, counters,
 *       window) equal to porta_greedylr_step's; scenario 17 as a device
 *       checkpoint round trip; scenario 18 as configs the device builder
 *       rejects;
 *   (b) every scheduler kind over 1000 steps of a noisy metric (NaN every
 *       37th step) against porta__sched_host_advance, plus one run longer
 *       than a replay dispatch;
 *   (c) interrupt and restore: 400 steps, device state -> host state ->
 *       porta_greedylr_save -> load -> device, 600 more steps: the same bits
 *       as an uninterrupted 1000-step device run.
 * Bits must be equal on CPU devices; elsewhere the lr must be within 1e-6
 * relative (sched.kh is written to be bit-exact on any device with
 * round-to-nearest +, -, *; the looser bound only keeps a GPU whose
 * compiler breaks that from failing silently: the max difference is
 * printed either way).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check/greedylr_scenarios.h"
#include "harness.h"
#include "internal.h"
#include "optim/sched_device.h"

#define KIND_STEPS 1000u
#define LONG_STEPS 9000u /* more than two replay dispatches */

/* What one run produced: the rate after every step, its events, the final
 * state. */
typedef struct run {
    size_t n;
    uint32_t groups;
    float *lr;        /* n * groups */
    uint32_t *events; /* n */
    porta_sched_device_state final;
} run;

static int run_alloc(run *r, size_t n, uint32_t groups)
{
    r->n = n;
    r->groups = groups;
    r->lr = calloc(n * groups + 1, sizeof(float));
    r->events = calloc(n + 1, sizeof(uint32_t));
    return r->lr && r->events;
}

static void run_free(run *r)
{
    free(r->lr);
    free(r->events);
}

/* The host mirror over the same metrics. */
static void run_host(run *r, const porta_sched_device_config *cfg,
                     const porta_sched_device_state *init, const float *metrics)
{
    r->final = *init;
    for (size_t s = 0; s < r->n; s++) {
        r->events[s] = porta__sched_host_advance(cfg, &r->final, metrics[s]);
        memcpy(r->lr + s * r->groups, r->final.lr, r->groups * sizeof(float));
    }
}

static porta_status run_device(porta_context *ctx, run *r, const porta_sched_device_config *cfg,
                               const porta_sched_device_state *init, const float *metrics)
{
    return porta__sched_replay(ctx, cfg, init, metrics, r->n, r->lr, r->events, &r->final);
}

/* How a device run differs from the host's. */
typedef struct diff {
    double max_rel;    /* largest relative lr difference */
    long lr_bits;      /* lr values whose bits differ */
    long first_step;   /* first step (1-based) with a difference, -1 if none */
    long event_steps;  /* steps whose events differ */
    int final_differs; /* the final states' bits differ */
    long final_word;   /* first differing word of the final state */
} diff;

static double rel_diff(float expect, float got)
{
    if (memcmp(&expect, &got, sizeof(float)) == 0)
        return 0.0;
    if (isnan(expect) || isnan(got) || isinf(expect) || isinf(got))
        return INFINITY;
    double d = fabs((double)got - (double)expect);
    return expect == 0.0f ? (d == 0.0 ? 0.0 : INFINITY) : d / fabs((double)expect);
}

static diff compare(const run *host, const run *dev)
{
    diff d = {0.0, 0, -1, 0, 0, -1};
    for (size_t s = 0; s < host->n; s++) {
        int step_differs = host->events[s] != dev->events[s];
        d.event_steps += step_differs;
        for (uint32_t g = 0; g < host->groups; g++) {
            float a = host->lr[s * host->groups + g], b = dev->lr[s * host->groups + g];
            double rd = rel_diff(a, b);
            d.max_rel = rd > d.max_rel ? rd : d.max_rel;
            if (memcmp(&a, &b, sizeof(float)) != 0) {
                d.lr_bits++;
                step_differs = 1;
            }
        }
        if (step_differs && d.first_step < 0)
            d.first_step = (long)s + 1;
    }
    const uint32_t *a = (const uint32_t *)&host->final, *b = (const uint32_t *)&dev->final;
    for (long w = 0; w < PORTA_SCHED_DEVICE_STATE_WORDS && d.final_word < 0; w++)
        if (a[w] != b[w])
            d.final_word = w;
    d.final_differs = d.final_word >= 0;
    return d;
}

/* Check a device run against the host's: bits on a CPU device, 1e-6
 * relative elsewhere. Returns the max relative difference. */
static double check_runs(test_state *t, const porta_device_info *info, const char *name,
                         const run *host, const run *dev)
{
    diff d = compare(host, dev);
    int cpu = strcmp(info->type, "cpu") == 0;
    if (cpu) {
        CHECK(t, d.lr_bits == 0 && d.event_steps == 0,
              "%s %s: %ld lr values and %ld steps' events differ from the host (first at step "
              "%ld, max rel diff %.3g)",
              info->spec, name, d.lr_bits, d.event_steps, d.first_step, d.max_rel);
        CHECK(t, !d.final_differs, "%s %s: final state word %ld differs from the host", info->spec,
              name, d.final_word);
    } else {
        CHECK(t, d.max_rel <= 1e-6, "%s %s: max rel lr diff %.3g (first at step %ld)", info->spec,
              name, d.max_rel, d.first_step);
    }
    return d.max_rel;
}

/* Replay on the device and on the host; check. Returns the max rel diff. */
static double replay_and_check(test_state *t, porta_context *ctx, const porta_device_info *info,
                               const char *name, const porta_sched_device_config *cfg,
                               const float *metrics, size_t n)
{
    porta_sched_device_state init;
    porta__sched_device_init(cfg, &init);
    run host, dev;
    double worst = INFINITY;
    if (run_alloc(&host, n, cfg->n_groups) && run_alloc(&dev, n, cfg->n_groups)) {
        run_host(&host, cfg, &init, metrics);
        porta_status st = run_device(ctx, &dev, cfg, &init, metrics);
        CHECK_OK(t, ctx, st, name);
        if (st == PORTA_OK)
            worst = check_runs(t, info, name, &host, &dev);
    }
    run_free(&host);
    run_free(&dev);
    return worst;
}

/* ---- (a) the docs/GREEDYLR.md scenarios ----------------------------------- */

/* The device trajectory of one scenario against porta_greedylr_step itself. */
static void scenario_check(test_state *t, porta_context *ctx, const porta_device_info *info,
                           const greedylr_scenario *sc)
{
    porta_sched_device_config cfg;
    porta_status st = porta__sched_device_config_greedylr(&sc->config, &cfg, NULL);
    CHECK(t, st == PORTA_OK, "%s: config rejected", sc->name);
    if (st)
        return;
    replay_and_check(t, ctx, info, sc->name, &cfg, sc->metrics, (size_t)sc->n);

    /* the final state, field by field, against the plain host step */
    porta_greedylr_state host;
    porta_greedylr_init(&host, &sc->config);
    for (int i = 0; i < sc->n; i++)
        porta_greedylr_step(&host, &sc->config, sc->metrics[i]);
    porta_sched_device_state init, fin;
    porta__sched_device_init(&cfg, &init);
    float lr[GREEDYLR_SCENARIO_MAX_STEPS * PORTA_SCHED_MAX_GROUPS];
    st = porta__sched_replay(ctx, &cfg, &init, sc->metrics, (size_t)sc->n, lr, NULL, &fin);
    porta_greedylr_state dev;
    if (st == PORTA_OK)
        st = porta__sched_device_to_greedylr(&cfg, &fin, &dev, &ctx->msg);
    CHECK_OK(t, ctx, st, sc->name);
    if (st)
        return;
    CHECK(t,
          dev.good == host.good && dev.bad == host.bad &&
              memcmp(&dev.best, &host.best, sizeof(float)) == 0 &&
              dev.cooldown_left == host.cooldown_left && dev.warmup_left == host.warmup_left &&
              dev.reset_left == host.reset_left && dev.step == host.step &&
              dev.n_increase == host.n_increase && dev.n_decrease == host.n_decrease &&
              dev.n_reset == host.n_reset && dev.n_nonfinite == host.n_nonfinite,
          "%s %s: final counters: device good %d bad %d best %.9g step %u, host good %d bad %d "
          "best %.9g step %u",
          info->spec, sc->name, (int)dev.good, (int)dev.bad, (double)dev.best, (unsigned)dev.step,
          (int)host.good, (int)host.bad, (double)host.best, (unsigned)host.step);
    CHECK(t,
          dev.window_count == host.window_count && dev.window_head == host.window_head &&
              memcmp(dev.window, host.window, sizeof(dev.window)) == 0,
          "%s %s: final window differs from the host", info->spec, sc->name);
    CHECK(t, memcmp(&dev, &host, sizeof(dev)) == 0, "%s %s: final state bits differ", info->spec,
          sc->name);
}

/* Checkpoint a device run after `pre` steps through the host format and
 * continue it for `post` more; compare with the uninterrupted device run. */
static void interrupt_check(test_state *t, porta_context *ctx, const porta_device_info *info,
                            const char *name, const porta_sched_device_config *cfg,
                            const float *metrics, size_t pre, size_t post);

/* Scenario 17: the mid-run checkpoint configs, on the device. */
static void scenario_17(test_state *t, porta_context *ctx, const porta_device_info *info)
{
    float metrics[350];
    for (int which = 0; which < 2; which++) {
        uint32_t rng = which == 0 ? 12345u : 777u;
        for (uint32_t s = 0; s < 350; s++)
            metrics[s] = porta__greedylr_noisy_metric(&rng, s);
        porta_greedylr_config c = porta__greedylr_checkpoint_config(which);
        porta_sched_device_config cfg;
        porta_status st = porta__sched_device_config_greedylr(&c, &cfg, NULL);
        CHECK(t, st == PORTA_OK, "scenario 17: config %d rejected", which);
        if (!st)
            interrupt_check(t, ctx, info,
                            which ? "scenario 17 (device checkpoint, 3 groups, resets)"
                                  : "scenario 17 (device checkpoint)",
                            &cfg, metrics, 150, 200);
    }
}

/* Scenario 18: the device builder rejects what the validator rejects, with
 * the same message, and leaves its output alone. */
static void scenario_18(test_state *t)
{
    for (int i = 0; i < GREEDYLR_INVALID_COUNT; i++) {
        greedylr_invalid v = porta__greedylr_invalid_make(i);
        porta_msg msg;
        msg.text[0] = '\0';
        porta_sched_device_config cfg, before;
        memset(&cfg, 0x5A, sizeof(cfg));
        before = cfg;
        porta_status st = porta__sched_device_config_greedylr(&v.config, &cfg, &msg);
        CHECK(t,
              st == PORTA_ERROR_INVALID_ARGUMENT && strstr(msg.text, v.word) &&
                  strstr(msg.text, v.value),
              "scenario 18 (%s): device config status %d, message \"%s\"", v.what, (int)st,
              msg.text);
        CHECK(t, memcmp(&cfg, &before, sizeof(cfg)) == 0,
              "scenario 18 (%s): output written on error", v.what);
    }
}

static void scenarios(test_state *t, porta_context *ctx, const porta_device_info *info)
{
    for (int id = 0; id < GREEDYLR_SC_COUNT; id++) {
        greedylr_scenario sc = porta__greedylr_scenario_make((greedylr_scenario_id)id);
        scenario_check(t, ctx, info, &sc);
    }
    scenario_17(t, ctx, info);
    scenario_18(t);
}

/* ---- (b) every kind --------------------------------------------------------- */

static void noisy_metrics(float *m, size_t n, uint32_t seed)
{
    uint32_t rng = seed;
    for (size_t s = 0; s < n; s++)
        m[s] = porta__greedylr_noisy_metric(&rng, (uint32_t)s);
}

/* GreedyLR, two groups: frequent increases, decreases, freezes, resets. */
static porta_greedylr_config greedy_config(uint32_t smooth, int32_t window)
{
    porta_greedylr_config c = porta__greedylr_scenario_base();
    c.smooth = smooth;
    c.window_size = window;
    c.patience = 2;
    c.cooldown = 2;
    c.warmup = 1;
    c.reset_start = 3;
    c.factor = 0.7f;
    c.threshold = 1e-3f;
    c.threshold_mode = PORTA_SCHED_THRESHOLD_REL;
    c.n_groups = 2;
    c.initial_lr[0] = 0.05f, c.min_lr[0] = 0.01f, c.max_lr[0] = 0.2f;
    c.initial_lr[1] = 3e-4f, c.min_lr[1] = 1e-5f, c.max_lr[1] = 1e-3f;
    return c;
}

static porta_plateau_config plateau_config(void)
{
    porta_plateau_config c = porta_plateau_defaults();
    c.n_groups = 2;
    c.patience = 4;
    c.factor = 0.5f;
    c.cooldown = 2;
    c.threshold = 1e-2f;
    c.initial_lr[0] = 0.1f, c.min_lr[0] = 1e-4f;
    c.initial_lr[1] = 0.01f, c.min_lr[1] = 0.0f;
    return c;
}

/* A closed-form schedule with three groups. */
static porta_sched_config stateless_config(uint32_t kind, int32_t t_mult)
{
    porta_sched_config c = porta_sched_defaults(kind);
    c.n_groups = 3;
    for (int g = 0; g < 3; g++) {
        c.base_lr[g] = 0.1f / (float)(g + 1) + 1e-3f;
        c.final_lr[g] = 1e-4f * (float)g;
    }
    c.warmup_steps = 100;
    c.total_steps = 900; /* the last 100 steps sit at final_lr */
    c.step_size = 97;
    c.gamma = kind == PORTA_SCHED_EXPONENTIAL ? 0.995f : 0.7f;
    c.t_0 = 50;
    c.t_mult = t_mult;
    return c;
}

typedef struct kind_case {
    const char *name;
    porta_sched_device_config cfg;
} kind_case;

static int kind_cases(kind_case *k)
{
    int n = 0;
    porta_greedylr_config g = greedy_config(0, 50);
    k[n].name = "greedylr (raw)";
    porta__sched_device_config_greedylr(&g, &k[n++].cfg, NULL);
    g = greedy_config(1, 7);
    k[n].name = "greedylr (smoothing, window 7)";
    porta__sched_device_config_greedylr(&g, &k[n++].cfg, NULL);
    g = greedy_config(1, 256);
    k[n].name = "greedylr (smoothing, window 256)";
    porta__sched_device_config_greedylr(&g, &k[n++].cfg, NULL);
    porta_plateau_config p = plateau_config();
    k[n].name = "plateau";
    porta__sched_device_config_plateau(&p, &k[n++].cfg, NULL);
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
    for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++) {
        porta_sched_config c = stateless_config(closed[i].kind, closed[i].t_mult);
        k[n].name = closed[i].name;
        porta__sched_device_config_stateless(&c, &k[n++].cfg, NULL);
    }
    return n;
}

static void every_kind(test_state *t, porta_context *ctx, const porta_device_info *info)
{
    static float metrics[LONG_STEPS];
    noisy_metrics(metrics, LONG_STEPS, 4242u);
    kind_case k[16];
    int n = kind_cases(k);
    for (int i = 0; i < n; i++) {
        CHECK(t, k[i].cfg.n_groups >= 1, "%s: config not built", k[i].name);
        double rd = replay_and_check(t, ctx, info, k[i].name, &k[i].cfg, metrics, KIND_STEPS);
        printf("  %s %-32s %u steps: max rel lr diff %.3g%s\n", info->spec, k[i].name, KIND_STEPS,
               rd, rd == 0.0 ? " (bits equal)" : "");
    }
    porta_greedylr_config g = greedy_config(1, 256);
    kind_case longrun = {"greedylr (window 256, 9000 steps)", {0}};
    porta__sched_device_config_greedylr(&g, &longrun.cfg, NULL);
    double rd = replay_and_check(t, ctx, info, longrun.name, &longrun.cfg, metrics, LONG_STEPS);
    printf("  %s %-32s %u steps: max rel lr diff %.3g\n", info->spec, "greedylr (window 256)",
           LONG_STEPS, rd);
}

/* ---- (c) interrupt and restore ---------------------------------------------- */

/* The device state after `pre` steps, through the host checkpoint format
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
        st = porta_msg_set(msg, PORTA_ERROR_MISMATCH, "the loaded config differs");
    return st ? st : porta__sched_device_from_greedylr(cfg, &ls, out, msg);
}

static void interrupt_check(test_state *t, porta_context *ctx, const porta_device_info *info,
                            const char *name, const porta_sched_device_config *cfg,
                            const float *metrics, size_t pre, size_t post)
{
    porta_sched_device_state init, restored;
    porta__sched_device_init(cfg, &init);
    run whole, first, rest;
    int ok = run_alloc(&whole, pre + post, cfg->n_groups) &&
             run_alloc(&first, pre, cfg->n_groups) && run_alloc(&rest, post, cfg->n_groups);
    porta_status st =
        ok ? run_device(ctx, &whole, cfg, &init, metrics) : PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (!st)
        st = run_device(ctx, &first, cfg, &init, metrics);
    if (!st)
        st = round_trip(ctx, cfg, &first.final, &restored);
    if (!st)
        st = run_device(ctx, &rest, cfg, &restored, metrics + pre);
    CHECK_OK(t, ctx, st, name);
    if (!st) {
        /* the continuation against the tail of the uninterrupted run */
        run tail = whole;
        tail.n = post;
        tail.lr = whole.lr + pre * cfg->n_groups;
        tail.events = whole.events + pre;
        diff d = compare(&tail, &rest);
        CHECK(t, d.lr_bits == 0 && d.event_steps == 0 && !d.final_differs,
              "%s %s: restored run differs: %ld lr values, %ld steps' events (first at step "
              "%ld after the restore), final state word %ld",
              info->spec, name, d.lr_bits, d.event_steps, d.first_step, d.final_word);
        uint32_t ev = 0;
        for (size_t s = 0; s < post; s++)
            ev |= rest.events[s];
        CHECK(t, (ev & PORTA_SCHED_EV_DECREASE) && (ev & PORTA_SCHED_EV_FROZEN),
              "%s %s: the continuation has decreases and freezes", info->spec, name);
    }
    run_free(&whole);
    run_free(&first);
    run_free(&rest);
}

static void interrupts(test_state *t, porta_context *ctx, const porta_device_info *info)
{
    static float metrics[KIND_STEPS];
    noisy_metrics(metrics, KIND_STEPS, 99u);
    kind_case k[3];
    porta_greedylr_config g = greedy_config(1, 50);
    k[0].name = "interrupt at 400: greedylr (smoothing, window 50)";
    porta__sched_device_config_greedylr(&g, &k[0].cfg, NULL);
    g = greedy_config(0, 50);
    k[1].name = "interrupt at 400: greedylr (raw)";
    porta__sched_device_config_greedylr(&g, &k[1].cfg, NULL);
    porta_plateau_config p = plateau_config();
    k[2].name = "interrupt at 400: plateau";
    porta__sched_device_config_plateau(&p, &k[2].cfg, NULL);
    for (int i = 0; i < 3; i++)
        interrupt_check(t, ctx, info, k[i].name, &k[i].cfg, metrics, 400, 600);
}

/* ---- errors ------------------------------------------------------------------ */

/* porta__sched_replay refuses what the kernel cannot run. */
static void replay_errors(test_state *t, porta_context *ctx, const porta_device_info *info)
{
    porta_greedylr_config g = greedy_config(0, 50);
    porta_sched_device_config cfg;
    porta__sched_device_config_greedylr(&g, &cfg, NULL);
    porta_sched_device_state init;
    porta__sched_device_init(&cfg, &init);
    float m[2] = {1.0f, 2.0f}, lr[2 * PORTA_SCHED_MAX_GROUPS];
    porta_sched_device_config bad = cfg;
    bad.kind = 7;
    porta_status st = porta__sched_replay(ctx, &bad, &init, m, 2, lr, NULL, NULL);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT && strstr(porta_context_message(ctx), "kind"),
          "%s: replay of kind 7: %d %s", info->spec, (int)st, porta_context_message(ctx));
    bad = cfg;
    bad.n_groups = 0;
    st = porta__sched_replay(ctx, &bad, &init, m, 2, lr, NULL, NULL);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT && strstr(porta_context_message(ctx), "n_groups"),
          "%s: replay of 0 groups: %d %s", info->spec, (int)st, porta_context_message(ctx));
    st = porta__sched_replay(ctx, &cfg, &init, NULL, 2, lr, NULL, NULL);
    CHECK(t, st == PORTA_ERROR_INVALID_ARGUMENT, "%s: replay without metrics: %d", info->spec,
          (int)st);
    porta_sched_device_state fin;
    st = porta__sched_replay(ctx, &cfg, &init, NULL, 0, NULL, NULL, &fin);
    CHECK(t, st == PORTA_OK && memcmp(&fin, &init, sizeof(fin)) == 0,
          "%s: a replay of 0 steps returns the initial state (%d)", info->spec, (int)st);
}

/* The conversions refuse the wrong kind and impossible states. */
static void conversion_errors(test_state *t)
{
    porta_msg msg;
    porta_greedylr_config g = greedy_config(1, 5);
    porta_plateau_config p = plateau_config();
    porta_sched_device_config gc, pc;
    porta__sched_device_config_greedylr(&g, &gc, NULL);
    porta__sched_device_config_plateau(&p, &pc, NULL);
    porta_sched_device_state st;
    porta__sched_device_init(&pc, &st);
    porta_greedylr_state gs;
    porta_status s = porta__sched_device_to_greedylr(&pc, &st, &gs, &msg);
    CHECK(t, s == PORTA_ERROR_INVALID_ARGUMENT && strstr(msg.text, "GreedyLR"),
          "GreedyLR state from a plateau config: %d %s", (int)s, msg.text);
    porta_plateau_state ps;
    s = porta__sched_device_to_plateau(&gc, &st, &ps, &msg);
    CHECK(t, s == PORTA_ERROR_INVALID_ARGUMENT, "plateau state from a GreedyLR config: %d", (int)s);
    porta__sched_device_init(&gc, &st);
    st.greedy.window[9] = 1.0f; /* outside the (empty) window */
    s = porta__sched_device_to_greedylr(&gc, &st, &gs, &msg);
    CHECK(t, s == PORTA_ERROR_CORRUPT_DATA && strstr(msg.text, "window[9]"),
          "device state with a stray window value: %d %s", (int)s, msg.text);
    porta_sched_device_state out;
    memset(&out, 0x33, sizeof(out));
    porta_sched_device_state before = out;
    s = porta__sched_device_from_greedylr(&gc, &st.greedy, &out, &msg);
    CHECK(t, s == PORTA_ERROR_CORRUPT_DATA && memcmp(&out, &before, sizeof(out)) == 0,
          "restoring an impossible GreedyLR state: %d, output untouched", (int)s);
}

static void check_device(test_state *t, porta_context *ctx, const porta_device_info *info,
                         void *user)
{
    (void)user;
    scenarios(t, ctx, info);
    every_kind(t, ctx, info);
    interrupts(t, ctx, info);
    replay_errors(t, ctx, info);
}

int main(void)
{
    test_init();
    test_state t = {0};
    conversion_errors(&t);
    test_for_each_device(&t, check_device, NULL);
    return test_finish(&t);
}
