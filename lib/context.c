/* context.c: creating and destroying contexts, options, counters, sync. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

porta_context_options porta_context_options_default(void)
{
    porta_context_options o;
    memset(&o, 0, sizeof(o));
    return o;
}

static int env_flag(const char *name)
{
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

int porta__setting_on(porta_setting s, const char *env)
{
    return s == PORTA_SETTING_DEFAULT ? env_flag(env) : s == PORTA_SETTING_ON;
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
    /* No context yet to hold a message: the status alone says it. */
    if (!porta__setting_known(o.validate) || !porta__setting_known(o.keep_source))
        return PORTA_ERROR_INVALID_ARGUMENT;
    porta_context *ctx = calloc(1, sizeof(*ctx));
    if (!ctx)
        return PORTA_ERROR_OUT_OF_HOST_MEMORY;
    if (o.cache_dir)
        snprintf(ctx->cache_dir, sizeof(ctx->cache_dir), "%s", o.cache_dir);
    else
        default_cache_dir(ctx->cache_dir, sizeof(ctx->cache_dir));
    ctx->validate = porta__setting_on(o.validate, "PORTA_VALIDATE");
    ctx->keep_source = porta__setting_on(o.keep_source, "PORTA_KEEP_SOURCE");
    ctx->check_mode = porta__setting_on(PORTA_SETTING_DEFAULT, "PORTA_CHECK");
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

porta_status porta_context_set_message(porta_context *ctx, porta_status status, const char *fmt,
                                       ...)
{
    if (!ctx || !fmt)
        return status;
    va_list ap;
    va_start(ap, fmt);
    porta_msg_vset(&ctx->msg, status, fmt, ap);
    va_end(ap);
    return status;
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
