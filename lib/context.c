/* context.c: creating and destroying contexts, options, counters, sync. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

porta_context_options porta_context_options_default(void)
{
    porta_context_options o = {.cache_dir = NULL, .validate = -1, .keep_source = -1};
    return o;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

static void default_cache_dir(char *out, size_t cap)
{
    const char *dir = getenv("PORTA_CACHE_DIR");
    if (dir) {
        snprintf(out, cap, "%s", dir);
        return;
    }
    const char *xdg = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(out, cap, "%s/porta", xdg);
    else if (home && *home)
        snprintf(out, cap, "%s/.cache/porta", home);
    else
        out[0] = '\0';
}

porta_status porta_context_create(const porta_context_options *options, porta_context **out)
{
    if (!out)
        return PORTA_ERROR_INVALID_ARGUMENT;
    *out = NULL;
    porta_context_options o = options ? *options : porta_context_options_default();
    porta_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (o.cache_dir)
        snprintf(ctx->cache_dir, sizeof(ctx->cache_dir), "%s", o.cache_dir);
    else
        default_cache_dir(ctx->cache_dir, sizeof(ctx->cache_dir));
    ctx->validate = o.validate >= 0 ? o.validate : env_flag("PORTA_VALIDATE");
    ctx->keep_source = o.keep_source >= 0 ? o.keep_source : env_flag("PORTA_KEEP_SOURCE");
    *out = ctx;
    return PORTA_OK;
}

void porta_context_destroy(porta_context *ctx)
{
    if (!ctx)
        return;
    if (ctx->open) {
        while (ctx->buffers)
            porta_buffer_destroy(ctx, ctx->buffers);
        ctx->backend.ops->destroy(&ctx->backend);
    }
    free(ctx->devices);
    free(ctx);
}

const char *porta_context_message(const porta_context *ctx)
{
    return ctx ? ctx->msg.text : "no context";
}

porta_status porta__require_device(porta_context *ctx)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!ctx->open)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_NO_DEVICE_OPEN,
                             "no device is open: call porta_device_open() first");
    return PORTA_OK;
}

porta_status porta_submit(porta_context *ctx)
{
    porta_status st = porta__require_device(ctx);
    return st ? st : ctx->backend.ops->submit(&ctx->backend);
}

porta_status porta_finish(porta_context *ctx)
{
    porta_status st = porta__require_device(ctx);
    return st ? st : ctx->backend.ops->wait(&ctx->backend);
}

porta_status porta_counters_get(porta_context *ctx, porta_counters *out)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "counters: out is NULL");
    const porta_backend_counters *c = &ctx->backend.counters;
    out->host_waits = c->host_waits;
    out->device_reads = c->device_reads;
    out->dispatches = c->dispatches;
    out->submits = c->submits;
    out->validation_messages = c->validation_messages;
    out->queue_full_waits = c->queue_full_waits;
    return PORTA_OK;
}
