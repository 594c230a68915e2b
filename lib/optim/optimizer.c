/* optimizer.c: creating an optimizer, registering tensors, placing them in
 * the arenas, and releasing it all. */
#include <stdlib.h>
#include <string.h>

#include "optim/optimizer_internal.h"

porta_status porta_optimizer_create(porta_context *ctx, const porta_optimizer_config *config,
                                    const porta_scheduler_config *scheduler, porta_optimizer **out)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!config || !scheduler || !out)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_create: NULL argument");
    *out = NULL;
    porta_optimizer *opt = calloc(1, sizeof(*opt));
    if (!opt)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "optimizer: no memory");
    opt->config = *config;
    opt->scheduler = *scheduler;
    st = porta__optimizer_configure(ctx, opt);
    /* The strings are parsed; do not keep the caller's pointers. */
    opt->scheduler.mode = NULL;
    opt->scheduler.threshold_mode = NULL;
    if (!st)
        st = porta__optimizer_read_overrides(ctx, opt);
    if (st) {
        free(opt);
        return st;
    }
    *out = opt;
    return PORTA_OK;
}

porta_status porta_optimizer_add_tensor(porta_context *ctx, porta_optimizer *opt, size_t n,
                                        unsigned group, size_t *index)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!opt || n == 0 || group >= opt->config.n_groups || opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_add_tensor: %s",
                             !opt                            ? "optimizer is NULL"
                             : n == 0                        ? "a tensor needs at least 1 element"
                             : group >= opt->config.n_groups ? "no such parameter group"
                                                             : "the optimizer is finalized");
    if (opt->n_tensors == opt->cap_tensors) {
        size_t cap = opt->cap_tensors ? 2 * opt->cap_tensors : 16;
        porta_opt_tensor *t = realloc(opt->tensors, cap * sizeof(*t));
        if (!t)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_OUT_OF_HOST_MEMORY, "tensors: no memory");
        opt->tensors = t;
        opt->cap_tensors = cap;
    }
    opt->tensors[opt->n_tensors] = (porta_opt_tensor){.n = n, .group = group, .offset = 0};
    if (index)
        *index = opt->n_tensors;
    opt->n_tensors++;
    return PORTA_OK;
}

static size_t align_up(size_t x, size_t a)
{
    return (x + a - 1) / a * a;
}

/* Elements one chunk may hold: the device's largest buffer, in whole
 * PORTA_GROUP_ALIGN blocks (0 when it holds not even one). Where the
 * moments share one buffer (small_step, finalize) that buffer is the
 * largest: both moments for AdamW, one and a 4-byte stand-in otherwise. */
static size_t chunk_capacity(const porta_context *ctx, const porta_optimizer *opt)
{
    uint64_t bytes = ctx->backend.caps.max_alloc_bytes;
    if (opt->small_step)
        bytes = opt->config.kind == PORTA_OPTIMIZER_ADAMW ? bytes / 2 : (bytes > 4 ? bytes - 4 : 0);
    const uint64_t floats = bytes / sizeof(float);
    return (size_t)(floats / PORTA_GROUP_ALIGN * PORTA_GROUP_ALIGN);
}

/* Group by group, in registration order within a group, each tensor on a
 * multiple of PORTA_TENSOR_ALIGN elements, each group's end rounded up to
 * a multiple of PORTA_GROUP_ALIGN (the padding holds zeros: parameters
 * with zero gradients, which every optimizer leaves at zero). A tensor
 * that would take its chunk past the device's largest buffer starts a new
 * chunk, at the next PORTA_GROUP_ALIGN boundary, so the model is bounded
 * by the device's memory, not by one buffer. */
static porta_status place_tensors(porta_context *ctx, porta_optimizer *opt)
{
    const size_t cap = chunk_capacity(ctx, opt);
    size_t at = 0, chunk_start = 0, k = 0;
    for (unsigned g = 0; g < opt->config.n_groups; g++) {
        for (size_t i = 0; i < opt->n_tensors; i++) {
            porta_opt_tensor *t = &opt->tensors[i];
            if (t->group != g)
                continue;
            const size_t size = align_up(t->n, PORTA_TENSOR_ALIGN);
            if (size > cap)
                return porta_msg_set(&ctx->msg, PORTA_ERROR_ALLOCATION_TOO_LARGE,
                                     "optimizer: tensor %zu has %zu parameters (%zu bytes); %s "
                                     "allows at most %llu bytes per buffer, and a tensor lives "
                                     "in one",
                                     i, t->n, t->n * sizeof(float), ctx->backend.caps.name,
                                     (unsigned long long)ctx->backend.caps.max_alloc_bytes);
            if (at + size - chunk_start > cap) {
                const size_t next = align_up(at, PORTA_GROUP_ALIGN);
                if (k + 1 == PORTA_OPT_MAX_CHUNKS)
                    return porta_msg_set(&ctx->msg, PORTA_ERROR_ALLOCATION_TOO_LARGE,
                                         "optimizer: the parameters need more than %u buffers of "
                                         "at most %llu bytes (%s)",
                                         PORTA_OPT_MAX_CHUNKS,
                                         (unsigned long long)ctx->backend.caps.max_alloc_bytes,
                                         ctx->backend.caps.name);
                opt->chunks[k] = (porta_opt_chunk){.start = chunk_start, .n = next - chunk_start};
                chunk_start = at = next;
                k++;
            }
            t->offset = at;
            t->chunk = k;
            at += size;
        }
        at = align_up(at, PORTA_GROUP_ALIGN);
        if (at > 0x7fffffffu)
            return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                                 "optimizer: %zu parameters exceed the 2^31 kernels index", at);
        opt->dev.group_end[g] = (uint32_t)at;
    }
    opt->chunks[k] = (porta_opt_chunk){.start = chunk_start, .n = at - chunk_start};
    opt->n_chunks = k + 1;
    opt->elements = at;
    return PORTA_OK;
}

static porta_status alloc_zeroed(porta_context *ctx, size_t bytes, porta_buffer **out)
{
    porta_status st = porta_buffer_create(ctx, bytes < 4 ? 4 : bytes, out);
    if (!st)
        st = ctx->backend.ops->buffer_fill(&ctx->backend, (*out)->impl, 0, (*out)->bytes, 0u);
    return st;
}

/* Upload the configuration blocks and the initial state halves into the
 * block (the rest of it starts zero: scalars, partials, ticket, ring). */
static porta_status upload_state(porta_context *ctx, porta_optimizer *opt)
{
    /* Half 0 is current first; half 1 is overwritten by the first step. */
    porta_optim_state_dev ost[2] = {{0, 0, 0.0f, 0.0f}, {0, 0, 0.0f, 0.0f}};
    porta_sched_device_state sst[2];
    sst[0] = opt->sched_init;
    sst[1] = opt->sched_init;
    porta_status st =
        porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(ocfg), sizeof(opt->dev), &opt->dev);
    if (!st)
        st = porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(scfg), sizeof(opt->sched_dev),
                                &opt->sched_dev);
    if (!st)
        st = porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(ost), sizeof(ost), ost);
    if (!st)
        st = porta_buffer_write(ctx, opt->block, PORTA_BLOCK_AT(sst), sizeof(sst), sst);
    return st;
}

porta_status porta_optimizer_finalize(porta_context *ctx, porta_optimizer *opt)
{
    porta_status st = porta__require_device(ctx);
    if (st)
        return st;
    if (!opt || opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_finalize: %s",
                             opt ? "already finalized" : "optimizer is NULL");
    /* On a device that binds fewer storage buffers than optim_step, the
     * update is optim_step_small, whose two moments share one buffer. */
    opt->small_step = ctx->backend.caps.max_storage_buffers <
                      porta_kernel_table[PORTA_KERNEL_optim_step]->n_buffers;
    if ((st = place_tensors(ctx, opt)) != PORTA_OK)
        return st;
    const int adamw = opt->config.kind == PORTA_OPTIMIZER_ADAMW;
    const int momentum = adamw || opt->config.momentum != 0.0f;
    for (size_t c = 0; c < opt->n_chunks && !st; c++) {
        porta_opt_chunk *k = &opt->chunks[c];
        const size_t bytes = k->n * sizeof(float);
        st = alloc_zeroed(ctx, bytes, &k->params);
        if (!st)
            st = alloc_zeroed(ctx, bytes, &k->grads);
        /* Moments only where the optimizer has them (unused bindings get a
         * 4-byte stand-in). */
        const size_t m1_bytes = momentum ? bytes : 4, m2_bytes = adamw ? bytes : 4;
        if (opt->small_step) {
            k->m2_at = m1_bytes;
            if (!st)
                st = alloc_zeroed(ctx, m1_bytes + m2_bytes, &k->m1);
        } else {
            if (!st)
                st = alloc_zeroed(ctx, m1_bytes, &k->m1);
            if (!st)
                st = alloc_zeroed(ctx, m2_bytes, &k->m2);
        }
    }
    opt->params = opt->chunks[0].params;
    opt->grads = opt->chunks[0].grads;
    if (!st)
        st = alloc_zeroed(ctx, sizeof(porta_optim_block), &opt->block);
    if (!st)
        st = alloc_zeroed(ctx, sizeof(float), &opt->metric);
    if (!st)
        st = upload_state(ctx, opt);
    if (st)
        return st; /* buffers made so far are released by porta_optimizer_destroy */
    opt->finalized = 1;
    return porta__optimizer_prepare(ctx, opt);
}

porta_status porta_optimizer_tensor_offset(porta_context *ctx, porta_optimizer *opt, size_t index,
                                           size_t *offset)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!opt || !offset || !opt->finalized || index >= opt->n_tensors)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_tensor_offset: %s",
                             !opt || !offset   ? "NULL argument"
                             : !opt->finalized ? "call porta_optimizer_finalize() first"
                                               : "no such tensor");
    *offset = opt->tensors[index].offset;
    return PORTA_OK;
}

porta_status porta_optimizer_tensor_views(porta_context *ctx, porta_optimizer *opt, size_t index,
                                          porta_view *params, porta_view *grads)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!opt || !opt->finalized || index >= opt->n_tensors)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT,
                             "porta_optimizer_tensor_views: %s",
                             !opt              ? "optimizer is NULL"
                             : !opt->finalized ? "call porta_optimizer_finalize() first"
                                               : "no such tensor");
    const porta_opt_tensor *t = &opt->tensors[index];
    const porta_opt_chunk *k = &opt->chunks[t->chunk];
    if (params)
        *params = porta_view_range(k->params, t->offset - k->start, t->n);
    if (grads)
        *grads = porta_view_range(k->grads, t->offset - k->start, t->n);
    return PORTA_OK;
}

porta_status porta_optimizer_arenas(porta_context *ctx, porta_optimizer *opt, porta_buffer **params,
                                    porta_buffer **grads, size_t *elements)
{
    if (!ctx)
        return PORTA_ERROR_INVALID_ARGUMENT;
    if (!opt || !opt->finalized)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_INVALID_ARGUMENT, "porta_optimizer_arenas: %s",
                             opt ? "call porta_optimizer_finalize() first" : "optimizer is NULL");
    if (opt->n_chunks > 1)
        return porta_msg_set(&ctx->msg, PORTA_ERROR_UNSUPPORTED,
                             "porta_optimizer_arenas: the parameters are split over %zu buffers "
                             "(the device's largest is %llu bytes); reach each tensor with "
                             "porta_optimizer_tensor_views()",
                             opt->n_chunks, (unsigned long long)ctx->backend.caps.max_alloc_bytes);
    if (params)
        *params = opt->params;
    if (grads)
        *grads = opt->grads;
    if (elements)
        *elements = opt->elements;
    return PORTA_OK;
}

void porta_optimizer_destroy(porta_context *ctx, porta_optimizer *opt)
{
    if (!opt)
        return;
    /* porta_buffer_destroy leaves the arenas alone without an open device
     * (the context frees them); the host side goes in any case. */
    for (size_t c = 0; c < opt->n_chunks; c++) {
        porta_opt_chunk *k = &opt->chunks[c];
        porta_buffer *arenas[] = {k->params, k->grads, k->m1, k->m2};
        for (size_t i = 0; i < sizeof(arenas) / sizeof(arenas[0]); i++)
            porta_buffer_destroy(ctx, arenas[i]);
    }
    porta_buffer_destroy(ctx, opt->block);
    porta_buffer_destroy(ctx, opt->metric);
    free(opt->tensors);
    free(opt);
}
