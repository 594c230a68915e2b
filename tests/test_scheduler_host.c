/* test_scheduler_host.c: the host schedulers against docs/GREEDYLR.md and PyTorch.
 *
 * Every docs/GREEDYLR.md scenario (1-18) is a named check with the page's
 * numbers; then the deliberate differences D1-D4, the checkpoint round
 * trip, ReduceLROnPlateau against hand-computed PyTorch trajectories and
 * the closed-form schedules at hand-checked points. Prints one line per
 * failed check (expected vs got) and finally "N passed, M failed"; exits 0
 * only if nothing failed. Build with -ffp-contract=off, like the library.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/greedylr_scenarios.h"
#include "optim/scheduler.h"

static int n_pass, n_fail;

static void name_of(char *out, size_t cap, const char *fmt, va_list ap)
{
    vsnprintf(out, cap, fmt, ap);
}

/* Floats within 1e-6 relative (exact for infinities, 1e-12 absolute at 0). */
static void check_f(double expected, double got, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    name_of(name, sizeof(name), fmt, ap);
    va_end(ap);
    int ok;
    if (isinf(expected) || isnan(expected))
        ok = isnan(expected) ? isnan(got) : got == expected;
    else if (expected == 0.0)
        ok = fabs(got) <= 1e-12;
    else
        ok = fabs(got - expected) <= 1e-6 * fabs(expected);
    if (ok) {
        n_pass++;
    } else {
        n_fail++;
        printf("FAIL %s: expected %.9g, got %.9g\n", name, expected, got);
    }
}

static void check_i(long long expected, long long got, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    name_of(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (expected == got) {
        n_pass++;
    } else {
        n_fail++;
        printf("FAIL %s: expected %lld, got %lld\n", name, expected, got);
    }
}

static void check_t(int cond, const char *detail, const char *fmt, ...)
{
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    name_of(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (cond) {
        n_pass++;
    } else {
        n_fail++;
        printf("FAIL %s: expected true, got false (%s)\n", name, detail ? detail : "");
    }
}

/* A status and a message that names `word` (and `word2` if given). */
static void check_error(porta_status expected, porta_status got, const porta_msg *msg,
                        const char *word, const char *word2, const char *name)
{
    if (got != expected) {
        n_fail++;
        printf("FAIL %s: expected status %d, got %d (message: %s)\n", name, (int)expected, (int)got,
               msg->text);
        return;
    }
    if (!strstr(msg->text, word) || (word2 && !strstr(msg->text, word2))) {
        n_fail++;
        printf("FAIL %s: expected a message naming \"%s\"%s%s%s, got \"%s\"\n", name, word,
               word2 ? " and \"" : "", word2 ? word2 : "", word2 ? "\"" : "", msg->text);
        return;
    }
    n_pass++;
}

static porta_msg g_msg;

/* ---- GreedyLR scenarios ------------------------------------------------- */

/* The scenarios' configs and metric sequences live in
 * lib/check/greedylr_scenarios.c (test_scheduler_device and porta-check
 * replay the same ones on every device); the expected numbers from the
 * page are here. */
static porta_greedylr_config scen(void)
{
    return porta__greedylr_scenario_base();
}

static void start(porta_greedylr_state *s, const porta_greedylr_config *c, const char *name)
{
    uint32_t warn = 99;
    porta_status st = porta_greedylr_validate(c, &g_msg, &warn);
    check_i(PORTA_OK, st, "%s: config valid (%s)", name, st ? g_msg.text : "");
    (void)warn;
    porta_greedylr_init(s, c);
}

/* Start scenario `id`: its config in *c, a fresh state in *s. */
static greedylr_scenario start_scenario(greedylr_scenario_id id, porta_greedylr_config *c,
                                        porta_greedylr_state *s)
{
    greedylr_scenario sc = porta__greedylr_scenario_make(id);
    *c = sc.config;
    start(s, c, sc.name);
    return sc;
}

/* Feed metrics; check lr[0] after each step where lr != NULL. */
static void feed(porta_greedylr_state *s, const porta_greedylr_config *c, const char *name,
                 const float *metrics, const double *lr, int n)
{
    for (int i = 0; i < n; i++) {
        porta_greedylr_step(s, c, metrics[i]);
        if (lr)
            check_f(lr[i], s->lr[0], "%s step %d lr", name, (int)s->step);
    }
}

/* Feed metrics [first, first + n) of the scenario; check lr[0] after each
 * step where lr != NULL. */
static void feed_scenario(porta_greedylr_state *s, const porta_greedylr_config *c,
                          const greedylr_scenario *sc, int first, const double *lr, int n)
{
    check_t(first + n <= sc->n, NULL, "%s: scenario has %d metrics", sc->name, first + n);
    for (int i = 0; i < n && first + i < sc->n; i++) {
        porta_greedylr_step(s, c, sc->metrics[first + i]);
        if (lr)
            check_f(lr[i], s->lr[0], "%s step %d lr", sc->name, (int)s->step);
    }
}

static void scenario_1(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_1, &c, &s);
    const char *n = sc.name;
    const double lr[] = {0.1, 0.1, 0.1, 0.1, 0.09};
    const int bad[] = {0, 1, 2, 3, 0};
    check_i(5, sc.n, "%s metrics", n);
    for (int i = 0; i < 5 && i < sc.n; i++) {
        porta_greedylr_step(&s, &c, sc.metrics[i]);
        check_f(lr[i], s.lr[0], "%s step %d lr", n, i + 1);
        check_i(bad[i], s.bad, "%s step %d bad", n, i + 1);
    }
    check_t((s.events & PORTA_SCHED_EV_DECREASE) && (s.events & PORTA_SCHED_EV_CHANGED), NULL,
            "%s step 5 events DECREASE|CHANGED", n);
}

static void scenario_2(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_2, &c, &s);
    const char *n = sc.name;
    const double lr[] = {0.1, 0.1, 0.1, 0.1 / 0.9};
    const int good[] = {1, 2, 3, 0};
    check_i(4, sc.n, "%s metrics", n);
    for (int i = 0; i < 4 && i < sc.n; i++) {
        porta_greedylr_step(&s, &c, sc.metrics[i]);
        check_f(lr[i], s.lr[0], "%s step %d lr", n, i + 1);
        check_i(good[i], s.good, "%s step %d good", n, i + 1);
    }
    /* the page prints 0.111111: 0.1 / 0.9 to six decimals */
    check_t(fabs(s.lr[0] - 0.111111) < 5e-7, NULL, "%s lr rounds to 0.111111", n);
    check_f(4.096, s.best, "%s best", n);
}

static void scenario_3(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_3, &c, &s);
    const char *n = sc.name;
    check_f(INFINITY, s.best, "%s best before", n);
    check_i(1, sc.n, "%s metrics", n);
    check_f(5.0, sc.metrics[0], "%s metric", n);
    porta_greedylr_step(&s, &c, sc.metrics[0]);
    check_i(1, s.good, "%s good", n);
    check_i(0, s.bad, "%s bad", n);
    check_f(5.0, s.best, "%s best", n);
}

static void scenario_4(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_4, &c, &s);
    const char *n = sc.name;
    const int bad[] = {0, 1, 2, 3};
    check_i(5, sc.n, "%s metrics", n);
    for (int i = 0; i < 4; i++) {
        check_f(5.0, sc.metrics[i], "%s metric %d", n, i + 1);
        porta_greedylr_step(&s, &c, sc.metrics[i]);
        check_i(bad[i], s.bad, "%s step %d bad", n, i + 1);
        check_f(0.1, s.lr[0], "%s step %d lr", n, i + 1);
    }
    porta_greedylr_step(&s, &c, sc.metrics[4]);
    check_f(0.09, s.lr[0], "%s step 5 lr", n);
}

static void scenario_5(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_5, &c, &s);
    const char *n = sc.name;
    check_t(c.threshold == 0.1f && c.threshold_mode == PORTA_SCHED_THRESHOLD_REL &&
                c.patience == 2 && sc.n == 3,
            NULL, "%s setting", n);
    porta_greedylr_step(&s, &c, sc.metrics[0]); /* 10 */
    porta_greedylr_step(&s, &c, sc.metrics[1]); /* 9.5 */
    check_i(1, s.bad, "%s 9.5 bad", n);
    check_f(10.0, s.best, "%s 9.5 best", n);
    porta_greedylr_step(&s, &c, sc.metrics[2]); /* 8.9 */
    check_i(1, s.good, "%s 8.9 good", n);
    check_i(0, s.bad, "%s 8.9 bad", n);
    check_f(8.9, s.best, "%s 8.9 best", n);
}

static void scenario_6(void)
{
    const char *n = "scenario 6 (max mode)";
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario dec = start_scenario(GREEDYLR_SC_6_DECREASE, &c, &s);
    check_t(c.mode == PORTA_SCHED_MODE_MAX && c.patience == 2, NULL, "%s setting", n);
    check_f(-INFINITY, s.best, "%s best before", n);
    const double lr1[] = {0.1, 0.1, 0.1, 0.09};
    feed_scenario(&s, &c, &dec, 0, lr1, 4);
    greedylr_scenario inc = start_scenario(GREEDYLR_SC_6_INCREASE, &c, &s);
    const double lr2[] = {0.1, 0.1, 0.1 / 0.9};
    feed_scenario(&s, &c, &inc, 0, lr2, 3);
    check_f(3.375, s.best, "%s best", n);
}

static void scenario_7(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_7, &c, &s);
    const char *n = sc.name;
    check_t(c.patience == 1 && c.min_lr[0] == 0.01f && c.factor == 0.5f && sc.n == 40, NULL,
            "%s setting", n);
    const double lr[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.01};
    porta_greedylr_step(&s, &c, sc.metrics[0]); /* 1 */
    check_f(lr[0], s.lr[0], "%s step 1 lr", n);
    int below = 0;
    for (int i = 2; i <= 40 && i <= sc.n; i++) {
        check_f(10.0, sc.metrics[i - 1], "%s metric %d", n, i);
        porta_greedylr_step(&s, &c, sc.metrics[i - 1]);
        if (i <= 9)
            check_f(lr[i - 1], s.lr[0], "%s step %d lr", n, i);
        else
            check_f(0.01, s.lr[0], "%s step %d lr", n, i);
        below += s.lr[0] < 0.01f;
    }
    check_i(0, below, "%s steps below 0.01", n);
    check_i(0, s.n_reset, "%s resets", n);
    /* decrease events at the floor: steps 9, 11, ..., 39 */
    check_i(500 - 16, s.reset_left, "%s reset countdown", n);
}

static void scenario_8(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_8, &c, &s);
    const char *n = sc.name;
    check_t(c.patience == 1 && c.max_lr[0] == 0.2f && c.factor == 0.5f && sc.n == 20, NULL,
            "%s setting", n);
    float m = 1.0f;
    for (int i = 1; i <= 20 && i <= sc.n; i++) {
        check_t(sc.metrics[i - 1] == m, NULL, "%s metric %d is 0.8 x the previous", n, i);
        porta_greedylr_step(&s, &c, sc.metrics[i - 1]);
        m = m * 0.8f;
        check_f(i == 1 ? 0.1 : 0.2, s.lr[0], "%s step %d lr", n, i);
    }
    check_i(10, s.n_increase, "%s increase events", n);
    check_i(500, s.reset_left, "%s reset countdown", n);
}

static void scenario_9(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_9, &c, &s);
    const char *n = sc.name;
    check_t(c.patience == 2 && c.cooldown == 3 && sc.n == 8, NULL, "%s setting", n);
    const double lr[] = {0.1, 0.1, 0.1, 0.09};
    feed_scenario(&s, &c, &sc, 0, lr, 4); /* 5, 10, 10, 10 */
    check_i(3, s.cooldown_left, "%s cooldown after step 4", n);
    for (int i = 0; i < 3; i++) { /* 1, 100, 0.5: whatever the metric */
        porta_greedylr_step(&s, &c, sc.metrics[4 + i]);
        check_f(0.09, s.lr[0], "%s step %d lr", n, 5 + i);
        check_i(2 - i, s.cooldown_left, "%s step %d cooldown", n, 5 + i);
        check_i(0, s.good, "%s step %d good", n, 5 + i);
        check_i(0, s.bad, "%s step %d bad", n, 5 + i);
        check_f(5.0, s.best, "%s step %d best (not updated when frozen)", n, 5 + i);
        check_t((s.events & PORTA_SCHED_EV_FROZEN) != 0, NULL, "%s step %d frozen", n, 5 + i);
    }
    porta_greedylr_step(&s, &c, sc.metrics[7]); /* 0.5 */
    check_i(1, s.good, "%s step 8 good", n);
    check_f(0.5, s.best, "%s step 8 best", n);
}

static void scenario_10(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_10, &c, &s);
    const char *n = sc.name;
    check_t(c.patience == 2 && c.warmup == 3 && sc.n == 7, NULL, "%s setting", n);
    const double lr[] = {0.1, 0.1, 0.1 / 0.9};
    feed_scenario(&s, &c, &sc, 0, lr, 3); /* 8, 6.4, 5.12 */
    check_i(3, s.warmup_left, "%s warmup after step 3", n);
    for (int i = 0; i < 3; i++) { /* 4.096, 3.2768, 2.62144: improving */
        porta_greedylr_step(&s, &c, sc.metrics[3 + i]);
        check_f(0.1 / 0.9, s.lr[0], "%s step %d lr", n, 4 + i);
        check_f(5.12, s.best, "%s step %d best", n, 4 + i);
        check_i(2 - i, s.warmup_left, "%s step %d warmup", n, 4 + i);
        check_i(0, s.good, "%s step %d good", n, 4 + i);
        check_i(0, s.bad, "%s step %d bad", n, 4 + i);
    }
    porta_greedylr_step(&s, &c, sc.metrics[6]); /* 2 */
    check_i(1, s.good, "%s step 7 good", n);
    check_f(2.0, s.best, "%s step 7 best", n);
}

static void scenario_11(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_11, &c, &s);
    const char *n = sc.name;
    check_t(c.patience == 1 && c.min_lr[0] == 0.01f && c.factor == 0.5f && c.reset_start == 2 &&
                sc.n == 12,
            NULL, "%s setting", n);
    const double lr[] = {0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.0125, 0.0125, 0.01, 0.01, 0.1};
    feed_scenario(&s, &c, &sc, 0, lr, 11); /* 1, then 10 x 10 */
    check_t((s.events & PORTA_SCHED_EV_RESET) != 0, NULL, "%s step 11 reset event", n);
    check_i(1, s.n_reset, "%s resets", n);
    check_f(INFINITY, s.best, "%s step 11 best", n);
    check_i(0, s.good, "%s step 11 good", n);
    check_i(0, s.bad, "%s step 11 bad", n);
    check_i(0, s.cooldown_left, "%s step 11 cooldown", n);
    check_i(0, s.warmup_left, "%s step 11 warmup", n);
    check_i(2, s.reset_left, "%s step 11 countdown", n);
    porta_greedylr_step(&s, &c, sc.metrics[11]); /* 10 */
    check_i(1, s.good, "%s step 12 good", n);
    check_f(10.0, s.best, "%s step 12 best", n);
    check_f(0.1, s.lr[0], "%s step 12 lr", n);
}

static void scenario_12(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_12, &c, &s);
    const char *n = sc.name;
    check_t(c.n_groups == 2 && c.initial_lr[1] == 0.01f && c.patience == 2 && sc.n == 4, NULL,
            "%s setting", n);
    feed_scenario(&s, &c, &sc, 0, NULL, 4); /* 5, 10, 10, 10 */
    check_f(0.09, s.lr[0], "%s group 0 lr", n);
    check_f(0.009, s.lr[1], "%s group 1 lr", n);
    check_f(0.0, s.lr[2], "%s unused group lr", n);
}

static void scenario_13(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_13, &c, &s);
    const char *n = sc.name;
    check_t(c.smooth == 1 && c.window_size == 3 && c.patience == 10 && sc.n == 5, NULL,
            "%s setting", n);
    check_f(NAN, porta_greedylr_rolling_mean(&s, &c), "%s empty window", n);
    const double mean[] = {1, 1.5, 2, 3, 4};
    for (int i = 0; i < 5 && i < sc.n; i++) { /* inputs 1, 2, 3, 4, 5 */
        porta_greedylr_step(&s, &c, sc.metrics[i]);
        check_f(mean[i], porta_greedylr_rolling_mean(&s, &c), "%s input %d mean", n, i + 1);
        check_f(mean[i], s.metric, "%s input %d compared value", n, i + 1);
    }
    check_i(3, s.window_count, "%s window count", n);
}

static void scenario_14(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_14, &c, &s);
    const char *n = sc.name;
    check_t(c.smooth == 1 && c.window_size == 3 && c.patience == 10 && sc.n == 4, NULL,
            "%s setting", n);
    const double sm[] = {10, 9, 8, 6};
    for (int i = 0; i < 4 && i < sc.n; i++) { /* 10, 8, 6, 4 */
        porta_greedylr_step(&s, &c, sc.metrics[i]);
        check_f(sm[i], s.metric, "%s step %d smoothed", n, i + 1);
    }
    check_f(6.0, s.best, "%s best after step 4", n);
    check_i(4, s.good, "%s good", n);
}

static void scenario_15(void)
{
    porta_greedylr_config c;
    porta_greedylr_state s;
    greedylr_scenario sc = start_scenario(GREEDYLR_SC_15, &c, &s);
    const char *n = sc.name;
    check_i(6, sc.n, "%s metrics", n);
    porta_greedylr_step(&s, &c, sc.metrics[0]); /* 5 */
    for (int i = 2; i <= 5; i++) {
        check_t(isnan(sc.metrics[i - 1]), NULL, "%s metric %d is NaN", n, i);
        porta_greedylr_step(&s, &c, sc.metrics[i - 1]);
        if (i <= 4)
            check_i(i - 1, s.bad, "%s step %d bad", n, i);
        check_f(i == 5 ? 0.09 : 0.1, s.lr[0], "%s step %d lr", n, i);
        check_f(5.0, s.best, "%s step %d best", n, i);
    }
    porta_greedylr_step(&s, &c, sc.metrics[5]); /* 4 */
    check_i(1, s.good, "%s step 6 good", n);
    check_f(4.0, s.best, "%s step 6 best", n);
}

static void scenario_16(void)
{
    greedylr_scenario sc = porta__greedylr_scenario_make(GREEDYLR_SC_16);
    const char *n = sc.name;
    porta_greedylr_config c = sc.config;
    check_t(c.initial_lr[0] == 5e-5f && c.min_lr[0] == 1e-3f && sc.n == 13, NULL, "%s setting", n);
    uint32_t warn = 0;
    porta_status st = porta_greedylr_validate(&c, &g_msg, &warn);
    check_i(PORTA_OK, st, "%s validates", n);
    check_i(PORTA_GREEDYLR_WARN_LR_AT_MIN, warn, "%s warning bit", n);
    char text[512];
    size_t len = porta_greedylr_describe_warnings(&c, warn, text, sizeof(text));
    check_i((long long)strlen(text), (long long)len, "%s warning length", n);
    check_t(strstr(text, "group 0") && strstr(text, "min_lr") && strstr(text, "0.001") &&
                strstr(text, "5e-05") && strstr(text, "never lower"),
            text, "%s warning says why", n);
    porta_greedylr_state s;
    porta_greedylr_init(&s, &c);
    porta_greedylr_step(&s, &c, sc.metrics[0]); /* 5 */
    for (int i = 2; i <= 9; i++) {              /* 10 x 8 */
        porta_greedylr_step(&s, &c, sc.metrics[i - 1]);
        check_f(5e-5, s.lr[0], "%s step %d lr (decrease cannot lower)", n, i);
    }
    check_i(2, s.n_decrease, "%s decrease events", n);
    check_i(498, s.reset_left, "%s countdown (at the floor)", n);
    for (int i = 9; i < 13; i++) /* 4, 3, 2, 1 */
        porta_greedylr_step(&s, &c, sc.metrics[i]);
    check_f(5e-5 / 0.9, s.lr[0], "%s increase still works", n);
    check_i(500, s.reset_left, "%s increase restores countdown", n);
}

static void scenario_18(void)
{
    const char *n = "scenario 18 (validation)";
    for (int i = 0; i < GREEDYLR_INVALID_COUNT; i++) {
        greedylr_invalid v = porta__greedylr_invalid_make(i);
        char name[128];
        snprintf(name, sizeof(name), "%s: %s", n, v.what);
        uint32_t warn = 77;
        porta_status st = porta_greedylr_validate(&v.config, &g_msg, &warn);
        check_error(PORTA_ERROR_INVALID_ARGUMENT, st, &g_msg, v.word, v.value, name);
        check_i(0, warn, "%s warnings cleared on error", name);
    }
    uint32_t mode = 42;
    porta_status st = porta_sched_parse_mode("unknown", &mode, &g_msg);
    check_error(PORTA_ERROR_INVALID_ARGUMENT, st, &g_msg, "mode", "\"unknown\"",
                "scenario 18 (validation): mode \"unknown\"");
    check_i(42, mode, "%s: mode untouched on error", n);
    check_i(PORTA_OK, porta_sched_parse_mode("max", &mode, &g_msg), "%s: parse \"max\"", n);
    check_i(PORTA_SCHED_MODE_MAX, mode, "%s: \"max\" value", n);
    check_i(PORTA_OK, porta_sched_parse_mode("min", &mode, &g_msg), "%s: parse \"min\"", n);
    check_i(PORTA_SCHED_MODE_MIN, mode, "%s: \"min\" value", n);
}

/* Rules the scenarios touch only in passing. */
static void greedylr_rules(void)
{
    const char *n = "GreedyLR rules";
    porta_greedylr_config c = scen();
    porta_greedylr_state s;

    /* eps: a change equal to eps is not applied (strictly larger only) */
    c.patience = 0;
    c.initial_lr[0] = 1.0f;
    c.factor = 0.5f;
    c.max_lr[0] = 1.5f;
    c.min_lr[0] = 0.5f;
    c.eps = 0.5f;
    start(&s, &c, n);
    porta_greedylr_step(&s, &c, 1.0f); /* increase: 1.5 - 1 = eps */
    check_f(1.0, s.lr[0], "%s: increase by exactly eps not applied", n);
    check_t((s.events & PORTA_SCHED_EV_INCREASE) && !(s.events & PORTA_SCHED_EV_CHANGED), NULL,
            "%s: increase fired without change", n);
    porta_greedylr_step(&s, &c, 1.0f); /* decrease: 1 - 0.5 = eps */
    check_f(1.0, s.lr[0], "%s: decrease by exactly eps not applied", n);
    c.eps = 0.4999f;
    start(&s, &c, n);
    porta_greedylr_step(&s, &c, 1.0f);
    check_f(1.5, s.lr[0], "%s: increase by more than eps applied", n);

    /* equal values are not better in every mode */
    const uint32_t modes[4][2] = {{PORTA_SCHED_MODE_MIN, PORTA_SCHED_THRESHOLD_ABS},
                                  {PORTA_SCHED_MODE_MIN, PORTA_SCHED_THRESHOLD_REL},
                                  {PORTA_SCHED_MODE_MAX, PORTA_SCHED_THRESHOLD_ABS},
                                  {PORTA_SCHED_MODE_MAX, PORTA_SCHED_THRESHOLD_REL}};
    for (int i = 0; i < 4; i++) {
        check_i(0, porta_sched_is_better(2.0f, 2.0f, modes[i][0], modes[i][1], 0.0f),
                "%s: %s/%s equal with threshold 0 not better", n,
                porta_sched_mode_name(modes[i][0]), porta_sched_threshold_mode_name(modes[i][1]));
        check_i(
            1,
            porta_sched_is_better(modes[i][0] ? 3.0f : 1.0f, 2.0f, modes[i][0], modes[i][1], 0.1f),
            "%s: %s/%s clearly better", n, porta_sched_mode_name(modes[i][0]),
            porta_sched_threshold_mode_name(modes[i][1]));
        check_i(0, porta_sched_is_better(NAN, 2.0f, modes[i][0], modes[i][1], 0.1f),
                "%s: %s/%s NaN not better", n, porta_sched_mode_name(modes[i][0]),
                porta_sched_threshold_mode_name(modes[i][1]));
    }
    check_i(1,
            porta_sched_is_better(1e30f, INFINITY, PORTA_SCHED_MODE_MIN, PORTA_SCHED_THRESHOLD_REL,
                                  0.5f),
            "%s: anything finite beats +inf (min/rel)", n);
    check_i(1,
            porta_sched_is_better(-1e30f, -INFINITY, PORTA_SCHED_MODE_MAX,
                                  PORTA_SCHED_THRESHOLD_REL, 0.5f),
            "%s: anything finite beats -inf (max/rel)", n);

    /* a reset with smoothing empties and zeroes the window */
    c = scen();
    c.patience = 0;
    c.factor = 0.5f;
    c.min_lr[0] = 0.05f;
    c.reset_start = 1;
    c.cooldown = 2;
    c.smooth = 1;
    c.window_size = 4;
    start(&s, &c, n);
    porta_greedylr_step(&s, &c, 1.0f); /* increase to 0.2 */
    porta_greedylr_step(&s, &c, 9.0f); /* mean 5: decrease to 0.1 */
    porta_greedylr_step(&s, &c, 9.0f); /* frozen */
    porta_greedylr_step(&s, &c, 9.0f); /* frozen */
    check_i(4, s.window_count, "%s: window full before reset", n);
    porta_greedylr_step(&s, &c, 9.0f); /* decrease to 0.05 = floor: reset */
    check_t((s.events & PORTA_SCHED_EV_RESET) != 0, NULL, "%s: reset fired", n);
    check_f(0.1, s.lr[0], "%s: reset restores lr", n);
    check_i(0, s.window_count, "%s: reset empties the window", n);
    check_i(0, s.window_head, "%s: reset rewinds the window", n);
    int nonzero = 0;
    for (int i = 0; i < PORTA_GREEDYLR_MAX_WINDOW; i++)
        nonzero += s.window[i] != 0.0f;
    check_i(0, nonzero, "%s: reset zeroes the window", n);
    check_i(2, s.cooldown_left, "%s: cooldown set right after the reset", n);
    check_i(PORTA_OK, porta_greedylr_check_state(&c, &s, &g_msg), "%s: state consistent", n);
}

/* ---- deliberate differences --------------------------------------------- */

static void difference_1(void)
{
    const char *n = "D1 (validation)";
    struct {
        const char *what, *word, *value;
    } expect[] = {
        {"window 257", "window_size", "256"},
        {"cooldown -1", "cooldown", "-1"},
        {"warmup -2", "warmup", "-2"},
        {"reset_start 0", "reset_start", "= 0 "},
        {"min_lr NaN", "min_lr[0]", "nan"},
        {"max_lr inf", "max_lr[0]", "inf"},
        {"min_lr -1", "min_lr[0]", "-1"},
        {"n_groups 0", "n_groups", "= 0 "},
        {"n_groups 9", "n_groups", "8"},
        {"factor NaN", "factor", "nan"},
        {"eps -1", "eps", "-1"},
        {"threshold inf", "threshold", "inf"},
        {"rel threshold 1", "threshold", "rel"},
        {"mode 2", "mode", "= 2 "},
        {"initial_lr inf", "initial_lr[1]", "inf"},
        {"smooth 3", "smooth", "= 3 "},
        {"threshold_mode 5", "threshold_mode", "= 5 "},
        {"patience 2e9", "patience", "2000000000"},
    };
    const int count = (int)(sizeof(expect) / sizeof(expect[0]));
    for (int i = 0; i < count; i++) {
        porta_greedylr_config c = scen();
        c.n_groups = 2;
        c.initial_lr[1] = 0.1f;
        c.min_lr[1] = 1e-6f;
        c.max_lr[1] = 1.0f;
        switch (i) {
        case 0:
            c.window_size = 257;
            break;
        case 1:
            c.cooldown = -1;
            break;
        case 2:
            c.warmup = -2;
            break;
        case 3:
            c.reset_start = 0;
            break;
        case 4:
            c.min_lr[0] = NAN;
            break;
        case 5:
            c.max_lr[0] = INFINITY;
            break;
        case 6:
            c.min_lr[0] = -1.0f;
            break;
        case 7:
            c.n_groups = 0;
            break;
        case 8:
            c.n_groups = 9;
            break;
        case 9:
            c.factor = NAN;
            break;
        case 10:
            c.eps = -1.0f;
            break;
        case 11:
            c.threshold = INFINITY;
            break;
        case 12:
            c.threshold = 1.0f, c.threshold_mode = PORTA_SCHED_THRESHOLD_REL;
            break;
        case 13:
            c.mode = 2;
            break;
        case 14:
            c.initial_lr[1] = INFINITY;
            break;
        case 15:
            c.smooth = 3;
            break;
        case 16:
            c.threshold_mode = 5;
            break;
        case 17:
            c.patience = 2000000000;
            break;
        }
        char name[128];
        snprintf(name, sizeof(name), "%s: %s", n, expect[i].what);
        porta_status st = porta_greedylr_validate(&c, &g_msg, NULL);
        check_error(PORTA_ERROR_INVALID_ARGUMENT, st, &g_msg, expect[i].word, expect[i].value,
                    name);
    }
    uint32_t tm = 9;
    porta_status st = porta_sched_parse_threshold_mode("relative", &tm, &g_msg);
    check_error(PORTA_ERROR_INVALID_ARGUMENT, st, &g_msg, "threshold_mode", "\"relative\"",
                "D1 (validation): threshold_mode \"relative\"");
    check_i(PORTA_OK, porta_sched_parse_threshold_mode("rel", &tm, &g_msg), "%s: parse rel", n);
    check_i(PORTA_SCHED_THRESHOLD_REL, tm, "%s: rel value", n);
    check_i(PORTA_OK, porta_sched_parse_threshold_mode("abs", &tm, &g_msg), "%s: parse abs", n);
    check_i(PORTA_SCHED_THRESHOLD_ABS, tm, "%s: abs value", n);
    st = porta_sched_parse_mode(NULL, &tm, &g_msg);
    check_error(PORTA_ERROR_INVALID_ARGUMENT, st, &g_msg, "mode", NULL, "D1: mode NULL");

    porta_greedylr_config d = porta_greedylr_defaults();
    uint32_t warn = 5;
    check_i(PORTA_OK, porta_greedylr_validate(&d, &g_msg, &warn), "%s: defaults valid", n);
    check_i(0, warn, "%s: defaults warn nothing", n);
    check_f(0.95, d.factor, "%s: default factor", n);
    check_i(10, d.patience, "%s: default patience", n);
    check_f(1e-6, d.threshold, "%s: default threshold", n);
    check_i(PORTA_SCHED_THRESHOLD_ABS, d.threshold_mode, "%s: default threshold_mode", n);
    check_f(1e-8, d.eps, "%s: default eps", n);
    check_i(50, d.window_size, "%s: default window", n);
    check_i(500, d.reset_start, "%s: default reset_start", n);
    check_f(1e-3, d.min_lr[0], "%s: default min_lr", n);
    check_f(1.0, d.max_lr[0], "%s: default max_lr", n);
    /* the largest window is accepted */
    d.window_size = PORTA_GREEDYLR_MAX_WINDOW;
    check_i(PORTA_OK, porta_greedylr_validate(&d, &g_msg, NULL), "%s: window 256 valid", n);
}

static void difference_2(void)
{
    const char *n = "D2 (non-finite metrics)";
    porta_greedylr_config c = scen();
    porta_greedylr_state s;

    /* min mode, no smoothing: -inf never becomes best */
    start(&s, &c, n);
    porta_greedylr_step(&s, &c, -INFINITY);
    check_i(1, s.bad, "%s: min -inf first step bad", n);
    check_f(INFINITY, s.best, "%s: min -inf not best", n);
    check_t((s.events & PORTA_SCHED_EV_NONFINITE) != 0, NULL, "%s: min -inf event", n);
    porta_greedylr_step(&s, &c, 5.0f);
    check_i(1, s.good, "%s: then 5 good", n);
    check_f(5.0, s.best, "%s: then 5 best", n);
    porta_greedylr_step(&s, &c, -INFINITY);
    check_i(1, s.bad, "%s: min -inf later bad", n);
    check_f(5.0, s.best, "%s: min -inf later not best", n);
    check_i(2, s.n_nonfinite, "%s: n_nonfinite", n);

    /* min mode, no smoothing: +inf behaves like the reference (a bad step) */
    start(&s, &c, n);
    const float m_inf[] = {5, INFINITY, INFINITY, INFINITY, INFINITY};
    const double lr_inf[] = {0.1, 0.1, 0.1, 0.1, 0.09};
    feed(&s, &c, "D2 (non-finite metrics): min +inf like reference", m_inf, lr_inf, 5);
    check_f(5.0, s.best, "%s: min +inf best", n);

    /* max mode: +inf never becomes best, -inf is bad */
    porta_greedylr_config cm = scen();
    cm.mode = PORTA_SCHED_MODE_MAX;
    start(&s, &cm, n);
    porta_greedylr_step(&s, &cm, INFINITY);
    check_f(-INFINITY, s.best, "%s: max +inf not best", n);
    check_i(1, s.bad, "%s: max +inf bad", n);
    porta_greedylr_step(&s, &cm, 3.0f);
    porta_greedylr_step(&s, &cm, -INFINITY);
    check_i(1, s.bad, "%s: max -inf bad", n);
    check_f(3.0, s.best, "%s: max best", n);
    porta_greedylr_step(&s, &cm, NAN);
    check_i(2, s.bad, "%s: max NaN bad", n);

    /* smoothing: non-finite values never enter the window */
    porta_greedylr_config cs = scen();
    cs.smooth = 1;
    cs.window_size = 3;
    cs.patience = 10;
    start(&s, &cs, n);
    porta_greedylr_step(&s, &cs, 1.0f);
    const float bad_values[] = {NAN, INFINITY, -INFINITY};
    for (int i = 0; i < 3; i++) {
        porta_greedylr_step(&s, &cs, bad_values[i]);
        check_i(1, s.window_count, "%s: smoothed value %d not pushed", n, i + 2);
        check_i(i + 1, s.bad, "%s: smoothed value %d bad", n, i + 2);
        check_f(1.0, s.best, "%s: smoothed value %d best", n, i + 2);
        check_f(1.0, porta_greedylr_rolling_mean(&s, &cs), "%s: smoothed value %d mean", n, i + 2);
    }
    porta_greedylr_step(&s, &cs, 2.0f);
    check_i(2, s.window_count, "%s: smoothed finite pushed", n);
    check_f(1.5, s.metric, "%s: smoothed mean unpoisoned", n);
    check_i(4, s.bad, "%s: 1.5 is not better than 1", n);
    check_f(1.0, s.window[0], "%s: window[0]", n);
    check_f(2.0, s.window[1], "%s: window[1]", n);
    check_f(0.0, s.window[2], "%s: window[2] unused", n);
    check_i(3, s.n_nonfinite, "%s: smoothed n_nonfinite", n);

    /* smoothing, frozen step: a NaN is not pushed either */
    porta_greedylr_config cf = cs;
    cf.patience = 0;
    cf.cooldown = 2;
    start(&s, &cf, n);
    porta_greedylr_step(&s, &cf, 1.0f); /* good 1 > 0: increase */
    porta_greedylr_step(&s, &cf, 2.0f); /* mean 1.5: bad: decrease, cooldown 2 */
    check_i(2, s.cooldown_left, "%s: frozen setup", n);
    porta_greedylr_step(&s, &cf, NAN);
    check_i(2, s.window_count, "%s: frozen NaN not pushed", n);
    check_i(1, s.cooldown_left, "%s: frozen NaN consumes cooldown", n);
    porta_greedylr_step(&s, &cf, 3.0f);
    check_i(3, s.window_count, "%s: frozen finite pushed", n);
    check_f(2.0, s.metric, "%s: frozen mean", n);

    /* a finite window whose sum overflows: the mean is +inf, a bad step */
    porta_greedylr_config co = cs;
    co.window_size = 2;
    start(&s, &co, n);
    porta_greedylr_step(&s, &co, 3e38f);
    porta_greedylr_step(&s, &co, 3e38f);
    check_t(isinf(s.metric), NULL, "%s: overflowing mean is inf", n);
    check_f(3e38, s.best, "%s: overflowing mean not best", n);
    check_i(1, s.bad, "%s: overflowing mean bad", n);
}

static void difference_3(void)
{
    const char *n = "D3 (diverged run: non-finite losses lower the rate)";
    porta_greedylr_config c = scen();
    c.smooth = 1;
    c.window_size = 5;
    porta_greedylr_state s;
    start(&s, &c, n);
    for (int i = 1; i <= 8; i++) {
        porta_greedylr_step(&s, &c, i % 2 ? NAN : INFINITY);
        check_f(i < 4 ? 0.1 : i < 8 ? 0.09 : 0.081, s.lr[0], "%s step %d lr", n, i);
    }
    check_i(8, s.n_nonfinite, "%s: n_nonfinite", n);
    check_i(0, s.window_count, "%s: window empty", n);
    check_f(INFINITY, s.best, "%s: best", n);
}

static void difference_4(void)
{
    const char *n = "D4 (warnings)";
    porta_greedylr_config c = scen();
    c.n_groups = 3;
    c.initial_lr[1] = 1e-6f; /* equal to min_lr: at the floor */
    c.min_lr[1] = 1e-6f;
    c.max_lr[1] = 1.0f;
    c.initial_lr[2] = 2.0f; /* above max_lr */
    c.min_lr[2] = 1e-6f;
    c.max_lr[2] = 1.0f;
    uint32_t warn = 0;
    check_i(PORTA_OK, porta_greedylr_validate(&c, &g_msg, &warn), "%s: valid", n);
    check_i(PORTA_GREEDYLR_WARN_LR_AT_MIN | PORTA_GREEDYLR_WARN_LR_ABOVE_MAX, warn, "%s: bits", n);
    char text[1024];
    porta_greedylr_describe_warnings(&c, warn, text, sizeof(text));
    check_t(strstr(text, "group 1") && !strstr(text, "group 0") && strstr(text, "group 2") &&
                strstr(text, "max_lr"),
            text, "%s: text names the groups", n);
    char small[16];
    size_t need = porta_greedylr_describe_warnings(&c, warn, small, sizeof(small));
    check_t(need > sizeof(small) && strlen(small) == sizeof(small) - 1, small,
            "%s: truncated safely", n);
    porta_greedylr_describe_warnings(&c, 0u, text, sizeof(text));
    check_i(0, (long long)strlen(text), "%s: no bits, no text", n);
}

/* ---- describe ------------------------------------------------------------ */

static void describe_checks(void)
{
    const char *n = "describe";
    porta_greedylr_config c = porta_greedylr_defaults();
    char text[1024];
    size_t len = porta_greedylr_describe(&c, text, sizeof(text));
    check_i((long long)strlen(text), (long long)len, "%s: greedylr length", n);
    check_t(strstr(text, "greedylr mode=min") && strstr(text, "patience=10") &&
                strstr(text, "window_size=50") && strstr(text, "reset_start=500") &&
                strstr(text, "threshold_mode=abs") && strstr(text, "min_lr=[0.00100000005]"),
            text, "%s: greedylr fields", n);
    char small[12];
    size_t need = porta_greedylr_describe(&c, small, sizeof(small));
    check_i((long long)len, (long long)need, "%s: greedylr needed length", n);
    check_i(sizeof(small) - 1, (long long)strlen(small), "%s: greedylr truncated", n);
    porta_plateau_config p = porta_plateau_defaults();
    porta_plateau_describe(&p, text, sizeof(text));
    check_t(strstr(text, "plateau mode=min") && strstr(text, "threshold_mode=rel") != NULL, text,
            "%s: plateau", n);
    porta_sched_config k = porta_sched_defaults(PORTA_SCHED_COSINE_RESTARTS);
    porta_sched_describe(&k, text, sizeof(text));
    check_t(strstr(text, "cosine_restarts t_0=100 t_mult=1") && strstr(text, "eta_min=[0]"), text,
            "%s: cosine_restarts", n);
}

/* ---- checkpoints (scenario 17) ------------------------------------------- */

/* The metrics are porta__greedylr_noisy_metric's (a noisy, slowly improving loss
 * with the occasional NaN). Run a mid-run checkpoint test: step `pre` steps (then on until some
 * counter is live and the window is full), save, load into garbage-filled
 * structs, then drive the uninterrupted and the restored run in lockstep
 * for 200 steps, comparing every state word (memcmp) after each step. */
static void checkpoint_run(const char *n, const porta_greedylr_config *c, uint32_t seed,
                           uint32_t pre)
{
    porta_greedylr_state a;
    start(&a, c, n);
    uint32_t rng = seed;
    uint32_t t = 0;
    while (t < pre || (a.good == 0 && a.bad == 0) || a.window_count != (uint32_t)c->window_size)
        porta_greedylr_step(&a, c, porta__greedylr_noisy_metric(&rng, t++));
    check_t((a.good > 0 || a.bad > 0) && a.n_increase > 0 && a.n_decrease > 0, NULL,
            "%s: mid-run state has live counters and history", n);

    unsigned char buf[PORTA_GREEDYLR_SAVE_BYTES + 8];
    size_t written = 0;
    check_i(PORTA_ERROR_INVALID_ARGUMENT, porta_greedylr_save(c, &a, buf, 100, &written),
            "%s: save into a small buffer", n);
    check_i(PORTA_GREEDYLR_SAVE_BYTES, (long long)written, "%s: size query", n);
    check_i(PORTA_OK, porta_greedylr_save(c, &a, buf, sizeof(buf), &written), "%s: save", n);
    check_i(PORTA_GREEDYLR_SAVE_BYTES, (long long)written, "%s: saved bytes", n);
    check_t(memcmp(buf, "PGLR", 4) == 0 && buf[4] == 1 && buf[5] == 0 &&
                buf[8] == PORTA_GREEDYLR_CONFIG_WORDS &&
                buf[12] == (PORTA_GREEDYLR_STATE_WORDS & 0xFF) &&
                buf[13] == (PORTA_GREEDYLR_STATE_WORDS >> 8),
            NULL, "%s: header little-endian", n);

    porta_greedylr_config cb;
    porta_greedylr_state b;
    memset(&cb, 0xAB, sizeof(cb));
    memset(&b, 0xCD, sizeof(b));
    porta_status st = porta_greedylr_load(buf, written, &cb, &b, &g_msg);
    check_i(PORTA_OK, st, "%s: load (%s)", n, st ? g_msg.text : "");
    check_t(memcmp(&cb, c, sizeof(cb)) == 0, NULL, "%s: config bits restored", n);
    check_t(memcmp(&b, &a, sizeof(a)) == 0, NULL, "%s: state bits restored", n);

    int first_diff = -1, changes = 0;
    uint32_t events = 0;
    for (int i = 0; i < 200; i++) {
        float m = porta__greedylr_noisy_metric(&rng, t++);
        uint32_t ea = porta_greedylr_step(&a, c, m);
        uint32_t eb = porta_greedylr_step(&b, &cb, m);
        events |= ea;
        changes += (ea & PORTA_SCHED_EV_CHANGED) != 0;
        if (first_diff < 0 && (ea != eb || memcmp(&a, &b, sizeof(a)) != 0))
            first_diff = i + 1;
    }
    check_i(-1, first_diff, "%s: first continuation step whose state bits differ", n);
    check_t(changes > 0 && (events & PORTA_SCHED_EV_INCREASE) &&
                (events & PORTA_SCHED_EV_DECREASE) && (events & PORTA_SCHED_EV_FROZEN) &&
                (events & PORTA_SCHED_EV_NONFINITE),
            NULL, "%s: the continuation exercises increases, decreases, freezes and NaN", n);
}

static void checkpoint_checks(void)
{
    porta_greedylr_config c = porta__greedylr_checkpoint_config(0);
    checkpoint_run("scenario 17 (checkpoint round trip)", &c, 12345u, 150u);
    c = porta__greedylr_checkpoint_config(1);
    checkpoint_run("scenario 17 (checkpoint round trip, 3 groups, resets)", &c, 777u, 123u);
}

static void checkpoint_errors(void)
{
    const char *n = "checkpoint errors";
    porta_greedylr_config c = scen();
    porta_greedylr_state s;
    start(&s, &c, n);
    for (int i = 0; i < 5; i++)
        porta_greedylr_step(&s, &c, 5.0f - (float)i);
    unsigned char good[PORTA_GREEDYLR_SAVE_BYTES], buf[PORTA_GREEDYLR_SAVE_BYTES + 4];
    size_t w = 0;
    porta_greedylr_save(&c, &s, good, sizeof(good), &w);

    porta_greedylr_config oc;
    porta_greedylr_state os;
    porta_greedylr_config oc0;
    porta_greedylr_state os0;
    memset(&oc, 0x11, sizeof(oc));
    memset(&os, 0x22, sizeof(os));
    oc0 = oc;
    os0 = os;
    porta_status st;

    st = porta_greedylr_load(good, 10, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "truncated", NULL, "checkpoint: 10 bytes");
    st = porta_greedylr_load(good, w - 1, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "truncated", NULL,
                "checkpoint: one byte short");
    memcpy(buf, good, w);
    buf[w] = 0;
    st = porta_greedylr_load(buf, w + 1, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "trailing", NULL,
                "checkpoint: trailing byte");
    memcpy(buf, good, w);
    buf[0] = 'X';
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "PGLR", NULL, "checkpoint: bad magic");
    memcpy(buf, good, w);
    buf[4] = 2;
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "version 2", NULL,
                "checkpoint: future version");
    memcpy(buf, good, w);
    buf[12] = 7;
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "state words", NULL,
                "checkpoint: wrong word count");
    memcpy(buf, good, w);
    buf[PORTA_GREEDYLR_HEADER_BYTES + 100] ^= 0x40;
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "checksum", NULL,
                "checkpoint: flipped payload bit");

    porta_greedylr_config badc = c;
    badc.factor = 1.5f;
    porta_greedylr_save(&badc, &s, buf, sizeof(buf), &w);
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "invalid config", "factor",
                "checkpoint: invalid config inside");
    porta_greedylr_state bads = s;
    bads.good = 99;
    porta_greedylr_save(&c, &bads, buf, sizeof(buf), &w);
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "impossible state", "good",
                "checkpoint: impossible counter");
    bads = s;
    bads.window[3] = 1.0f; /* smoothing off: the window must be empty and zero */
    porta_greedylr_save(&c, &bads, buf, sizeof(buf), &w);
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "window[3]", NULL,
                "checkpoint: stray window value");
    bads = s;
    bads.best = -INFINITY;
    porta_greedylr_save(&c, &bads, buf, sizeof(buf), &w);
    st = porta_greedylr_load(buf, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_CORRUPT_DATA, st, &g_msg, "best", NULL,
                "checkpoint: -inf best in min mode");
    st = porta_greedylr_load(NULL, w, &oc, &os, &g_msg);
    check_error(PORTA_ERROR_INVALID_ARGUMENT, st, &g_msg, "NULL", NULL, "checkpoint: NULL");
    check_t(memcmp(&oc, &oc0, sizeof(oc)) == 0 && memcmp(&os, &os0, sizeof(os)) == 0, NULL,
            "%s: failed loads leave config and state untouched", n);
    check_i(PORTA_OK, porta_greedylr_check_state(&c, &s, &g_msg), "%s: a real state passes", n);
}

/* ---- ReduceLROnPlateau ---------------------------------------------------- */

static void plateau_checks(void)
{
    const char *n = "plateau";
    porta_plateau_config d = porta_plateau_defaults();
    check_i(PORTA_OK, porta_plateau_validate(&d, &g_msg), "%s: defaults valid", n);
    check_t(d.mode == PORTA_SCHED_MODE_MIN && d.factor == 0.1f && d.patience == 10 &&
                d.threshold == 1e-4f && d.threshold_mode == PORTA_SCHED_THRESHOLD_REL &&
                d.cooldown == 0 && d.min_lr[0] == 0.0f && d.eps == 1e-8f,
            NULL, "%s: PyTorch defaults", n);

    /* Hand-computed from torch.optim.lr_scheduler.ReduceLROnPlateau.step:
     * lr 1.0, min, factor 0.5, patience 2, threshold 0.1 rel, cooldown 2,
     * min_lr 0.2. */
    porta_plateau_config c = d;
    c.initial_lr[0] = 1.0f;
    c.factor = 0.5f;
    c.patience = 2;
    c.threshold = 0.1f;
    c.cooldown = 2;
    c.min_lr[0] = 0.2f;
    check_i(PORTA_OK, porta_plateau_validate(&c, &g_msg), "%s: config valid", n);
    porta_plateau_state s;
    porta_plateau_init(&s, &c);
    const float m[19] = {10, 9.5f, 9.2f, 9.1f, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8, 8};
    const double lr[19] = {1,    1,    1,    0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25,
                           0.25, 0.25, 0.25, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2};
    const int bad[19] = {0, 1, 2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 2, 0, 0, 0, 1, 2, 0};
    const int cool[19] = {0, 0, 0, 2, 1, 0, 0, 0, 2, 1, 0, 0, 0, 2, 1, 0, 0, 0, 2};
    for (int i = 0; i < 19; i++) {
        porta_plateau_step(&s, &c, m[i]);
        check_f(lr[i], s.lr[0], "%s rel/cooldown step %d lr", n, i + 1);
        check_i(bad[i], s.num_bad, "%s rel/cooldown step %d num_bad", n, i + 1);
        check_i(cool[i], s.cooldown_counter, "%s rel/cooldown step %d cooldown", n, i + 1);
        if (i == 4)
            check_f(8.0, s.best, "%s rel/cooldown: best updated during cooldown", n);
    }
    check_i(4, s.n_decrease, "%s rel/cooldown reductions fired", n);
    check_t((s.events & PORTA_SCHED_EV_DECREASE) && !(s.events & PORTA_SCHED_EV_CHANGED), NULL,
            "%s rel/cooldown: at min_lr the reduction changes nothing", n);

    /* an equal metric is a bad step (rel threshold 0) */
    c = d;
    c.threshold = 0.0f;
    porta_plateau_init(&s, &c);
    porta_plateau_step(&s, &c, 5.0f);
    porta_plateau_step(&s, &c, 5.0f);
    check_i(1, s.num_bad, "%s: equal metric is bad", n);

    /* max mode, abs threshold 0.5, patience 0, factor 0.1 */
    c = d;
    c.mode = PORTA_SCHED_MODE_MAX;
    c.threshold_mode = PORTA_SCHED_THRESHOLD_ABS;
    c.threshold = 0.5f;
    c.patience = 0;
    c.initial_lr[0] = 0.1f;
    porta_plateau_init(&s, &c);
    check_f(-INFINITY, s.best, "%s max: initial best", n);
    const float mm[] = {1, 1.4f, 2, 2};
    const double mlr[] = {0.1, 0.01, 0.01, 0.001};
    const double mbest[] = {1, 1, 2, 2};
    for (int i = 0; i < 4; i++) {
        porta_plateau_step(&s, &c, mm[i]);
        check_f(mlr[i], s.lr[0], "%s max/abs step %d lr", n, i + 1);
        check_f(mbest[i], s.best, "%s max/abs step %d best", n, i + 1);
    }

    /* the eps rule: old - new must exceed eps */
    c = d;
    c.factor = 0.5f;
    c.patience = 0;
    c.initial_lr[0] = 1.5e-8f;
    porta_plateau_init(&s, &c);
    porta_plateau_step(&s, &c, 1.0f);
    porta_plateau_step(&s, &c, 1.0f);
    check_f(1.5e-8, s.lr[0], "%s eps: change of 7.5e-9 not applied", n);
    c.initial_lr[0] = 3e-8f;
    porta_plateau_init(&s, &c);
    porta_plateau_step(&s, &c, 1.0f);
    porta_plateau_step(&s, &c, 1.0f);
    check_f(1.5e-8, s.lr[0], "%s eps: change of 1.5e-8 applied", n);

    /* two groups, per-group min_lr */
    c = d;
    c.n_groups = 2;
    c.patience = 0;
    c.threshold = 0.0f;
    c.threshold_mode = PORTA_SCHED_THRESHOLD_ABS;
    c.initial_lr[0] = 1.0f, c.min_lr[0] = 0.5f;
    c.initial_lr[1] = 0.1f, c.min_lr[1] = 0.0f;
    porta_plateau_init(&s, &c);
    porta_plateau_step(&s, &c, 1.0f);
    porta_plateau_step(&s, &c, 1.0f);
    check_f(0.5, s.lr[0], "%s groups: group 0 clamped to min_lr", n);
    check_f(0.01, s.lr[1], "%s groups: group 1", n);

    /* PyTorch baseline on non-finite metrics: NaN is bad, -inf becomes best */
    c = d;
    c.patience = 5;
    porta_plateau_init(&s, &c);
    porta_plateau_step(&s, &c, 5.0f);
    porta_plateau_step(&s, &c, NAN);
    check_i(1, s.num_bad, "%s NaN: bad", n);
    porta_plateau_step(&s, &c, -INFINITY);
    check_f(-INFINITY, s.best, "%s -inf: becomes best (PyTorch)", n);
    check_i(0, s.num_bad, "%s -inf: counted better", n);

    /* validation */
    c = d;
    c.factor = 1.0f;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_plateau_validate(&c, &g_msg), &g_msg, "factor",
                "1", "plateau: factor 1");
    c = d;
    c.patience = -3;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_plateau_validate(&c, &g_msg), &g_msg,
                "patience", "-3", "plateau: patience -3");
    c = d;
    c.min_lr[0] = -1.0f;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_plateau_validate(&c, &g_msg), &g_msg,
                "min_lr[0]", "-1", "plateau: min_lr -1");
    c = d;
    c.cooldown = -1;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_plateau_validate(&c, &g_msg), &g_msg,
                "cooldown", "-1", "plateau: cooldown -1");
}

/* ---- closed-form schedules ----------------------------------------------- */

static void stateless_checks(void)
{
    const char *n = "schedules";
    check_f(1.0 / 1024.0, porta_sched_powi(0.5f, 10), "%s: powi(0.5, 10)", n);
    check_f(243.0, porta_sched_powi(3.0f, 5), "%s: powi(3, 5)", n);
    check_f(1.0, porta_sched_powi(0.7f, 0), "%s: powi(x, 0)", n);
    check_f(1.0, porta_sched_cosine_coeff(0, 10), "%s: coeff(0, 10)", n);
    check_f(0.0, porta_sched_cosine_coeff(10, 10), "%s: coeff(10, 10)", n);
    check_f(0.5, porta_sched_cosine_coeff(5, 10), "%s: coeff(5, 10)", n);
    check_f(0.75, porta_sched_cosine_coeff(1, 3), "%s: coeff(1, 3)", n);
    check_f(0.25, porta_sched_cosine_coeff(2, 3), "%s: coeff(2, 3)", n);
    check_f(0.8535533906, porta_sched_cosine_coeff(1, 4), "%s: coeff(1, 4)", n);
    check_f(0.1464466094, porta_sched_cosine_coeff(3, 4), "%s: coeff(3, 4)", n);
    check_f(0.0002467198171, porta_sched_cosine_coeff(99, 100), "%s: coeff(99, 100)", n);
    /* agrees with the true cosine everywhere on a fine grid */
    double worst = 0.0;
    for (uint32_t k = 0; k <= 1000; k++) {
        double truth = 0.5 * (1.0 + cos(3.14159265358979323846 * (double)k / 1000.0));
        double err = fabs(porta_sched_cosine_coeff(k, 1000) - truth);
        if (err > worst)
            worst = err;
    }
    check_t(worst < 2e-7, NULL, "%s: coeff within 2e-7 of cos on 1001 points", n);

    porta_sched_config c = porta_sched_defaults(PORTA_SCHED_CONSTANT);
    c.base_lr[0] = 0.01f;
    check_i(PORTA_OK, porta_sched_validate(&c, &g_msg), "%s: constant valid", n);
    check_f(0.01, porta_sched_lr(&c, 0, 0), "%s: constant t=0", n);
    check_f(0.01, porta_sched_lr(&c, 0, 1000000), "%s: constant t=1e6", n);

    c = porta_sched_defaults(PORTA_SCHED_WARMUP_COSINE);
    c.base_lr[0] = 1.0f;
    c.final_lr[0] = 0.1f;
    c.warmup_steps = 10;
    c.total_steps = 110;
    check_i(PORTA_OK, porta_sched_validate(&c, &g_msg), "%s: warmup_cosine valid", n);
    const uint32_t wt[] = {0, 4, 9, 10, 35, 60, 85, 109, 110, 5000};
    const double wl[] = {0.1,  0.5,          1.0,          1.0, 0.8681980515,
                         0.55, 0.2318019485, 0.1002220478, 0.1, 0.1};
    for (int i = 0; i < 10; i++)
        check_f(wl[i], porta_sched_lr(&c, 0, wt[i]), "%s: warmup_cosine t=%u", n, (unsigned)wt[i]);
    c.warmup_steps = 0;
    c.total_steps = 100;
    c.final_lr[0] = 0.0f;
    check_f(1.0, porta_sched_lr(&c, 0, 0), "%s: cosine (no warmup) t=0", n);
    check_f(0.0002467198171, porta_sched_lr(&c, 0, 99), "%s: cosine (no warmup) t=99", n);
    check_f(0.0, porta_sched_lr(&c, 0, 100), "%s: cosine (no warmup) t=100", n);

    c = porta_sched_defaults(PORTA_SCHED_STEP);
    c.base_lr[0] = 0.1f;
    c.gamma = 0.1f;
    c.step_size = 30;
    check_i(PORTA_OK, porta_sched_validate(&c, &g_msg), "%s: step valid", n);
    const uint32_t st[] = {0, 29, 30, 59, 60, 95};
    const double sl[] = {0.1, 0.1, 0.01, 0.01, 0.001, 1e-4};
    for (int i = 0; i < 6; i++)
        check_f(sl[i], porta_sched_lr(&c, 0, st[i]), "%s: step t=%u", n, (unsigned)st[i]);

    c = porta_sched_defaults(PORTA_SCHED_EXPONENTIAL);
    c.base_lr[0] = 1.0f;
    c.gamma = 0.5f;
    check_i(PORTA_OK, porta_sched_validate(&c, &g_msg), "%s: exponential valid", n);
    check_f(1.0, porta_sched_lr(&c, 0, 0), "%s: exponential 0.5 t=0", n);
    check_f(0.5, porta_sched_lr(&c, 0, 1), "%s: exponential 0.5 t=1", n);
    check_f(1.0 / 1024.0, porta_sched_lr(&c, 0, 10), "%s: exponential 0.5 t=10", n);
    check_f(ldexp(1.0, -30), porta_sched_lr(&c, 0, 30), "%s: exponential 0.5 t=30", n);
    c.gamma = 0.9f;
    check_f(0.9, porta_sched_lr(&c, 0, 1), "%s: exponential 0.9 t=1", n);
    check_f(0.81, porta_sched_lr(&c, 0, 2), "%s: exponential 0.9 t=2", n);
    check_f(0.3486784401, porta_sched_lr(&c, 0, 10), "%s: exponential 0.9 t=10", n);

    c = porta_sched_defaults(PORTA_SCHED_COSINE_RESTARTS);
    c.base_lr[0] = 1.0f;
    c.final_lr[0] = 0.0f;
    c.t_0 = 10;
    c.t_mult = 2;
    check_i(PORTA_OK, porta_sched_validate(&c, &g_msg), "%s: cosine_restarts valid", n);
    const uint32_t rt[] = {0, 5, 9, 10, 20, 29, 30, 50, 70};
    const double rl[] = {1.0, 0.5, 0.02447174185, 1.0, 0.5, 0.006155829702, 1.0, 0.5, 1.0};
    for (int i = 0; i < 9; i++)
        check_f(rl[i], porta_sched_lr(&c, 0, rt[i]), "%s: cosine_restarts x2 t=%u", n,
                (unsigned)rt[i]);
    check_t(porta_sched_lr(&c, 0, 4000000000u) >= 0.0f, NULL,
            "%s: cosine_restarts x2 at t=4e9 stays defined", n);
    c.t_mult = 1;
    c.final_lr[0] = 0.1f;
    check_f(0.55, porta_sched_lr(&c, 0, 25), "%s: cosine_restarts x1 t=25", n);
    check_f(1.0, porta_sched_lr(&c, 0, 1000), "%s: cosine_restarts x1 t=1000", n);
    check_f(0.1220245677, porta_sched_lr(&c, 0, 1009), "%s: cosine_restarts x1 t=1009", n);

    /* groups */
    c = porta_sched_defaults(PORTA_SCHED_STEP);
    c.n_groups = 2;
    c.base_lr[0] = 0.1f;
    c.base_lr[1] = 1.0f;
    c.gamma = 0.5f;
    c.step_size = 2;
    check_f(0.05, porta_sched_lr(&c, 0, 3), "%s: step group 0", n);
    check_f(0.5, porta_sched_lr(&c, 1, 3), "%s: step group 1", n);
    check_f(0.0, porta_sched_lr(&c, 2, 3), "%s: step group out of range", n);

    /* validation names the parameter */
    c = porta_sched_defaults(PORTA_SCHED_GREEDYLR);
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg, "kind",
                "greedylr", "schedules: stateful kind");
    c = porta_sched_defaults(PORTA_SCHED_STEP);
    c.step_size = 0;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg, "step_size",
                "= 0", "schedules: step_size 0");
    c = porta_sched_defaults(PORTA_SCHED_EXPONENTIAL);
    c.gamma = 0.0f;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg, "gamma",
                "= 0", "schedules: gamma 0");
    c = porta_sched_defaults(PORTA_SCHED_WARMUP_COSINE);
    c.warmup_steps = 20;
    c.total_steps = 10;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg,
                "total_steps", "warmup_steps", "schedules: total < warmup");
    c = porta_sched_defaults(PORTA_SCHED_COSINE_RESTARTS);
    c.t_mult = 0;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg, "t_mult",
                "= 0", "schedules: t_mult 0");
    c.t_mult = 1;
    c.t_0 = 0;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg, "t_0",
                "= 0", "schedules: t_0 0");
    c = porta_sched_defaults(PORTA_SCHED_CONSTANT);
    c.base_lr[0] = -1.0f;
    check_error(PORTA_ERROR_INVALID_ARGUMENT, porta_sched_validate(&c, &g_msg), &g_msg,
                "base_lr[0]", "-1", "schedules: base_lr -1");
}

int main(void)
{
    scenario_1();
    scenario_2();
    scenario_3();
    scenario_4();
    scenario_5();
    scenario_6();
    scenario_7();
    scenario_8();
    scenario_9();
    scenario_10();
    scenario_11();
    scenario_12();
    scenario_13();
    scenario_14();
    scenario_15();
    scenario_16();
    greedylr_rules();
    checkpoint_checks();
    scenario_18();
    difference_1();
    difference_2();
    difference_3();
    difference_4();
    describe_checks();
    checkpoint_errors();
    plateau_checks();
    stateless_checks();
    printf("%d passed, %d failed\n", n_pass, n_fail);
    return n_fail == 0 ? 0 : 1;
}
