/* sched_device.h: the host side of the device schedulers (lib-internal).
 *
 * shaders/sched.kh runs GreedyLR, ReduceLROnPlateau and the closed-form
 * schedules on the device (SCHED_ADVANCE, used by the fused optimizer
 * kernel and by the sched_replay test kernel). This header holds the host
 * mirrors of its two buffer blocks, word for word, and what the host does
 * with them:
 *   - build a device config from a host config (validated) and the
 *     matching initial state;
 *   - convert a device state back to the host state (checkpoints,
 *     comparison) and a host state into a device state (restore);
 *   - porta__sched_host_advance: SCHED_ADVANCE on the host, bit for bit,
 *     for expected trajectories;
 *   - porta__sched_replay: run SCHED_ADVANCE over a metric sequence on the
 *     open device.
 *
 * Layouts (32-bit words; the device structs in sched.kh are identical):
 *   porta_sched_device_config, 88 words:
 *     0 kind, 1 n_groups, 2 pad0, 3 pad1, 4..39 greedy
 *     (porta_greedylr_config), 40..63 plateau (porta_plateau_config),
 *     64..87 stateless (porta_sched_config).
 *   porta_sched_device_state, 306 words (one half; the fused kernel keeps
 *   two and alternates):
 *     0 t, 1 events, 2 metric, 3 pad, 4..11 lr[8], 12..290 greedy
 *     (porta_greedylr_state: scalars 12..34, window 35..290), 291..305
 *     plateau (porta_plateau_state).
 * Only the sub-config of `kind` is meaningful; the builders zero the
 * others, and the initial state zeroes the sub-state of the other kinds
 * (SCHED_ADVANCE carries it over unchanged).
 */
#ifndef PORTA_OPTIM_SCHED_DEVICE_H
#define PORTA_OPTIM_SCHED_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "porta/porta.h"
#include "scheduler.h"

typedef struct porta_sched_device_config {
    uint32_t kind;     /* PORTA_SCHED_* */
    uint32_t n_groups; /* 1..PORTA_SCHED_MAX_GROUPS, the active sub-config's */
    uint32_t pad0;     /* 0 */
    uint32_t pad1;     /* 0 */
    porta_greedylr_config greedy;
    porta_plateau_config plateau;
    porta_sched_config stateless;
} porta_sched_device_config;

typedef struct porta_sched_device_state {
    uint32_t t;                       /* advances so far (every kind; wraps at 2^32) */
    uint32_t events;                  /* PORTA_SCHED_EV_* of the last advance */
    float metric;                     /* raw metric of the last advance; 0 before */
    uint32_t pad;                     /* 0 */
    float lr[PORTA_SCHED_MAX_GROUPS]; /* rate for the next update; 0 beyond n_groups */
    porta_greedylr_state greedy;      /* kind GREEDYLR */
    porta_plateau_state plateau;      /* kind PLATEAU */
} porta_sched_device_state;

#define PORTA_SCHED_DEVICE_CONFIG_WORDS                                                            \
    (4 + PORTA_GREEDYLR_CONFIG_WORDS + PORTA_PLATEAU_CONFIG_WORDS + PORTA_SCHED_CONFIG_WORDS)
#define PORTA_SCHED_DEVICE_STATE_WORDS                                                             \
    (4 + PORTA_SCHED_MAX_GROUPS + PORTA_GREEDYLR_STATE_WORDS + PORTA_PLATEAU_STATE_WORDS)

_Static_assert(PORTA_SCHED_DEVICE_CONFIG_WORDS == 88, "sched_config_dev is 88 words");
_Static_assert(PORTA_SCHED_DEVICE_STATE_WORDS == 306, "sched_state_dev is 306 words");
_Static_assert(sizeof(porta_sched_device_config) == 4 * PORTA_SCHED_DEVICE_CONFIG_WORDS,
               "porta_sched_device_config must be plain 32-bit words without padding");
_Static_assert(sizeof(porta_sched_device_state) == 4 * PORTA_SCHED_DEVICE_STATE_WORDS,
               "porta_sched_device_state must be plain 32-bit words without padding");
_Static_assert(offsetof(porta_sched_device_config, greedy) == 4 * 4 &&
                   offsetof(porta_sched_device_config, plateau) == 4 * 40 &&
                   offsetof(porta_sched_device_config, stateless) == 4 * 64,
               "porta_sched_device_config word offsets must match sched_config_dev");
_Static_assert(offsetof(porta_sched_device_state, metric) == 4 * 2 &&
                   offsetof(porta_sched_device_state, lr) == 4 * 4 &&
                   offsetof(porta_sched_device_state, greedy) == 4 * 12 &&
                   offsetof(porta_sched_device_state, greedy.window) == 4 * 35 &&
                   offsetof(porta_sched_device_state, plateau) == 4 * 291,
               "porta_sched_device_state word offsets must match sched_state_dev");

/* Build a device config for one scheduler. Each validates its host config
 * (the error names the parameter, as the host validators do) and zeroes the
 * rest of *out, which is left untouched on error. */
porta_status porta__sched_device_config_greedylr(const porta_greedylr_config *c,
                                                 porta_sched_device_config *out, porta_msg *msg);
porta_status porta__sched_device_config_plateau(const porta_plateau_config *c,
                                                porta_sched_device_config *out, porta_msg *msg);
/* Kinds CONSTANT .. COSINE_RESTARTS (c->kind). */
porta_status porta__sched_device_config_stateless(const porta_sched_config *c,
                                                  porta_sched_device_config *out, porta_msg *msg);

/* The state before the first step, every word written: t = 0, events 0,
 * metric 0, the active kind's initial state (porta_greedylr_init /
 * porta_plateau_init; closed-form kinds: lr = porta_sched_lr(g, 0)), the
 * other sub-states zero. cfg must come from a builder above. */
void porta__sched_device_init(const porta_sched_device_config *cfg, porta_sched_device_state *st);

/* One SCHED_ADVANCE on the host, bit for bit what the device writes into
 * the new half (for any state the device or these functions produced).
 * Returns the step's events (also in st->events). */
uint32_t porta__sched_host_advance(const porta_sched_device_config *cfg,
                                   porta_sched_device_state *st, float metric);

/* Device state -> host state. GreedyLR also checks the state
 * (porta_greedylr_check_state); a wrong kind is PORTA_ERROR_INVALID_ARGUMENT,
 * an impossible state PORTA_ERROR_CORRUPT_DATA, each with a sentence in
 * *msg (may be NULL). *out is written only on success. */
porta_status porta__sched_device_to_greedylr(const porta_sched_device_config *cfg,
                                             const porta_sched_device_state *st,
                                             porta_greedylr_state *out, porta_msg *msg);
porta_status porta__sched_device_to_plateau(const porta_sched_device_config *cfg,
                                            const porta_sched_device_state *st,
                                            porta_plateau_state *out, porta_msg *msg);

/* Host state (e.g. from porta_greedylr_load) -> a complete device state:
 * t = the state's step count, events and lr from it, metric 0 (the last raw
 * metric is not part of the host state; the next advance overwrites it),
 * the other sub-states zero. The GreedyLR state is checked against
 * cfg->greedy first (PORTA_ERROR_CORRUPT_DATA); *out is written only on
 * success. */
porta_status porta__sched_device_from_greedylr(const porta_sched_device_config *cfg,
                                               const porta_greedylr_state *s,
                                               porta_sched_device_state *out, porta_msg *msg);
porta_status porta__sched_device_from_plateau(const porta_sched_device_config *cfg,
                                              const porta_plateau_state *s,
                                              porta_sched_device_state *out, porta_msg *msg);

/* Steps per sched_replay dispatch. One invocation walks them, so a
 * dispatch stays far below any GPU watchdog; and llvmpipe (lavapipe,
 * rusticl) silently ends the loops of an invocation after 65535 loop
 * iterations in total, counting every loop of every branch (it runs both
 * sides of a branch, masked): up to about 440 per SCHED_ADVANCE (measured:
 * a closed-form kind at t near 2^32), so 63 steps stay below half of that
 * limit. Odd, so that consecutive dispatches start from alternating halves
 * (a long replay exercises both). */
#define PORTA_SCHED_REPLAY_CHUNK 63u

/* Run the scheduler on the open device: n steps from *init over metrics[0
 * .. n), through the sched_replay kernel in dispatches of at most
 * PORTA_SCHED_REPLAY_CHUNK steps. Writes lr_out[s * n_groups + g] (the rate
 * after step s; n * cfg->n_groups floats), events_out[s] (may be NULL) and
 * *final_state (may be NULL). The second state half starts filled with NaN
 * bits, so a step that left any word unwritten shows. Blocks (reads back
 * after every chunk); allocates and frees its own buffers. Invalid
 * arguments (NULL, kind or n_groups out of range, n >= 2^32) give
 * PORTA_ERROR_INVALID_ARGUMENT with a message in the context; a final state
 * whose step count is not init->t + n (the device cut the loop short) gives
 * PORTA_ERROR_DRIVER. */
porta_status porta__sched_replay(porta_context *ctx, const porta_sched_device_config *cfg,
                                 const porta_sched_device_state *init, const float *metrics,
                                 size_t n, float *lr_out, uint32_t *events_out,
                                 porta_sched_device_state *final_state);

#endif
