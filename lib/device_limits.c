/* device_limits.c: make a device look smaller than it is.
 *
 * porta cannot own every GPU, so the limits of the small ones are emulated
 * on the devices it has: porta_context_options::device_limits (or
 * $PORTA_DEVICE_LIMITS) lowers what the opened device reports, and the
 * backends and lib/ then refuse or adapt exactly as they would on a device
 * that reported those values itself. A limit can only be lowered: a value
 * above the device's own keeps the device's.
 *
 * The text is a comma-separated list of profiles and key=value items,
 * applied left to right; sizes take a K, M or G suffix (powers of 1024):
 *
 *   max_alloc=SIZE        largest buffer (max_alloc_bytes)
 *   storage_range=SIZE    largest range one binding addresses (also caps max_alloc)
 *   storage_buffers=N     storage buffers one kernel may bind
 *   local_mem=SIZE        shared memory per workgroup
 *   workgroup=N           invocations per workgroup
 *   push=SIZE             params (push constant) bytes
 *   timestamps=0          no device timestamps
 *   handover=0            no hand-over between workgroups of one dispatch
 *
 *   vulkan-min  the limits every Vulkan device meets: storage_range=128M,
 *               storage_buffers=4, local_mem=16K, workgroup=128, push=128,
 *               handover=0
 *   small-gpu   a small GPU: max_alloc=128M, storage_buffers=8, local_mem=16K,
 *               workgroup=128, handover=0
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct limits_profile {
    const char *name;
    const char *items;
} limits_profile;

static const limits_profile profiles[] = {
    {"vulkan-min", "storage_range=128M,storage_buffers=4,local_mem=16K,workgroup=128,push=128,"
                   "handover=0"},
    {"small-gpu", "max_alloc=128M,storage_buffers=8,local_mem=16K,workgroup=128,handover=0"},
};

static void lower_u64(uint64_t *field, uint64_t value)
{
    if (value < *field)
        *field = value;
}

static void lower_u32(uint32_t *field, uint64_t value)
{
    if (value < *field)
        *field = (uint32_t)value;
}

/* Parse "123", "16K", "128M", "2G" into *out; 0 on success. */
static int parse_size(const char *text, size_t len, uint64_t *out)
{
    char buf[32];
    if (len == 0 || len >= sizeof(buf))
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (!isdigit((unsigned char)buf[0]))
        return -1;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(buf, &end, 10);
    if (errno)
        return -1;
    unsigned shift = 0;
    if (*end == 'K' || *end == 'k')
        shift = 10;
    else if (*end == 'M' || *end == 'm')
        shift = 20;
    else if (*end == 'G' || *end == 'g')
        shift = 30;
    if (shift)
        end++;
    if (*end != '\0' || v > (UINT64_MAX >> shift))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int key_is(const char *key, size_t len, const char *name)
{
    return strlen(name) == len && strncmp(key, name, len) == 0;
}

/* Apply one key=value item; 0, or -1 for an unknown key, -2 for a bad
 * value. */
static int apply_item(porta_device_caps *c, const char *key, size_t klen, uint64_t v)
{
    if (key_is(key, klen, "max_alloc")) {
        lower_u64(&c->max_alloc_bytes, v);
    } else if (key_is(key, klen, "storage_range")) {
        lower_u64(&c->max_storage_range, v);
        lower_u64(&c->max_alloc_bytes, v);
    } else if (key_is(key, klen, "storage_buffers")) {
        lower_u32(&c->max_storage_buffers, v);
    } else if (key_is(key, klen, "local_mem")) {
        lower_u64(&c->local_mem_bytes, v);
    } else if (key_is(key, klen, "workgroup")) {
        if (v == 0)
            return -2;
        lower_u32(&c->max_workgroup_size, v);
    } else if (key_is(key, klen, "push")) {
        lower_u32(&c->max_push_bytes, v);
    } else if (key_is(key, klen, "timestamps")) {
        if (v != 0)
            return -2;
        c->timestamp_period_ns = 0.0;
    } else if (key_is(key, klen, "handover")) {
        if (v != 0)
            return -2;
        c->group_handover = 0;
    } else {
        return -1;
    }
    return 0;
}

static porta_status apply_list(porta_context *ctx, const char *text, porta_device_caps *c,
                               int depth);

static porta_status apply_word(porta_context *ctx, const char *w, size_t len, porta_device_caps *c,
                               int depth)
{
    const char *eq = memchr(w, '=', len);
    if (!eq) {
        for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++) {
            if (key_is(w, len, profiles[i].name) && depth == 0)
                return apply_list(ctx, profiles[i].items, c, 1);
        }
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device limits: unknown profile \"%.*s\" (profiles: vulkan-min, "
                             "small-gpu; or key=value items, see porta_context_options)",
                             (int)len, w);
    }
    const size_t klen = (size_t)(eq - w);
    uint64_t v = 0;
    if (parse_size(eq + 1, len - klen - 1, &v) != 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device limits: \"%.*s\" needs a number, optionally with a K, M or "
                             "G suffix",
                             (int)len, w);
    int r = apply_item(c, w, klen, v);
    if (r == -1)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device limits: unknown key \"%.*s\" (keys: max_alloc, "
                             "storage_range, storage_buffers, local_mem, workgroup, push, "
                             "timestamps, handover)",
                             (int)klen, w);
    if (r == -2)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device limits: \"%.*s\" is out of range (workgroup at least 1; "
                             "timestamps and handover can only be 0)",
                             (int)len, w);
    return PORTA_OK;
}

static porta_status apply_list(porta_context *ctx, const char *text, porta_device_caps *c,
                               int depth)
{
    const char *p = text;
    while (*p) {
        while (*p == ',' || *p == ' ')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        size_t len = (size_t)(p - start);
        while (len > 0 && start[len - 1] == ' ')
            len--;
        if (len == 0)
            continue;
        porta_status st = apply_word(ctx, start, len, c, depth);
        if (st)
            return st;
    }
    return PORTA_OK;
}

porta_status porta__device_limits_apply(porta_context *ctx, const char *text,
                                        porta_device_caps *caps)
{
    if (!text || !text[0])
        return PORTA_OK;
    porta_device_caps c = *caps;
    porta_status st = apply_list(ctx, text, &c, 0);
    if (st)
        return st;
    *caps = c;
    return PORTA_OK;
}
