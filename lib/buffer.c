/* buffer.c: device buffers owned by a context. */
#include <stdio.h>
#include <stdlib.h>

#include "internal.h"

porta_status porta_buffer_create(porta_context *ctx, size_t bytes, porta_buffer **out)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!out || bytes == 0)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "porta_buffer_create: %s",
                             out ? "size is 0" : "out is NULL");
    *out = NULL;
    porta_buffer *b = calloc(1, sizeof(*b));
    if (!b)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY,
                             "porta_buffer_create: out of host memory");
    st = ctx->backend.ops->buffer_alloc(&ctx->backend, bytes, &b->impl);
    if (st) {
        free(b);
        return st;
    }
    b->bytes = bytes;
    b->next = ctx->buffers;
    if (ctx->buffers)
        ctx->buffers->prev = b;
    ctx->buffers = b;
    *out = b;
    return PORTA_OK;
}

void porta_buffer_destroy(porta_context *ctx, porta_buffer *b)
{
    /* A buffer exists only on an open device of its context: without one
     * there is nothing to release here (porta_context_destroy frees every
     * buffer still alive). */
    if (!b || !ctx || !ctx->open)
        return;
    if (b == ctx->scratch)
        ctx->scratch = NULL;
    if (b->prev)
        b->prev->next = b->next;
    else
        ctx->buffers = b->next;
    if (b->next)
        b->next->prev = b->prev;
    ctx->backend.ops->buffer_free(&ctx->backend, b->impl);
    free(b);
}

size_t porta_buffer_bytes(const porta_buffer *b)
{
    return b ? b->bytes : 0;
}

static porta_status check_bytes(porta_context *ctx, const porta_buffer *b, size_t offset,
                                size_t bytes, const void *host, const char *what)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!b || (!host && bytes))
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: NULL %s", what,
                             b ? "host pointer" : "buffer");
    if (offset > b->bytes || bytes > b->bytes - offset)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: bytes [%zu, %zu) lie outside the %zu-byte buffer", what, offset,
                             offset + bytes, b->bytes);
    return PORTA_OK;
}

porta_status porta_buffer_write(porta_context *ctx, porta_buffer *b, size_t offset, size_t bytes,
                                const void *src)
{
    porta_status st = check_bytes(ctx, b, offset, bytes, src, "porta_buffer_write");
    if (st || bytes == 0)
        return st;
    return ctx->backend.ops->buffer_write(&ctx->backend, b->impl, offset, bytes, src);
}

porta_status porta_buffer_read(porta_context *ctx, porta_buffer *b, size_t offset, size_t bytes,
                               void *dst)
{
    porta_status st = check_bytes(ctx, b, offset, bytes, dst, "porta_buffer_read");
    if (st || bytes == 0)
        return st;
    return ctx->backend.ops->buffer_read(&ctx->backend, b->impl, offset, bytes, dst);
}

porta_status porta__check_range(porta_context *ctx, const porta_buffer *b, size_t off, size_t n,
                                const char *what)
{
    if (!b)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "%s: buffer is NULL", what);
    size_t elems = b->bytes / sizeof(float);
    if (off > elems || n > elems - off)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: elements [%zu, %zu) lie outside the %zu-element buffer", what,
                             off, off + n, elems);
    if (off + n > 0x7fffffffu)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: element %zu is beyond the 2^31 elements kernels index", what,
                             off + n);
    return PORTA_OK;
}

porta_status porta__check_view(porta_context *ctx, porta_view v, size_t n, const char *what)
{
    if (v.buffer && v.length != 0 && n > v.length)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "%s: %zu elements from element %zu exceed the view's length of %zu",
                             what, n, v.offset, v.length);
    return porta__check_range(ctx, v.buffer, v.offset, n, what);
}

porta_status porta__check_arg(porta_context *ctx, porta_view v, size_t n, const char *call,
                              const char *arg)
{
    char what[128];
    snprintf(what, sizeof(what), "%s %s", call, arg);
    return porta__check_view(ctx, v, n, what);
}
