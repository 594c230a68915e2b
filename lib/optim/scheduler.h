/* scheduler.h: learning-rate schedulers, host side (lib-internal).
 *
 * Every scheduler porta runs inside its fused optimizer kernel has a host
 * implementation here. The host code is both a public host implementation
 * (the public API wraps this header) and the oracle the device kernel is
 * tested against bit for bit. That fixes three rules for everything below.
 *
 * 1. Plain words. Every config and state struct holds only 32-bit fields
 *    (float, int32_t, uint32_t; enumerations are stored as uint32_t) and
 *    fixed-size arrays: no pointers, no double, no bool, no padding (checked
 *    by _Static_assert). Word i of a struct is its i-th field in declaration
 *    order (array elements in order), so a struct is uploaded to a device
 *    buffer, or written to a checkpoint, as raw little-endian words.
 *
 * 2. fp32 only, in a documented order. All arithmetic is IEEE single
 *    precision, round to nearest, one operation at a time, with no fused
 *    multiply-add (the host is compiled with -ffp-contract=off; never with
 *    -ffast-math or -ffinite-math-only, which would delete the NaN checks).
 *    The only operations used are +, -, *, /, comparisons, fminf/fmaxf on
 *    non-NaN operands, isfinite(), and int/uint to float conversion. The
 *    order of every formula is written at its declaration. No libm
 *    transcendental is used: the cosine schedules use the polynomial in
 *    porta_sched_cosine_coeff() and powers use porta_sched_powi(), so a
 *    device that rounds +, -, *, / correctly reproduces every bit.
 *    Device note: OpenCL and Vulkan allow single-precision division to be
 *    off by 2.5 ulp unless asked otherwise; the device kernel must produce
 *    correctly rounded quotients (OpenCL: -cl-fp32-correctly-rounded-divide-sqrt
 *    where supported, else a correction step) for its results to match.
 *
 * 3. Errors never print. Validation returns a porta_status and writes one
 *    sentence naming the parameter and its value into a porta_msg.
 *    Warnings (a valid but suspicious config) are returned as bits, and
 *    porta_greedylr_describe_warnings() turns them into text the caller
 *    shows once.
 *
 * GreedyLR follows docs/GREEDYLR.md (the transformers GreedyLR
 * class) with four deliberate differences, each documented at the function
 * it affects:
 *   D1  validation rejects impossible configs (porta_greedylr_validate);
 *   D2  a non-finite metric is a bad step, never becomes best and never
 *       enters the smoothing window (porta_greedylr_step);
 *   D3  in fused training a step with a non-finite loss or gradient norm
 *       applies no parameter update; that lives in the optimizer kernel, the
 *       scheduler's part is D2 (the rate is lowered) plus the n_nonfinite
 *       counter;
 *   D4  a warning when an initial lr is at or below min_lr
 *       (PORTA_GREEDYLR_WARN_LR_AT_MIN).
 */
#ifndef PORTA_OPTIM_SCHEDULER_H
#define PORTA_OPTIM_SCHEDULER_H

#include <stddef.h>
#include <stdint.h>

#include "common/message.h"
#include "porta/status.h"

/* ---- shared -------------------------------------------------------------- */

/* Parameter groups a scheduler drives (each group has its own lr). */
#define PORTA_SCHED_MAX_GROUPS 8
/* Largest GreedyLR smoothing window (the state holds the whole window). */
#define PORTA_GREEDYLR_MAX_WINDOW 256
/* Upper limit for every step-count parameter (patience, cooldown, warmup,
 * reset_start, warmup/total steps, step_size, T_0, T_mult): keeps every
 * counter far from int32 overflow. */
#define PORTA_SCHED_MAX_COUNT 1000000000

/* mode: which direction of the metric is better. */
#define PORTA_SCHED_MODE_MIN 0u /* lower is better (losses) */
#define PORTA_SCHED_MODE_MAX 1u /* higher is better (accuracies) */

/* threshold_mode: how much better counts as better. */
#define PORTA_SCHED_THRESHOLD_ABS 0u
#define PORTA_SCHED_THRESHOLD_REL 1u

/* Schedule kinds. One numbering for every scheduler so the fused kernel can
 * switch on one word; porta_sched_lr() computes the five stateless ones. */
#define PORTA_SCHED_CONSTANT 0u
#define PORTA_SCHED_WARMUP_COSINE 1u
#define PORTA_SCHED_STEP 2u
#define PORTA_SCHED_EXPONENTIAL 3u
#define PORTA_SCHED_COSINE_RESTARTS 4u
#define PORTA_SCHED_PLATEAU 5u
#define PORTA_SCHED_GREEDYLR 6u

/* Event bits returned by the step functions (and kept in state.events):
 * what happened on that step. */
#define PORTA_SCHED_EV_FROZEN 0x01u    /* a cooldown (or GreedyLR warmup) step was consumed */
#define PORTA_SCHED_EV_IMPROVED 0x02u  /* the metric was better than best; best updated */
#define PORTA_SCHED_EV_INCREASE 0x04u  /* an increase fired (GreedyLR) */
#define PORTA_SCHED_EV_DECREASE 0x08u  /* a decrease fired */
#define PORTA_SCHED_EV_CHANGED 0x10u   /* at least one group's lr changed value */
#define PORTA_SCHED_EV_RESET 0x20u     /* GreedyLR reset everything */
#define PORTA_SCHED_EV_NONFINITE 0x40u /* the compared value was NaN or +-inf */

/* Parse "min" / "max" into *mode. Anything else (NULL, "", "unknown",
 * "MIN") gives PORTA_ERROR_INVALID_ARGUMENT and a message naming the
 * parameter `mode` and the text; *mode is then left unchanged. */
porta_status porta_sched_parse_mode(const char *text, uint32_t *mode, porta_msg *msg);
/* Parse "abs" / "rel" into *threshold_mode; errors as porta_sched_parse_mode
 * naming `threshold_mode`. */
porta_status porta_sched_parse_threshold_mode(const char *text, uint32_t *threshold_mode,
                                              porta_msg *msg);
/* "min" / "max" ("?" for anything else). */
const char *porta_sched_mode_name(uint32_t mode);
/* "abs" / "rel" ("?" for anything else). */
const char *porta_sched_threshold_mode_name(uint32_t threshold_mode);

/* Text helper shared by the describe functions: format at offset `at` of
 * buf (cap bytes; buf may be NULL), keeping it NUL-terminated, and return
 * the offset the full text would end at (like snprintf, so a caller can
 * size a buffer). */
size_t porta_sched_text_append(char *buf, size_t cap, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Append " name=[v0, v1, ...]" (n values, %.9g) the same way. */
size_t porta_sched_text_floats(char *buf, size_t cap, size_t at, const char *name, const float *v,
                               uint32_t n);

/* The better-than test shared by GreedyLR and ReduceLROnPlateau; returns 1
 * if x is better than best, else 0. Strict, so an equal value is not better,
 * and any comparison with NaN is false. Evaluated exactly as:
 *   min/abs: x < best - threshold      min/rel: x < best * (1.0f - threshold)
 *   max/abs: x > best + threshold      max/rel: x > best * (1.0f + threshold)
 * (the parenthesised factor is computed first, as PyTorch does). With best
 * = +inf (min) or -inf (max) every finite x is better. */
uint32_t porta_sched_is_better(float x, float best, uint32_t mode, uint32_t threshold_mode,
                               float threshold);

/* g^n by binary powering, in exactly this order:
 *   r = 1.0f; b = g; while (n) { if (n & 1) r = r * b; n >>= 1; if (n) b = b * b; }
 * Reproducible on any device with correctly rounded multiplication. The
 * relative error grows with n (about n * 2^-24 in the worst case), which is
 * the same order as the error of storing g itself in fp32. */
float porta_sched_powi(float g, uint32_t n);

/* 0.5 * (1 + cos(pi * k / d)) for 0 <= k <= d, d >= 1: the cosine-annealing
 * coefficient, 1 at k = 0 and 0 at k = d. Computed as c * c with
 * c = cos(pi/2 * k / d), which keeps full relative precision at both ends:
 *   if (2k <= d)  c = cos_poly((float)k / (float)d * 1.57079637f)
 *   else          c = sin_poly((float)(d - k) / (float)d * 1.57079637f)
 * where both polynomials take u in [0, pi/4], use v = u * u and Horner form
 * (innermost first):
 *   cos_poly(u) = 1 + v*(-C2 + v*(C4 + v*(-C6 + v*(C8 + v*(-C10 + v*C12)))))
 *   sin_poly(u) = u * (1 + v*(-C3 + v*(C5 + v*(-C7 + v*(C9 - v*C11)))))
 * with Cn = 1/n! rounded to fp32 (the literals are in schedules.c).
 * Truncation error below 1e-11; the result is within a few ulp of the true
 * value. k > d is clamped to d. */
float porta_sched_cosine_coeff(uint32_t k, uint32_t d);

/* ---- GreedyLR ------------------------------------------------------------ */

/* Warning bits from porta_greedylr_validate (the config is still valid). */
/* D4: some group's initial lr is at or below its min_lr, so a decrease can
 * never lower it (the reference behaves the same; rarely what is meant). */
#define PORTA_GREEDYLR_WARN_LR_AT_MIN 0x1u
/* Some group's initial lr is above its max_lr: increases never fire for it
 * until decreases bring it below max_lr. */
#define PORTA_GREEDYLR_WARN_LR_ABOVE_MAX 0x2u

/* GreedyLR configuration: everything a checkpoint must keep that does not
 * change during a run. 36 words. Entries of the per-group arrays at index
 * >= n_groups are ignored (porta_greedylr_defaults() zeroes them). */
typedef struct porta_greedylr_config {
    uint32_t mode;           /* PORTA_SCHED_MODE_MIN / _MAX */
    float factor;            /* F in (0, 1): decrease lr * F, increase lr / F */
    int32_t patience;        /* an action fires on the (patience+1)-th good/bad step */
    float threshold;         /* improvement margin, >= 0 (rel mode: < 1) */
    uint32_t threshold_mode; /* PORTA_SCHED_THRESHOLD_ABS / _REL */
    int32_t cooldown;        /* evaluated steps frozen after a decrease */
    int32_t warmup;          /* evaluated steps frozen after an increase (not a ramp) */
    float eps;               /* a change is applied only if strictly larger than eps */
    uint32_t smooth;         /* 1: compare the rolling mean of the metric; 0: raw */
    int32_t window_size;     /* rolling-mean window, 1..PORTA_GREEDYLR_MAX_WINDOW */
    int32_t reset_start;     /* decrease events at the floor before a full reset */
    uint32_t n_groups;       /* 1..PORTA_SCHED_MAX_GROUPS */
    float initial_lr[PORTA_SCHED_MAX_GROUPS];
    float min_lr[PORTA_SCHED_MAX_GROUPS];
    float max_lr[PORTA_SCHED_MAX_GROUPS];
} porta_greedylr_config;

#define PORTA_GREEDYLR_CONFIG_WORDS (12 + 3 * PORTA_SCHED_MAX_GROUPS)

/* GreedyLR state: everything that changes during a run. 279 words.
 * The window is a ring over window[0 .. window_size-1]: window_head is the
 * slot the next value goes to, the window_count values before it (cyclic)
 * are the live ones, oldest first; every slot outside them is 0.0f (so two
 * states with the same history compare equal with memcmp). */
typedef struct porta_greedylr_state {
    float lr[PORTA_SCHED_MAX_GROUPS]; /* rate in effect for the next update; 0 beyond n_groups */
    float best;                       /* best compared value; +inf (min) / -inf (max) before any */
    float metric;                     /* value compared on the last step (the rolling mean when
                                         smoothing, the raw value when it was non-finite); 0 before
                                         the first step */
    int32_t good;                     /* consecutive improving evaluated steps */
    int32_t bad;                      /* consecutive non-improving evaluated steps */
    int32_t cooldown_left;            /* frozen steps left after a decrease */
    int32_t warmup_left;              /* frozen steps left after an increase */
    int32_t reset_left;               /* decrease events at the floor left before a reset */
    uint32_t step;                    /* evaluated steps so far (wraps at 2^32) */
    uint32_t window_count;            /* live values in the window, 0..window_size */
    uint32_t window_head;             /* next slot to write, 0..window_size-1 */
    uint32_t n_increase;              /* increase events so far */
    uint32_t n_decrease;              /* decrease events so far */
    uint32_t n_reset;                 /* resets so far */
    uint32_t n_nonfinite;             /* steps whose compared value was NaN or +-inf */
    uint32_t events;                  /* PORTA_SCHED_EV_* bits of the last step */
    float window[PORTA_GREEDYLR_MAX_WINDOW];
} porta_greedylr_state;

#define PORTA_GREEDYLR_STATE_WORDS (PORTA_SCHED_MAX_GROUPS + 15 + PORTA_GREEDYLR_MAX_WINDOW)

_Static_assert(sizeof(float) == 4, "porta schedulers need 32-bit float");
_Static_assert(sizeof(porta_greedylr_config) == 4 * PORTA_GREEDYLR_CONFIG_WORDS,
               "porta_greedylr_config must be plain 32-bit words without padding");
_Static_assert(sizeof(porta_greedylr_state) == 4 * PORTA_GREEDYLR_STATE_WORDS,
               "porta_greedylr_state must be plain 32-bit words without padding");

/* The reference defaults (docs/GREEDYLR.md): mode min, factor 0.95, patience 10,
 * threshold 1e-6 abs, cooldown 0, warmup 0, eps 1e-8, no smoothing, window
 * 50, reset_start 500, and one group with min_lr 1e-3, max_lr 1.0. The
 * reference takes the initial lr from the optimizer; here it defaults to
 * 1e-2 (above min_lr, so no warning) and is normally overwritten. Unused
 * group entries are 0. */
porta_greedylr_config porta_greedylr_defaults(void);

/* D1: check a config. Returns PORTA_OK, or PORTA_ERROR_INVALID_ARGUMENT with
 * a sentence in *msg (may be NULL) naming the first bad parameter and its
 * value. Rejected (the reference accepts several of these and misbehaves):
 *   mode / threshold_mode / smooth not 0 or 1; factor not in (0, 1) or NaN;
 *   patience, cooldown, warmup < 0; window_size < 1 or above
 *   PORTA_GREEDYLR_MAX_WINDOW (checked even when smooth is 0);
 *   reset_start < 1; any count above PORTA_SCHED_MAX_COUNT; threshold or eps
 *   negative or non-finite; threshold >= 1 in rel mode (best * (1 - t) would
 *   then never be beaten); n_groups 0 or above PORTA_SCHED_MAX_GROUPS; per
 *   group: min_lr or max_lr negative or non-finite, min_lr > max_lr,
 *   initial lr negative or non-finite.
 * On PORTA_OK, *warnings (may be NULL) receives PORTA_GREEDYLR_WARN_* bits
 * (0 if none); it is 0 on error. Library code never prints: a caller shows
 * porta_greedylr_describe_warnings() once, when it sets the scheduler up. */
porta_status porta_greedylr_validate(const porta_greedylr_config *c, porta_msg *msg,
                                     uint32_t *warnings);

/* Write the text for `warnings` (bits from porta_greedylr_validate, which
 * groups and values are involved, and what to do) into buf (cap bytes,
 * always NUL-terminated when cap > 0; "" when warnings is 0). Returns the
 * length the full text needs, like snprintf. */
size_t porta_greedylr_describe_warnings(const porta_greedylr_config *c, uint32_t warnings,
                                        char *buf, size_t cap);

/* One line describing the config for logs, e.g.
 * "greedylr mode=min factor=0.95 patience=10 ... lr=[0.01] min_lr=[0.001] max_lr=[1]"
 * (floats with %.9g, so the text round-trips). Returns the length the full
 * text needs, like snprintf. */
size_t porta_greedylr_describe(const porta_greedylr_config *c, char *buf, size_t cap);

/* Start a run: every word of *s is written. lr = initial_lr (0 beyond
 * n_groups), best = +inf (min) / -inf (max), reset_left = reset_start, the
 * window empty and zeroed, every counter 0, metric 0. c must be valid. */
void porta_greedylr_init(porta_greedylr_state *s, const porta_greedylr_config *c);

/* One evaluated step with `metric` (docs/GREEDYLR.md "One step", in order).
 * Returns the PORTA_SCHED_EV_* bits of the step (also stored in s->events).
 *  1. step += 1. If smooth and the metric is finite: window[head] = metric,
 *     head advances, count grows up to window_size; x = the rolling mean
 *     (porta_greedylr_rolling_mean). Otherwise x = metric. metric = x.
 *     The window is updated on every step, frozen steps included.
 *  2. If cooldown_left > 0: cooldown_left -= 1, good = bad = 0, nothing
 *     compared. Else if warmup_left > 0: the same with warmup_left. best is
 *     never updated during a freeze.
 *  3. Else, if x is finite and porta_sched_is_better(x, best): best = x,
 *     good += 1, bad = 0; else bad += 1, good = 0.
 *     If good > patience: increase; warmup_left = warmup; good = 0.
 *     Else if bad > patience: decrease (which may reset); cooldown_left =
 *     cooldown (also right after a reset); bad = 0.
 * Increase, per group g < n_groups: cand = fminf(lr / factor, max_lr);
 *   if (cand - lr > eps) lr = cand. Then reset_left = reset_start.
 * Decrease, per group: cand = fmaxf(lr * factor, min_lr);
 *   if (lr - cand > eps) lr = cand. Then, if every group has lr <= min_lr:
 *   reset_left -= 1, and at 0: reset.
 * Reset: lr = initial_lr, best = +-inf, good = bad = 0, cooldown_left =
 *   warmup_left = 0, reset_left = reset_start, the window emptied and
 *   zeroed (the value just pushed is dropped with it).
 * D2: a non-finite x (NaN, +-inf; also a mean that overflowed) is a bad step
 *   (when not frozen), never becomes best, and a non-finite metric is never
 *   pushed into the window; n_nonfinite counts such steps, frozen or not.
 *   Without smoothing, NaN and (in min mode) +inf therefore behave exactly
 *   like the reference; -inf (min) / +inf (max) is bad here where the
 *   reference would make it an unbeatable best.
 * c must be valid and s must come from porta_greedylr_init/_load with c. */
uint32_t porta_greedylr_step(porta_greedylr_state *s, const porta_greedylr_config *c, float metric);

/* The mean of the live window values: sum = 0.0f, then sum = sum + v for
 * each value from oldest to newest, then sum / (float)window_count (always
 * recomputed, no running sum). NaN when the window is empty. */
float porta_greedylr_rolling_mean(const porta_greedylr_state *s, const porta_greedylr_config *c);

/* Check that a state is one porta_greedylr_step could have produced for the
 * (valid) config c: counters in range, window indices and contents
 * consistent, lr finite and >= 0, best not NaN and infinite only as the
 * initial +-inf. Returns PORTA_OK, or PORTA_ERROR_CORRUPT_DATA with a
 * sentence naming the field. Used by porta_greedylr_load and for state
 * read back from a device. */
porta_status porta_greedylr_check_state(const porta_greedylr_config *c,
                                        const porta_greedylr_state *s, porta_msg *msg);

/* Checkpoint format (all little-endian 32-bit words):
 *   "PGLR" (4 bytes), version (1), config words (36), state words (279),
 *   FNV-1a-32 checksum of the payload bytes, then the payload: the config
 *   words followed by the state words, in struct order. */
#define PORTA_GREEDYLR_MAGIC "PGLR"
#define PORTA_GREEDYLR_VERSION 1u
#define PORTA_GREEDYLR_HEADER_BYTES 20u
#define PORTA_GREEDYLR_SAVE_BYTES                                                                  \
    (PORTA_GREEDYLR_HEADER_BYTES + 4u * (PORTA_GREEDYLR_CONFIG_WORDS + PORTA_GREEDYLR_STATE_WORDS))

/* Serialise config and state into buf. *written (may be NULL) receives the
 * number of bytes written, or the number needed (PORTA_GREEDYLR_SAVE_BYTES)
 * when buf is NULL or cap is too small, which returns
 * PORTA_ERROR_INVALID_ARGUMENT and writes nothing. Saving does not validate:
 * load does. */
porta_status porta_greedylr_save(const porta_greedylr_config *c, const porta_greedylr_state *s,
                                 void *buf, size_t cap, size_t *written);

/* Restore what porta_greedylr_save wrote. Checks the size, magic, version,
 * word counts and checksum, then the config (porta_greedylr_validate) and
 * the state (porta_greedylr_check_state). Any failure returns
 * PORTA_ERROR_CORRUPT_DATA (PORTA_ERROR_INVALID_ARGUMENT for NULL pointers)
 * with a sentence in *msg, and leaves *c and *s untouched. Continuing from
 * a loaded checkpoint gives exactly the trajectory of the uninterrupted
 * run. */
porta_status porta_greedylr_load(const void *buf, size_t bytes, porta_greedylr_config *c,
                                 porta_greedylr_state *s, porta_msg *msg);

/* ---- ReduceLROnPlateau (PyTorch semantics) ------------------------------- */

/* ReduceLROnPlateau configuration. 24 words. */
typedef struct porta_plateau_config {
    uint32_t mode;           /* PORTA_SCHED_MODE_MIN / _MAX */
    float factor;            /* new lr = lr * factor, in (0, 1) */
    int32_t patience;        /* bad steps tolerated; the (patience+1)-th reduces */
    float threshold;         /* >= 0 (rel mode: < 1) */
    uint32_t threshold_mode; /* PORTA_SCHED_THRESHOLD_ABS / _REL */
    int32_t cooldown;        /* steps after a reduction during which bad steps are ignored */
    float eps;               /* a reduction is applied only if old - new > eps */
    uint32_t n_groups;       /* 1..PORTA_SCHED_MAX_GROUPS */
    float initial_lr[PORTA_SCHED_MAX_GROUPS];
    float min_lr[PORTA_SCHED_MAX_GROUPS];
} porta_plateau_config;

#define PORTA_PLATEAU_CONFIG_WORDS (8 + 2 * PORTA_SCHED_MAX_GROUPS)

/* ReduceLROnPlateau state. 15 words. */
typedef struct porta_plateau_state {
    float lr[PORTA_SCHED_MAX_GROUPS]; /* 0 beyond n_groups */
    float best;                       /* +inf (min) / -inf (max) before any step */
    float metric;                     /* last metric given; 0 before the first step */
    int32_t num_bad;                  /* PyTorch num_bad_epochs */
    int32_t cooldown_counter;         /* PyTorch cooldown_counter */
    uint32_t step;                    /* PyTorch last_epoch + 1: steps so far */
    uint32_t n_decrease;              /* reductions fired so far */
    uint32_t events;                  /* PORTA_SCHED_EV_* bits of the last step */
} porta_plateau_state;

#define PORTA_PLATEAU_STATE_WORDS (PORTA_SCHED_MAX_GROUPS + 7)

_Static_assert(sizeof(porta_plateau_config) == 4 * PORTA_PLATEAU_CONFIG_WORDS,
               "porta_plateau_config must be plain 32-bit words without padding");
_Static_assert(sizeof(porta_plateau_state) == 4 * PORTA_PLATEAU_STATE_WORDS,
               "porta_plateau_state must be plain 32-bit words without padding");

/* PyTorch's defaults: mode min, factor 0.1, patience 10, threshold 1e-4 rel,
 * cooldown 0, min_lr 0, eps 1e-8; one group with initial lr 1e-3 (PyTorch
 * takes it from the optimizer). */
porta_plateau_config porta_plateau_defaults(void);

/* Check a config: PORTA_OK or PORTA_ERROR_INVALID_ARGUMENT naming the first
 * bad parameter and value. Stricter than PyTorch (which only rejects
 * factor >= 1): factor must be in (0, 1); patience, cooldown in
 * 0..PORTA_SCHED_MAX_COUNT; threshold, eps finite and >= 0 (threshold < 1 in
 * rel mode); mode and threshold_mode 0 or 1; n_groups 1..8; initial_lr and
 * min_lr finite and >= 0. */
porta_status porta_plateau_validate(const porta_plateau_config *c, porta_msg *msg);

/* One line describing the config for logs. Returns the needed length. */
size_t porta_plateau_describe(const porta_plateau_config *c, char *buf, size_t cap);

/* Start: lr = initial_lr, best = +inf (min) / -inf (max), all else 0. */
void porta_plateau_init(porta_plateau_state *s, const porta_plateau_config *c);

/* One ReduceLROnPlateau.step(metric), exactly PyTorch's order, in fp32:
 *   step += 1
 *   if is_better(metric, best): best = metric, num_bad = 0  (even during
 *     cooldown)  else num_bad += 1
 *   if cooldown_counter > 0: cooldown_counter -= 1, num_bad = 0
 *   if num_bad > patience: per group new = fmaxf(lr * factor, min_lr),
 *     if (lr - new > eps) lr = new; cooldown_counter = cooldown; num_bad = 0
 * Non-finite metrics are not special (this is the PyTorch baseline): NaN is
 * a bad step, and -inf in min mode (+inf in max) becomes an unbeatable best.
 * Returns the PORTA_SCHED_EV_* bits (also in s->events). */
uint32_t porta_plateau_step(porta_plateau_state *s, const porta_plateau_config *c, float metric);

/* ---- stateless schedules ------------------------------------------------- */

/* Configuration of the closed-form schedules (kind CONSTANT, WARMUP_COSINE,
 * STEP, EXPONENTIAL, COSINE_RESTARTS). 24 words. Fields a kind does not use
 * are ignored. t below is the number of optimizer steps already taken: the
 * lr for the first update is lr(0), as a PyTorch scheduler gives before its
 * first step(). */
typedef struct porta_sched_config {
    uint32_t kind;        /* PORTA_SCHED_CONSTANT .. PORTA_SCHED_COSINE_RESTARTS */
    uint32_t n_groups;    /* 1..PORTA_SCHED_MAX_GROUPS */
    int32_t warmup_steps; /* WARMUP_COSINE: W >= 0 */
    int32_t total_steps;  /* WARMUP_COSINE: T >= W; lr = final_lr from step T on */
    int32_t step_size;    /* STEP: >= 1 */
    float gamma;          /* STEP, EXPONENTIAL: finite, > 0 */
    int32_t t_0;          /* COSINE_RESTARTS: first cycle length, >= 1 */
    int32_t t_mult;       /* COSINE_RESTARTS: cycle growth factor, >= 1 */
    float base_lr[PORTA_SCHED_MAX_GROUPS];
    float final_lr[PORTA_SCHED_MAX_GROUPS]; /* WARMUP_COSINE: final lr;
                                               COSINE_RESTARTS: eta_min */
} porta_sched_config;

#define PORTA_SCHED_CONFIG_WORDS (8 + 2 * PORTA_SCHED_MAX_GROUPS)

_Static_assert(sizeof(porta_sched_config) == 4 * PORTA_SCHED_CONFIG_WORDS,
               "porta_sched_config must be plain 32-bit words without padding");

/* Defaults for a kind: one group, base_lr 1e-3, final_lr 0, warmup_steps 0,
 * total_steps 1000, step_size 30, gamma 0.1 (STEP) or 0.99 (EXPONENTIAL),
 * t_0 100, t_mult 1. Unused group entries are 0. */
porta_sched_config porta_sched_defaults(uint32_t kind);

/* Check a config: PORTA_OK or PORTA_ERROR_INVALID_ARGUMENT naming the first
 * bad parameter and value (kind unknown or stateful, n_groups, the fields
 * the kind uses, and per group base_lr / final_lr finite and >= 0). */
porta_status porta_sched_validate(const porta_sched_config *c, porta_msg *msg);

/* One line describing the config for logs. Returns the needed length. */
size_t porta_sched_describe(const porta_sched_config *c, char *buf, size_t cap);

/* The lr of group g (< n_groups) after t steps, for a valid config:
 *   CONSTANT:        base
 *   WARMUP_COSINE:   t < W:  base * ((float)(t + 1) / (float)W)   (linear, reaches base at t = W-1)
 *                    t >= T: final
 *                    else:   final + coeff(t - W, T - W) * (base - final)
 *   STEP:            base * powi(gamma, t / step_size)   (integer division)
 *   EXPONENTIAL:     base * powi(gamma, t)
 *   COSINE_RESTARTS: PyTorch CosineAnnealingWarmRestarts after t step() calls:
 *                    T_i = t_0, T_cur = t; while (T_cur >= T_i) { T_cur -= T_i;
 *                    T_i *= t_mult } (uint32, exact; T_cur = t % t_0 when
 *                    t_mult == 1; cycle lengths saturate at 2^31);
 *                    eta_min + coeff(T_cur, T_i) * (base - eta_min)
 * coeff is porta_sched_cosine_coeff, powi porta_sched_powi. Returns 0 for
 * a stateful kind or g >= n_groups. */
float porta_sched_lr(const porta_sched_config *c, uint32_t g, uint32_t t);

#endif
