/* greedylr_scenarios.h: the docs/GREEDYLR.md behaviour scenarios as data.
 *
 * Shared by porta_check_device()'s greedylr checks (check_greedylr.c),
 * tests/test_scheduler_host (which checks the page's numbers on the host)
 * and tests/test_scheduler_device (which replays the same configs and
 * metric sequences on every device and compares with the host), so all
 * run exactly the same cases. In the library so that porta-check, linked
 * against a shared libporta, runs them too. Not installed.
 */
#ifndef PORTA_CHECK_GREEDYLR_SCENARIOS_H
#define PORTA_CHECK_GREEDYLR_SCENARIOS_H

#include <stdint.h>

#include "optim/scheduler.h"

/* The scenarios that are a config and a metric sequence (1-16; 6 has a
 * decreasing and an increasing part). 17 (checkpoint) and 18 (validation)
 * have their own helpers below. */
typedef enum greedylr_scenario_id {
    GREEDYLR_SC_1,
    GREEDYLR_SC_2,
    GREEDYLR_SC_3,
    GREEDYLR_SC_4,
    GREEDYLR_SC_5,
    GREEDYLR_SC_6_DECREASE,
    GREEDYLR_SC_6_INCREASE,
    GREEDYLR_SC_7,
    GREEDYLR_SC_8,
    GREEDYLR_SC_9,
    GREEDYLR_SC_10,
    GREEDYLR_SC_11,
    GREEDYLR_SC_12,
    GREEDYLR_SC_13,
    GREEDYLR_SC_14,
    GREEDYLR_SC_15,
    GREEDYLR_SC_16,
    GREEDYLR_SC_COUNT
} greedylr_scenario_id;

#define GREEDYLR_SCENARIO_MAX_STEPS 48

typedef struct greedylr_scenario {
    const char *name; /* "scenario 1 (decrease)" */
    porta_greedylr_config config;
    int n; /* metrics, fed in order */
    float metrics[GREEDYLR_SCENARIO_MAX_STEPS];
} greedylr_scenario;

/* The scenarios' common setting: one group, lr 0.1, mode min, F 0.9,
 * patience 3, min_lr 1e-6, max_lr 1.0, cooldown 0, warmup 0, threshold 1e-6
 * abs, eps 1e-8, reset_start 500, no smoothing. */
porta_greedylr_config porta__greedylr_scenario_base(void);

/* Scenario `id`: its config and every metric the host test feeds. */
greedylr_scenario porta__greedylr_scenario_make(greedylr_scenario_id id);

/* Scenario 17: the two mid-run checkpoint configs (which = 0: smoothing
 * window 7, two groups; which = 1: window 11, three groups, frequent
 * resets). */
porta_greedylr_config porta__greedylr_checkpoint_config(int which);

/* A noisy, slowly improving loss with a NaN every 37th step (t % 37 ==
 * 36). *rng is an LCG state; it advances only on the finite steps. */
float porta__greedylr_noisy_metric(uint32_t *rng, uint32_t t);

/* Scenario 18: configs the validator must reject, each with the parameter
 * and the value text its message must contain. */
#define GREEDYLR_INVALID_COUNT 7
typedef struct greedylr_invalid {
    const char *what, *word, *value;
    porta_greedylr_config config;
} greedylr_invalid;

greedylr_invalid porta__greedylr_invalid_make(int i);

#endif
