/* sched_compare.h: a device scheduler run against the host's, shared by
 * check_greedylr.c and check_schedulers.c. Not installed.
 *
 * A run replays a metric sequence through shaders/sched.kh on the device
 * (porta__sched_replay) or through its host mirror
 * (porta__sched_host_advance): the rate after every step, its events, the
 * final state. On CPU devices every bit must agree; elsewhere the rates
 * within 1e-6 relative (sched.kh is written to be bit-exact on any device
 * with round-to-nearest +, -, *; the looser bound keeps a GPU whose
 * compiler breaks that from failing on noise).
 */
#ifndef PORTA_CHECK_SCHED_COMPARE_H
#define PORTA_CHECK_SCHED_COMPARE_H

#include "check_internal.h"
#include "optim/sched_device.h"

/* Replay n metrics from cfg's initial state on the device and on the host
 * and compare them as one case named `name`. */
void porta__check_sched_replay(porta__check *c, const char *name,
                               const porta_sched_device_config *cfg, const float *metrics,
                               size_t n);

/* Checkpoint a device run after `pre` steps through the host format
 * (GreedyLR's save and load, or plateau's state) and continue it for
 * `post` more: the same bits as the uninterrupted device run, with
 * decreases and freezes in the continuation. One case. */
void porta__check_sched_interrupt(porta__check *c, const char *name,
                                  const porta_sched_device_config *cfg, const float *metrics,
                                  size_t pre, size_t post);

#endif
