/* greedylr.c: GreedyLR on the host (see scheduler.h and docs/GREEDYLR.md).
 *
 * This file is the oracle of the GreedyLR state machine in the fused
 * optimizer kernel: fp32 only, one IEEE operation at a time, in the order
 * documented at porta_greedylr_step(). Build with -ffp-contract=off (the
 * project does, for every target) and never with -ffast-math or
 * -ffinite-math-only (they would delete the isfinite() checks).
 */
#include <math.h>
#include <string.h>

#include "scheduler.h"

static int finite_nonneg(float x)
{
    return isfinite(x) && x >= 0.0f;
}

porta_greedylr_config porta_greedylr_defaults(void)
{
    porta_greedylr_config c;
    memset(&c, 0, sizeof(c));
    c.mode = PORTA_SCHED_MODE_MIN;
    c.factor = 0.95f;
    c.patience = 10;
    c.threshold = 1e-6f;
    c.threshold_mode = PORTA_SCHED_THRESHOLD_ABS;
    c.cooldown = 0;
    c.warmup = 0;
    c.eps = 1e-8f;
    c.smooth = 0u;
    c.window_size = 50;
    c.reset_start = 500;
    c.n_groups = 1u;
    c.initial_lr[0] = 1e-2f;
    c.min_lr[0] = 1e-3f;
    c.max_lr[0] = 1.0f;
    return c;
}

static porta_status check_count(const char *name, int32_t v, int32_t lo, const char *what,
                                porta_msg *msg)
{
    if (v < lo || v > PORTA_SCHED_MAX_COUNT)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "GreedyLR %s = %d is invalid: it must be between %d and %d (%s)", name,
                             (int)v, (int)lo, PORTA_SCHED_MAX_COUNT, what);
    return PORTA_OK;
}

porta_status porta_greedylr_validate(const porta_greedylr_config *c, porta_msg *msg,
                                     uint32_t *warnings)
{
    const porta_status bad = PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st;
    if (warnings)
        *warnings = 0u;
    if (!c)
        return porta_msg_set(msg, bad, "GreedyLR: the config pointer is NULL");
    if (c->mode > 1u)
        return porta_msg_set(msg, bad,
                             "GreedyLR mode = %u is invalid: it must be 0 (min) or 1 (max)",
                             (unsigned)c->mode);
    if (!(c->factor > 0.0f && c->factor < 1.0f))
        return porta_msg_set(msg, bad,
                             "GreedyLR factor = %g is invalid: it must be in (0, 1), strictly "
                             "(a decrease multiplies lr by factor, an increase divides by it; "
                             "the paper found [0.5, 1) stable)",
                             (double)c->factor);
    if ((st = check_count("patience", c->patience, 0,
                          "an action fires on the (patience+1)-th "
                          "consecutive good or bad step",
                          msg)) != PORTA_OK)
        return st;
    if (c->threshold_mode > 1u)
        return porta_msg_set(msg, bad,
                             "GreedyLR threshold_mode = %u is invalid: it must be 0 (abs) or 1 "
                             "(rel)",
                             (unsigned)c->threshold_mode);
    if (!finite_nonneg(c->threshold))
        return porta_msg_set(msg, bad,
                             "GreedyLR threshold = %g is invalid: it must be finite and >= 0",
                             (double)c->threshold);
    if (c->threshold_mode == PORTA_SCHED_THRESHOLD_REL && !(c->threshold < 1.0f))
        return porta_msg_set(msg, bad,
                             "GreedyLR threshold = %g is invalid with threshold_mode rel: it "
                             "must be below 1 (better means below best x (1 - threshold))",
                             (double)c->threshold);
    if ((st = check_count("cooldown", c->cooldown, 0, "evaluated steps frozen after a decrease",
                          msg)) != PORTA_OK)
        return st;
    if ((st = check_count("warmup", c->warmup, 0, "evaluated steps frozen after an increase",
                          msg)) != PORTA_OK)
        return st;
    if (!finite_nonneg(c->eps))
        return porta_msg_set(msg, bad, "GreedyLR eps = %g is invalid: it must be finite and >= 0",
                             (double)c->eps);
    if (c->smooth > 1u)
        return porta_msg_set(msg, bad,
                             "GreedyLR smooth = %u is invalid: it must be 0 (off) or 1 (on)",
                             (unsigned)c->smooth);
    if (c->window_size < 1 || c->window_size > PORTA_GREEDYLR_MAX_WINDOW)
        return porta_msg_set(msg, bad,
                             "GreedyLR window_size = %d is invalid: it must be between 1 and %d "
                             "(PORTA_GREEDYLR_MAX_WINDOW, the most the device state holds)",
                             (int)c->window_size, PORTA_GREEDYLR_MAX_WINDOW);
    if ((st = check_count("reset_start", c->reset_start, 1,
                          "decrease events at the floor before a full reset", msg)) != PORTA_OK)
        return st;
    if (c->n_groups < 1u || c->n_groups > PORTA_SCHED_MAX_GROUPS)
        return porta_msg_set(msg, bad,
                             "GreedyLR n_groups = %u is invalid: it must be between 1 and %d "
                             "(PORTA_SCHED_MAX_GROUPS)",
                             (unsigned)c->n_groups, PORTA_SCHED_MAX_GROUPS);
    uint32_t warn = 0u;
    for (uint32_t g = 0; g < c->n_groups; g++) {
        if (!finite_nonneg(c->min_lr[g]))
            return porta_msg_set(msg, bad,
                                 "GreedyLR min_lr[%u] = %g is invalid: it must be finite and >= 0",
                                 (unsigned)g, (double)c->min_lr[g]);
        if (!finite_nonneg(c->max_lr[g]))
            return porta_msg_set(msg, bad,
                                 "GreedyLR max_lr[%u] = %g is invalid: it must be finite and >= 0",
                                 (unsigned)g, (double)c->max_lr[g]);
        if (c->min_lr[g] > c->max_lr[g])
            return porta_msg_set(msg, bad,
                                 "GreedyLR min_lr[%u] = %g is invalid: it is greater than "
                                 "max_lr[%u] = %g",
                                 (unsigned)g, (double)c->min_lr[g], (unsigned)g,
                                 (double)c->max_lr[g]);
        if (!finite_nonneg(c->initial_lr[g]))
            return porta_msg_set(msg, bad,
                                 "GreedyLR initial_lr[%u] = %g is invalid: it must be finite and "
                                 ">= 0",
                                 (unsigned)g, (double)c->initial_lr[g]);
        if (c->initial_lr[g] <= c->min_lr[g])
            warn |= PORTA_GREEDYLR_WARN_LR_AT_MIN;
        if (c->initial_lr[g] > c->max_lr[g])
            warn |= PORTA_GREEDYLR_WARN_LR_ABOVE_MAX;
    }
    if (warnings)
        *warnings = warn;
    return PORTA_OK;
}

size_t porta_greedylr_describe_warnings(const porta_greedylr_config *c, uint32_t warnings,
                                        char *buf, size_t cap)
{
    size_t at = 0;
    if (buf && cap)
        buf[0] = '\0';
    uint32_t n = c->n_groups < PORTA_SCHED_MAX_GROUPS ? c->n_groups : PORTA_SCHED_MAX_GROUPS;
    for (uint32_t g = 0; g < n; g++) {
        if ((warnings & PORTA_GREEDYLR_WARN_LR_AT_MIN) && c->initial_lr[g] <= c->min_lr[g])
            at = porta_sched_text_append(
                buf, cap, at,
                "%sGreedyLR warning: group %u starts at lr %g, at or below its min_lr %g, so a "
                "decrease can never lower its rate (increases still work); set min_lr below "
                "the initial lr (the paper used 10%% of it).",
                at ? "\n" : "", (unsigned)g, (double)c->initial_lr[g], (double)c->min_lr[g]);
        if ((warnings & PORTA_GREEDYLR_WARN_LR_ABOVE_MAX) && c->initial_lr[g] > c->max_lr[g])
            at = porta_sched_text_append(
                buf, cap, at,
                "%sGreedyLR warning: group %u starts at lr %g, above its max_lr %g, so no "
                "increase can take effect until decreases bring it below max_lr.",
                at ? "\n" : "", (unsigned)g, (double)c->initial_lr[g], (double)c->max_lr[g]);
    }
    return at;
}

size_t porta_greedylr_describe(const porta_greedylr_config *c, char *buf, size_t cap)
{
    if (buf && cap)
        buf[0] = '\0';
    size_t at = porta_sched_text_append(
        buf, cap, 0,
        "greedylr mode=%s factor=%.9g patience=%d threshold=%.9g threshold_mode=%s "
        "cooldown=%d warmup=%d eps=%.9g smooth=%s window_size=%d reset_start=%d groups=%u",
        porta_sched_mode_name(c->mode), (double)c->factor, (int)c->patience, (double)c->threshold,
        porta_sched_threshold_mode_name(c->threshold_mode), (int)c->cooldown, (int)c->warmup,
        (double)c->eps, c->smooth ? "on" : "off", (int)c->window_size, (int)c->reset_start,
        (unsigned)c->n_groups);
    at = porta_sched_text_floats(buf, cap, at, "lr", c->initial_lr, c->n_groups);
    at = porta_sched_text_floats(buf, cap, at, "min_lr", c->min_lr, c->n_groups);
    return porta_sched_text_floats(buf, cap, at, "max_lr", c->max_lr, c->n_groups);
}

static float worst_value(const porta_greedylr_config *c)
{
    return c->mode == PORTA_SCHED_MODE_MIN ? INFINITY : -INFINITY;
}

static void window_clear(porta_greedylr_state *s)
{
    for (uint32_t i = 0; i < PORTA_GREEDYLR_MAX_WINDOW; i++)
        s->window[i] = 0.0f;
    s->window_count = 0u;
    s->window_head = 0u;
}

void porta_greedylr_init(porta_greedylr_state *s, const porta_greedylr_config *c)
{
    memset(s, 0, sizeof(*s));
    for (uint32_t g = 0; g < c->n_groups && g < PORTA_SCHED_MAX_GROUPS; g++)
        s->lr[g] = c->initial_lr[g];
    s->best = worst_value(c);
    s->reset_left = c->reset_start;
}

float porta_greedylr_rolling_mean(const porta_greedylr_state *s, const porta_greedylr_config *c)
{
    uint32_t size = (uint32_t)c->window_size;
    uint32_t count = s->window_count;
    if (count == 0u || count > size || s->window_head >= size)
        return NAN;
    /* oldest live slot: head - count, cyclically */
    uint32_t i = s->window_head >= count ? s->window_head - count : s->window_head + size - count;
    float sum = 0.0f;
    for (uint32_t k = 0; k < count; k++) {
        sum = sum + s->window[i];
        i = i + 1u == size ? 0u : i + 1u;
    }
    return sum / (float)count;
}

static void window_push(porta_greedylr_state *s, const porta_greedylr_config *c, float v)
{
    uint32_t size = (uint32_t)c->window_size;
    s->window[s->window_head] = v;
    s->window_head = s->window_head + 1u == size ? 0u : s->window_head + 1u;
    if (s->window_count < size)
        s->window_count += 1u;
}

static void reset(porta_greedylr_state *s, const porta_greedylr_config *c)
{
    for (uint32_t g = 0; g < c->n_groups; g++)
        s->lr[g] = c->initial_lr[g];
    s->best = worst_value(c);
    s->good = 0;
    s->bad = 0;
    s->cooldown_left = 0;
    s->warmup_left = 0;
    s->reset_left = c->reset_start;
    window_clear(s);
}

/* Returns PORTA_SCHED_EV_CHANGED if some group's lr changed. */
static uint32_t increase(porta_greedylr_state *s, const porta_greedylr_config *c)
{
    uint32_t ev = 0u;
    for (uint32_t g = 0; g < c->n_groups; g++) {
        float lr = s->lr[g];
        float cand = fminf(lr / c->factor, c->max_lr[g]);
        if (cand - lr > c->eps) {
            s->lr[g] = cand;
            ev |= PORTA_SCHED_EV_CHANGED;
        }
    }
    s->reset_left = c->reset_start;
    return ev;
}

/* Returns PORTA_SCHED_EV_CHANGED / _RESET bits. */
static uint32_t decrease(porta_greedylr_state *s, const porta_greedylr_config *c)
{
    uint32_t ev = 0u;
    uint32_t at_floor = 1u;
    for (uint32_t g = 0; g < c->n_groups; g++) {
        float lr = s->lr[g];
        float cand = fmaxf(lr * c->factor, c->min_lr[g]);
        if (lr - cand > c->eps) {
            s->lr[g] = cand;
            ev |= PORTA_SCHED_EV_CHANGED;
        }
        if (!(s->lr[g] <= c->min_lr[g]))
            at_floor = 0u;
    }
    if (at_floor) {
        s->reset_left -= 1;
        if (s->reset_left <= 0) {
            for (uint32_t g = 0; g < c->n_groups; g++)
                if (s->lr[g] != c->initial_lr[g])
                    ev |= PORTA_SCHED_EV_CHANGED;
            reset(s, c);
            s->n_reset += 1u;
            ev |= PORTA_SCHED_EV_RESET;
        }
    }
    return ev;
}

uint32_t porta_greedylr_step(porta_greedylr_state *s, const porta_greedylr_config *c, float metric)
{
    uint32_t ev = 0u;
    float x = metric;
    s->step += 1u;

    /* 1. smoothing: finite values only (D2) */
    if (c->smooth != 0u && isfinite(metric)) {
        window_push(s, c, metric);
        x = porta_greedylr_rolling_mean(s, c);
    }
    s->metric = x;
    uint32_t finite = isfinite(x) ? 1u : 0u;
    if (!finite) {
        s->n_nonfinite += 1u;
        ev |= PORTA_SCHED_EV_NONFINITE;
    }

    /* 2. freezes */
    if (s->cooldown_left > 0) {
        s->cooldown_left -= 1;
        s->good = 0;
        s->bad = 0;
        ev |= PORTA_SCHED_EV_FROZEN;
    } else if (s->warmup_left > 0) {
        s->warmup_left -= 1;
        s->good = 0;
        s->bad = 0;
        ev |= PORTA_SCHED_EV_FROZEN;
    } else {
        /* 3. compare; a non-finite value is a bad step and never best (D2) */
        if (finite && porta_sched_is_better(x, s->best, c->mode, c->threshold_mode, c->threshold)) {
            s->best = x;
            s->good += 1;
            s->bad = 0;
            ev |= PORTA_SCHED_EV_IMPROVED;
        } else {
            s->bad += 1;
            s->good = 0;
        }
        if (s->good > c->patience) {
            ev |= PORTA_SCHED_EV_INCREASE | increase(s, c);
            s->n_increase += 1u;
            s->warmup_left = c->warmup;
            s->good = 0;
        } else if (s->bad > c->patience) {
            ev |= PORTA_SCHED_EV_DECREASE | decrease(s, c);
            s->n_decrease += 1u;
            s->cooldown_left = c->cooldown;
            s->bad = 0;
        }
    }
    s->events = ev;
    return ev;
}

porta_status porta_greedylr_check_state(const porta_greedylr_config *c,
                                        const porta_greedylr_state *s, porta_msg *msg)
{
    const porta_status bad = PORTA_ERROR_CORRUPT_DATA;
    for (uint32_t g = 0; g < PORTA_SCHED_MAX_GROUPS; g++) {
        if (g < c->n_groups && !finite_nonneg(s->lr[g]))
            return porta_msg_set(msg, bad,
                                 "GreedyLR state lr[%u] = %g is impossible: it must be finite "
                                 "and >= 0",
                                 (unsigned)g, (double)s->lr[g]);
        if (g >= c->n_groups && s->lr[g] != 0.0f)
            return porta_msg_set(msg, bad,
                                 "GreedyLR state lr[%u] = %g is impossible: the config has %u "
                                 "group(s), so it must be 0",
                                 (unsigned)g, (double)s->lr[g], (unsigned)c->n_groups);
    }
    if (isnan(s->best) || (isinf(s->best) && s->best != worst_value(c)))
        return porta_msg_set(msg, bad,
                             "GreedyLR state best = %g is impossible in mode %s: it must be "
                             "finite or %s",
                             (double)s->best, porta_sched_mode_name(c->mode),
                             c->mode == PORTA_SCHED_MODE_MIN ? "+inf" : "-inf");
    if (s->good < 0 || s->good > c->patience || s->bad < 0 || s->bad > c->patience ||
        (s->good > 0 && s->bad > 0))
        return porta_msg_set(msg, bad,
                             "GreedyLR state good = %d, bad = %d is impossible with patience %d",
                             (int)s->good, (int)s->bad, (int)c->patience);
    if (s->cooldown_left < 0 || s->cooldown_left > c->cooldown)
        return porta_msg_set(msg, bad,
                             "GreedyLR state cooldown_left = %d is impossible with cooldown %d",
                             (int)s->cooldown_left, (int)c->cooldown);
    if (s->warmup_left < 0 || s->warmup_left > c->warmup)
        return porta_msg_set(msg, bad,
                             "GreedyLR state warmup_left = %d is impossible with warmup %d",
                             (int)s->warmup_left, (int)c->warmup);
    if (s->reset_left < 1 || s->reset_left > c->reset_start)
        return porta_msg_set(msg, bad,
                             "GreedyLR state reset_left = %d is impossible with reset_start %d",
                             (int)s->reset_left, (int)c->reset_start);
    uint32_t size = (uint32_t)c->window_size;
    if (s->window_count > size || s->window_head >= size ||
        (c->smooth == 0u && (s->window_count != 0u || s->window_head != 0u)))
        return porta_msg_set(msg, bad,
                             "GreedyLR state window_count = %u, window_head = %u is impossible "
                             "with window_size %d and smoothing %s",
                             (unsigned)s->window_count, (unsigned)s->window_head,
                             (int)c->window_size, c->smooth ? "on" : "off");
    uint32_t first = s->window_head >= s->window_count ? s->window_head - s->window_count
                                                       : s->window_head + size - s->window_count;
    for (uint32_t i = 0; i < PORTA_GREEDYLR_MAX_WINDOW; i++) {
        uint32_t live = i < size && ((i + size - first) % size) < s->window_count;
        if (live && !isfinite(s->window[i]))
            return porta_msg_set(msg, bad,
                                 "GreedyLR state window[%u] = %g is impossible: window values "
                                 "are finite",
                                 (unsigned)i, (double)s->window[i]);
        if (!live && s->window[i] != 0.0f)
            return porta_msg_set(msg, bad,
                                 "GreedyLR state window[%u] = %g is impossible: slots outside "
                                 "the live window are 0",
                                 (unsigned)i, (double)s->window[i]);
    }
    if (s->events > 0x7Fu)
        return porta_msg_set(msg, bad, "GreedyLR state events = 0x%x has unknown bits",
                             (unsigned)s->events);
    return PORTA_OK;
}

/* ---- checkpoints --------------------------------------------------------- */

static void put_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v & 0xFFu);
    p[1] = (unsigned char)((v >> 8) & 0xFFu);
    p[2] = (unsigned char)((v >> 16) & 0xFFu);
    p[3] = (unsigned char)((v >> 24) & 0xFFu);
}

static uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static uint32_t fnv1a32(const unsigned char *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

/* Struct <-> little-endian words (the structs are plain 32-bit words). */
static void put_words(unsigned char *p, const void *src, size_t words)
{
    for (size_t i = 0; i < words; i++) {
        uint32_t w;
        memcpy(&w, (const unsigned char *)src + 4 * i, 4);
        put_u32(p + 4 * i, w);
    }
}

static void get_words(void *dst, const unsigned char *p, size_t words)
{
    for (size_t i = 0; i < words; i++) {
        uint32_t w = get_u32(p + 4 * i);
        memcpy((unsigned char *)dst + 4 * i, &w, 4);
    }
}

porta_status porta_greedylr_save(const porta_greedylr_config *c, const porta_greedylr_state *s,
                                 void *buf, size_t cap, size_t *written)
{
    const size_t need = PORTA_GREEDYLR_SAVE_BYTES;
    if (written)
        *written = need;
    if (!c || !s || !buf || cap < need)
        return PORTA_ERROR_INVALID_ARGUMENT;
    unsigned char *p = buf;
    unsigned char *payload = p + PORTA_GREEDYLR_HEADER_BYTES;
    put_words(payload, c, PORTA_GREEDYLR_CONFIG_WORDS);
    put_words(payload + 4 * PORTA_GREEDYLR_CONFIG_WORDS, s, PORTA_GREEDYLR_STATE_WORDS);
    memcpy(p, PORTA_GREEDYLR_MAGIC, 4);
    put_u32(p + 4, PORTA_GREEDYLR_VERSION);
    put_u32(p + 8, PORTA_GREEDYLR_CONFIG_WORDS);
    put_u32(p + 12, PORTA_GREEDYLR_STATE_WORDS);
    put_u32(p + 16, fnv1a32(payload, need - PORTA_GREEDYLR_HEADER_BYTES));
    return PORTA_OK;
}

porta_status porta_greedylr_load(const void *buf, size_t bytes, porta_greedylr_config *c,
                                 porta_greedylr_state *s, porta_msg *msg)
{
    const porta_status bad = PORTA_ERROR_CORRUPT_DATA;
    const size_t need = PORTA_GREEDYLR_SAVE_BYTES;
    if (!buf || !c || !s)
        return porta_msg_set(msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "GreedyLR load: buffer, config and state must not be NULL");
    const unsigned char *p = buf;
    if (bytes < PORTA_GREEDYLR_HEADER_BYTES)
        return porta_msg_set(msg, bad,
                             "GreedyLR checkpoint is truncated: %zu bytes, shorter than its "
                             "%u-byte header",
                             bytes, (unsigned)PORTA_GREEDYLR_HEADER_BYTES);
    if (memcmp(p, PORTA_GREEDYLR_MAGIC, 4) != 0)
        return porta_msg_set(msg, bad,
                             "not a GreedyLR checkpoint: the first bytes are %02x %02x %02x %02x, "
                             "not \"PGLR\"",
                             p[0], p[1], p[2], p[3]);
    uint32_t version = get_u32(p + 4);
    if (version != PORTA_GREEDYLR_VERSION)
        return porta_msg_set(msg, bad,
                             "GreedyLR checkpoint version %u is not supported: this build reads "
                             "version %u",
                             (unsigned)version, (unsigned)PORTA_GREEDYLR_VERSION);
    uint32_t cw = get_u32(p + 8), sw = get_u32(p + 12);
    if (cw != PORTA_GREEDYLR_CONFIG_WORDS || sw != PORTA_GREEDYLR_STATE_WORDS)
        return porta_msg_set(msg, bad,
                             "GreedyLR checkpoint holds %u config and %u state words; version %u "
                             "has %u and %u",
                             (unsigned)cw, (unsigned)sw, (unsigned)PORTA_GREEDYLR_VERSION,
                             (unsigned)PORTA_GREEDYLR_CONFIG_WORDS,
                             (unsigned)PORTA_GREEDYLR_STATE_WORDS);
    if (bytes != need)
        return porta_msg_set(msg, bad,
                             "GreedyLR checkpoint is %zu bytes; it must be exactly %zu (%s)", bytes,
                             need, bytes < need ? "truncated" : "trailing bytes");
    const unsigned char *payload = p + PORTA_GREEDYLR_HEADER_BYTES;
    uint32_t sum = fnv1a32(payload, need - PORTA_GREEDYLR_HEADER_BYTES);
    if (sum != get_u32(p + 16))
        return porta_msg_set(msg, bad,
                             "GreedyLR checkpoint is corrupt: checksum 0x%08x, stored 0x%08x",
                             (unsigned)sum, (unsigned)get_u32(p + 16));
    porta_greedylr_config nc;
    porta_greedylr_state ns;
    get_words(&nc, payload, PORTA_GREEDYLR_CONFIG_WORDS);
    get_words(&ns, payload + 4 * PORTA_GREEDYLR_CONFIG_WORDS, PORTA_GREEDYLR_STATE_WORDS);
    porta_msg detail;
    detail.text[0] = '\0';
    if (porta_greedylr_validate(&nc, &detail, NULL) != PORTA_OK)
        return porta_msg_set(msg, bad, "GreedyLR checkpoint holds an invalid config: %s",
                             detail.text);
    if (porta_greedylr_check_state(&nc, &ns, &detail) != PORTA_OK)
        return porta_msg_set(msg, bad, "GreedyLR checkpoint holds an impossible state: %s",
                             detail.text);
    *c = nc;
    *s = ns;
    return PORTA_OK;
}
