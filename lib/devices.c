/* devices.c: enumerating devices of both APIs, choosing one, opening it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char *api_name(porta_api api)
{
    return api == PORTA_API_OPENCL ? "opencl" : "vulkan";
}

static const char *type_name(porta_device_type t)
{
    switch (t) {
    case PORTA_DEVICE_TYPE_CPU:
        return "cpu";
    case PORTA_DEVICE_TYPE_INTEGRATED_GPU:
        return "integrated-gpu";
    case PORTA_DEVICE_TYPE_DISCRETE_GPU:
        return "discrete-gpu";
    case PORTA_DEVICE_TYPE_VIRTUAL_GPU:
        return "virtual-gpu";
    default:
        return "other";
    }
}

void porta__device_info_from_caps(const porta_device_caps *c, porta_device_info *info)
{
    memset(info, 0, sizeof(*info));
    info->api = api_name(c->api);
    info->index = c->index;
    snprintf(info->spec, sizeof(info->spec), "%s:%u", info->api, c->index);
    snprintf(info->name, sizeof(info->name), "%s", c->name);
    snprintf(info->vendor, sizeof(info->vendor), "%s", c->vendor);
    snprintf(info->platform, sizeof(info->platform), "%s", c->platform);
    snprintf(info->driver, sizeof(info->driver), "%s", c->driver);
    snprintf(info->api_version, sizeof(info->api_version), "%s", c->api_version);
    info->type = type_name(c->type);
    info->global_mem_bytes = c->global_mem_bytes;
    info->max_alloc_bytes = c->max_alloc_bytes;
    info->local_mem_bytes = c->local_mem_bytes;
    info->max_workgroup_size = c->max_workgroup_size;
    info->subgroup_min = c->subgroup_min;
    info->subgroup_max = c->subgroup_max;
    info->timestamps = c->timestamp_period_ns > 0;
}

/* Append one API's devices to the context's list. */
static porta_status add_api(porta_context *ctx, porta_api api)
{
    porta_device_caps *list = NULL;
    size_t n = 0;
    porta_msg note = {{0}};
    porta_status st = api == PORTA_API_OPENCL ? porta_opencl_enumerate(&list, &n, &note)
                                              : porta_vulkan_enumerate(&list, &n, &note);
    if (st != PORTA_OK || n == 0) {
        size_t len = strlen(ctx->enumerate_notes);
        snprintf(ctx->enumerate_notes + len, sizeof(ctx->enumerate_notes) - len, "%s: %s%s%s\n",
                 api_name(api), st ? porta_strerror(st) : "no devices", note.text[0] ? ": " : "",
                 note.text);
        free(list);
        return st == PORTA_ERROR_OUT_OF_HOST_MEMORY ? st : PORTA_OK;
    }
    porta_device_caps *all = realloc(ctx->devices, (ctx->n_devices + n) * sizeof(*all));
    if (!all) {
        free(list);
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    }
    memcpy(all + ctx->n_devices, list, n * sizeof(*all));
    ctx->devices = all;
    ctx->n_devices += n;
    free(list);
    return PORTA_OK;
}

static porta_status enumerate(porta_context *ctx)
{
    if (ctx->enumerated)
        return PORTA_OK;
    porta_status st = add_api(ctx, PORTA_API_OPENCL);
    if (st == PORTA_OK)
        st = add_api(ctx, PORTA_API_VULKAN);
    if (st != PORTA_OK)
        return porta_msg_set(&ctx->msg, st, "device enumeration: %s", porta_strerror(st));
    ctx->enumerated = 1;
    return PORTA_OK;
}

porta_status porta_device_count(porta_context *ctx, size_t *count)
{
    if (!ctx || !count)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = enumerate(ctx);
    if (st)
        return st;
    *count = ctx->n_devices;
    if (ctx->enumerate_notes[0])
        porta_msg_set(&ctx->msg, PORTA_OK, "%s", ctx->enumerate_notes);
    return PORTA_OK;
}

porta_status porta_device_get_info(porta_context *ctx, size_t i, porta_device_info *info)
{
    if (!ctx || !info)
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_status st = enumerate(ctx);
    if (st)
        return st;
    if (i >= ctx->n_devices)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device %zu requested, but only %zu found", i, ctx->n_devices);
    porta__device_info_from_caps(&ctx->devices[i], info);
    return PORTA_OK;
}

/* ---- choosing ------------------------------------------------------------ */

static int type_rank(porta_device_type t)
{
    switch (t) {
    case PORTA_DEVICE_TYPE_DISCRETE_GPU:
        return 4;
    case PORTA_DEVICE_TYPE_INTEGRATED_GPU:
        return 3;
    case PORTA_DEVICE_TYPE_VIRTUAL_GPU:
    case PORTA_DEVICE_TYPE_OTHER:
        return 2;
    default:
        return 1; /* CPU */
    }
}

/* Is a better than b for the default choice? Enumeration order (OpenCL
 * first) breaks remaining ties because the caller keeps the first best. */
static int better(const porta_device_caps *a, const porta_device_caps *b)
{
    if (type_rank(a->type) != type_rank(b->type))
        return type_rank(a->type) > type_rank(b->type);
    return a->global_mem_bytes > b->global_mem_bytes;
}

static int contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return n == 0;
}

/* Does device d match the text part of a spec? Two names users know are
 * not in what the drivers report: lavapipe, the Vulkan driver that calls
 * itself llvmpipe, and pocl, whose platform is "Portable Computing
 * Language". */
static int matches_text(const porta_device_caps *d, const char *text)
{
    if (contains_nocase(d->name, text) || contains_nocase(d->vendor, text) ||
        contains_nocase(d->platform, text) || contains_nocase(d->driver, text))
        return 1;
    if (d->api == PORTA_API_OPENCL && *text && contains_nocase("pocl", text) &&
        contains_nocase(d->platform, "Portable Computing Language"))
        return 1;
    return d->api == PORTA_API_VULKAN && *text && contains_nocase("lavapipe", text) &&
           contains_nocase(d->platform, "llvmpipe");
}

static void list_devices(porta_context *ctx)
{
    for (size_t i = 0; i < ctx->n_devices; i++) {
        const porta_device_caps *d = &ctx->devices[i];
        porta_msg_append(&ctx->msg, "\n  %s:%u  %s (%s, %s)", api_name(d->api), d->index, d->name,
                         d->platform, type_name(d->type));
    }
    if (ctx->enumerate_notes[0])
        porta_msg_append(&ctx->msg, "\n%s", ctx->enumerate_notes);
}

/* Pick the device a spec names; -1 with the message set when none does. */
static long choose(porta_context *ctx, const char *spec)
{
    int want_api = -1;
    const char *text = spec;
    if (strncmp(spec, "opencl", 6) == 0 && (spec[6] == ':' || spec[6] == '\0')) {
        want_api = PORTA_API_OPENCL;
        text = spec[6] ? spec + 7 : spec + 6;
    } else if (strncmp(spec, "vulkan", 6) == 0 && (spec[6] == ':' || spec[6] == '\0')) {
        want_api = PORTA_API_VULKAN;
        text = spec[6] ? spec + 7 : spec + 6;
    }
    char *end = NULL;
    long index = -1;
    if (want_api >= 0 && *text && isdigit((unsigned char)*text)) {
        index = strtol(text, &end, 10);
        if (*end != '\0')
            index = -2; /* "opencl:1x": malformed */
    }
    long best = -1;
    for (size_t i = 0; i < ctx->n_devices && index != -2; i++) {
        const porta_device_caps *d = &ctx->devices[i];
        if (want_api >= 0 && (int)d->api != want_api)
            continue;
        if (index >= 0 ? (long)d->index != index : !matches_text(d, text))
            continue;
        if (best < 0 || better(d, &ctx->devices[best]))
            best = (long)i;
    }
    if (best < 0) {
        porta_msg_set(&ctx->msg, PORTA_ERROR_DEVICE_NOT_FOUND,
                      "device \"%s\" not found; use opencl:N, vulkan:N or part of a device "
                      "name. Devices found:",
                      spec);
        list_devices(ctx);
    }
    return best;
}

/* The enumeration index of the device spec names (see porta_device_open). */
static porta_status resolve(porta_context *ctx, const char *spec, long *index)
{
    porta_status st = enumerate(ctx);
    if (st)
        return st;
    if (!spec || !*spec || strcmp(spec, "default") == 0) {
        const char *env = getenv("PORTA_DEVICE");
        spec = env && *env ? env : "";
    }
    if (ctx->n_devices == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_NO_DEVICE,
                             "no OpenCL or Vulkan device found:\n%s", ctx->enumerate_notes);
    *index = choose(ctx, spec);
    return *index < 0 ? PORTA_ERROR_DEVICE_NOT_FOUND : PORTA_OK;
}

porta_status porta_device_find(porta_context *ctx, const char *spec, porta_device_info *info)
{
    if (!ctx || !info)
        return PORTA_ERROR_INVALID_ARGUMENT;
    long i = -1;
    porta_status st = resolve(ctx, spec, &i);
    if (!st)
        porta__device_info_from_caps(&ctx->devices[i], info);
    return st;
}

static porta_status apply_overrides(porta_context *ctx, const char *preset, const char *limits,
                                    porta_device_caps *caps);

porta_status porta_device_open(porta_context *ctx, const char *spec, porta_device_info *chosen)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (ctx->open)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "this context already has a device open");
    long i = -1;
    porta_status st = resolve(ctx, spec, &i);
    if (st)
        return st;

    const porta_device_caps *d = &ctx->devices[i];
    const char *preset = ctx->preset_set ? ctx->device_preset : getenv("PORTA_DEVICE_PRESET");
    const char *limits = ctx->limits_set ? ctx->device_limits : getenv("PORTA_DEVICE_LIMITS");
    /* Check the overrides on the enumerated caps first, so that a bad one
     * fails before the device is opened. */
    porta_device_caps preview = *d;
    st = apply_overrides(ctx, preset, limits, &preview);
    if (st)
        return st;
    porta_backend_options opt = {
        .cache_dir = ctx->cache_dir, .validate = ctx->validate, .keep_source = ctx->keep_source};
    memset(&ctx->backend, 0, sizeof(ctx->backend));
    ctx->backend.msg = &ctx->msg;
    ctx->msg.text[0] = '\0';
    st = d->api == PORTA_API_OPENCL ? porta_opencl_open(d->index, &opt, &ctx->backend)
                                    : porta_vulkan_open(d->index, &opt, &ctx->backend);
    if (st != PORTA_OK)
        return st;
    ctx->open = 1;
    apply_overrides(ctx, preset, limits, &ctx->backend.caps); /* checked above */
    snprintf(ctx->limits_applied, sizeof(ctx->limits_applied), "%s", limits ? limits : "");
    /* The default variant: 256 invocations, or the largest power of two the
     * device allows. */
    uint32_t local = 256;
    while (local > ctx->backend.caps.max_workgroup_size && local > 1)
        local /= 2;
    ctx->variant = (porta_kernel_variant){.local_size = local, .spec = {1, 1, 1, 1}};
    if (chosen)
        porta__device_info_from_caps(&ctx->backend.caps, chosen);
    return PORTA_OK;
}

/* ---- overrides: the tuning preset and emulated limits ------------------- */

static porta_status apply_overrides(porta_context *ctx, const char *preset, const char *limits,
                                    porta_device_caps *caps)
{
    if (preset && preset[0] && porta_device_preset_apply_named(caps, preset) != 0) {
        char names[256];
        porta_device_preset_list(names, sizeof(names));
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "device preset \"%s\" is not in porta's tuning table (%s)", preset,
                             names);
    }
    return porta__device_limits_apply(ctx, limits, caps);
}

/* Store `text` (NULL: unset, from the environment) into field[cap]. */
static porta_status set_override(porta_context *ctx, const char *text, char *field, size_t cap,
                                 int *set, const char *what)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (text && strlen(text) >= cap)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: at most %zu characters",
                             what, cap - 1);
    *set = text != NULL;
    snprintf(field, cap, "%s", text ? text : "");
    return PORTA_OK;
}

porta_status porta_context_set_device_limits(porta_context *ctx, const char *limits)
{
    return ctx ? set_override(ctx, limits, ctx->device_limits, sizeof(ctx->device_limits),
                              &ctx->limits_set, "device limits")
               : PORTA_ERROR_INVALID_ARGUMENT;
}

porta_status porta_context_set_device_preset(porta_context *ctx, const char *preset)
{
    return ctx ? set_override(ctx, preset, ctx->device_preset, sizeof(ctx->device_preset),
                              &ctx->preset_set, "device preset")
               : PORTA_ERROR_INVALID_ARGUMENT;
}

static const char *execution_name(porta_execution e)
{
    switch (e) {
    case PORTA_EXECUTION_WORK_ITEM_LOOP:
        return "work-item-loop";
    case PORTA_EXECUTION_MASKED_LANES:
        return "masked-lanes";
    default:
        return "simt";
    }
}

porta_status porta_device_capabilities_get(porta_context *ctx, porta_device_capabilities *out)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "caps is NULL");
    const porta_device_caps *c = &ctx->backend.caps;
    memset(out, 0, sizeof(*out));
    snprintf(out->preset, sizeof(out->preset), "%s", c->preset);
    out->execution = execution_name(c->execution);
    out->max_alloc_bytes = c->max_alloc_bytes;
    out->max_storage_range = c->max_storage_range;
    out->local_mem_bytes = c->local_mem_bytes;
    out->max_workgroup_size = c->max_workgroup_size;
    out->max_storage_buffers = c->max_storage_buffers;
    out->max_push_bytes = c->max_push_bytes;
    out->loop_limit = c->loop_limit;
    out->fast_fma = c->fast_fma != 0;
    out->group_handover = c->group_handover != 0;
    out->timestamps = c->timestamp_period_ns > 0;
    snprintf(out->limits, sizeof(out->limits), "%s", ctx->limits_applied);
    return PORTA_OK;
}

porta_status porta_device_current(porta_context *ctx, porta_device_info *info)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!info)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "info is NULL");
    porta__device_info_from_caps(&ctx->backend.caps, info);
    return PORTA_OK;
}
