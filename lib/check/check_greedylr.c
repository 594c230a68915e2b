/* check_greedylr.c: greedylr.scenarios, greedylr.checkpoint and
 * greedylr.validation: the docs/GREEDYLR.md scenarios
 * (greedylr_scenarios.c) on the device scheduler against the host's.
 */
#include <stdio.h>
#include <string.h>

#include "check/greedylr_scenarios.h"
#include "sched_compare.h"

/* One scenario: the device trajectory against the host mirror, then the
 * final state, field by field, against porta_greedylr_step itself. */
static void scenario(porta__check *c, const greedylr_scenario *sc)
{
    porta_sched_device_config cfg;
    if (!porta__check_case(c, porta__sched_device_config_greedylr(&sc->config, &cfg, NULL) == 0,
                           "%s: its config was rejected", sc->name))
        return;
    porta__check_sched_replay(c, sc->name, &cfg, sc->metrics, (size_t)sc->n);
    if (c->fatal)
        return;
    porta_greedylr_state host, dev;
    porta_greedylr_init(&host, &sc->config);
    for (int i = 0; i < sc->n; i++)
        porta_greedylr_step(&host, &sc->config, sc->metrics[i]);
    porta_sched_device_state init, fin;
    porta__sched_device_init(&cfg, &init);
    float lr[GREEDYLR_SCENARIO_MAX_STEPS * PORTA_SCHED_MAX_GROUPS];
    porta_status st =
        porta__sched_replay(c->ctx, &cfg, &init, sc->metrics, (size_t)sc->n, lr, NULL, &fin);
    if (!st)
        st = porta__sched_device_to_greedylr(&cfg, &fin, &dev, &c->ctx->msg);
    if (porta__check_call(c, st, "%s: the final state", sc->name))
        porta__check_case(c, memcmp(&dev, &host, sizeof(dev)) == 0,
                          "%s: final state: device good %d bad %d best %.9g step %u increases %u "
                          "decreases %u, host good %d bad %d best %.9g step %u increases %u "
                          "decreases %u (or the window's bits differ)",
                          sc->name, (int)dev.good, (int)dev.bad, (double)dev.best,
                          (unsigned)dev.step, (unsigned)dev.n_increase, (unsigned)dev.n_decrease,
                          (int)host.good, (int)host.bad, (double)host.best, (unsigned)host.step,
                          (unsigned)host.n_increase, (unsigned)host.n_decrease);
}

void porta__check_greedylr_scenarios(porta__check *c)
{
    for (int id = 0; id < GREEDYLR_SC_COUNT && !c->fatal; id++) {
        const greedylr_scenario sc = porta__greedylr_scenario_make((greedylr_scenario_id)id);
        scenario(c, &sc);
    }
}

/* Scenario 17: the mid-run checkpoint configs, checkpointed on the device
 * after 150 steps and continued for 200. */
void porta__check_greedylr_checkpoint(porta__check *c)
{
    float metrics[350];
    for (int which = 0; which < 2 && !c->fatal; which++) {
        uint32_t rng = which == 0 ? 12345u : 777u;
        for (uint32_t s = 0; s < 350; s++)
            metrics[s] = porta__greedylr_noisy_metric(&rng, s);
        const porta_greedylr_config g = porta__greedylr_checkpoint_config(which);
        porta_sched_device_config cfg;
        if (porta__check_case(c, porta__sched_device_config_greedylr(&g, &cfg, NULL) == 0,
                              "scenario 17: config %d rejected", which))
            porta__check_sched_interrupt(c,
                                         which ? "scenario 17 (checkpoint, 3 groups, resets)"
                                               : "scenario 17 (checkpoint, smoothing, 2 groups)",
                                         &cfg, metrics, 150, 200);
    }
}

/* Scenario 18: the device configuration refuses what the validator
 * refuses, with a message naming the parameter and its value, and leaves
 * its output alone. */
void porta__check_greedylr_validation(porta__check *c)
{
    for (int i = 0; i < GREEDYLR_INVALID_COUNT; i++) {
        const greedylr_invalid v = porta__greedylr_invalid_make(i);
        porta_msg msg;
        msg.text[0] = '\0';
        porta_sched_device_config cfg, before;
        memset(&cfg, 0x5A, sizeof(cfg));
        before = cfg;
        const porta_status st = porta__sched_device_config_greedylr(&v.config, &cfg, &msg);
        porta__check_case(c,
                          st == PORTA_ERROR_INVALID_ARGUMENT && strstr(msg.text, v.word) &&
                              strstr(msg.text, v.value) && memcmp(&cfg, &before, sizeof(cfg)) == 0,
                          "scenario 18 (%s): status %s, message \"%s\" (want it to name %s and %s, "
                          "the output untouched)",
                          v.what, porta_strerror(st), msg.text, v.word, v.value);
    }
}
